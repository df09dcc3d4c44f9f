"""Alembic migrations of the gateway's schema, shipped inside the package and applied on start."""
