"""Identity and access: API tokens (JWTs), callers, and the one permission table."""
