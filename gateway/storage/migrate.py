"""Apply the Alembic migrations shipped in ``gateway/migrations`` (on start and by ``ccgate db upgrade``)."""

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

# Any constant works; it only has to be the same for every replica racing to migrate one database.
_PG_MIGRATION_LOCK = 0x63636761


def alembic_config() -> Config:
    """An Alembic configuration pointing at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", "gateway:migrations")
    return config


def upgrade(engine: Engine) -> str | None:
    """Bring the database to the newest schema; return the revision it is at.

    Two replicas starting together on PostgreSQL take turns through an advisory lock.

    Raises:
        sqlalchemy.exc.SQLAlchemyError: the database is unreachable or a migration fails.
    """
    config = alembic_config()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """The newest revision shipped with this code."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
