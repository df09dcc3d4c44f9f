"""Release policies: typed, fail-closed evaluation of an Attestation Result and its context to a Decision."""
