"""Persistence: the schema, the database connection, repositories per resource and the blob store."""
