"""The Verifier (IETF RATS): Evidence + Endorsements + ``now`` → Attestation Result.

Pure: no I/O, no clock, no environment.
"""
