"""Alembic environment: always run on a connection the gateway hands over (never from alembic.ini)."""

from alembic import context
from sqlalchemy import Connection

from gateway.storage.schema import Base

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations through gateway.storage.migrate (it passes the connection)")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
