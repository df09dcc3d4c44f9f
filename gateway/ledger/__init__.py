"""The ledger (DESIGN §6.5): an append-only Merkle log with RFC 6962 hashing and signed tree heads."""
