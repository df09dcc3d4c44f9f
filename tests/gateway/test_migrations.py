"""The Alembic migrations produce exactly the schema the code declares, on both backends."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from gateway.storage import migrate
from gateway.storage.database import make_engine
from gateway.storage.schema import Base


def test_migrations_match_the_declared_schema(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        assert migrate.upgrade(engine) == migrate.head_revision()
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert differences == []
        # Upgrading again is a no-op (every start runs it).
        assert migrate.upgrade(engine) == migrate.head_revision()
    finally:
        engine.dispose()
