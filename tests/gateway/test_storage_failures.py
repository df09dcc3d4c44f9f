"""A database failure the services do not handle is ``storage.unavailable``: nothing changed, no driver
message (nor a statement parameter) reaches the client or a log line, and no release happens without
its ledger entries."""

import logging
from pathlib import Path

import pytest
from sqlalchemy import text

from gateway.errors import StorageUnavailableError
from gateway.storage.database import Database, make_engine

SECRET = "sealed-key-bytes-that-must-not-be-logged"


@pytest.fixture
def database(tmp_path: Path) -> Database:
    database = Database(make_engine(f"sqlite:///{tmp_path / 'ccgate.db'}"))
    with database.transaction() as session:
        session.execute(text("CREATE TABLE marks (who TEXT NOT NULL UNIQUE)"))
    return database


def test_a_failed_write_is_storage_unavailable_rolls_back_and_hides_its_parameters(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(StorageUnavailableError) as raised, database.transaction() as session:  # noqa: PT012
        session.execute(text("INSERT INTO marks (who) VALUES ('kept only if the transaction commits')"))
        session.execute(text("INSERT INTO missing_table (value) VALUES (:value)"), {"value": SECRET})
    assert raised.value.code == "storage.unavailable"
    assert SECRET not in str(raised.value)
    assert SECRET not in str(raised.value.__cause__)
    assert all(
        SECRET not in record.getMessage() and SECRET not in (record.exc_text or "")
        for record in caplog.records
    )
    with database.read() as session:
        assert session.execute(text("SELECT count(*) FROM marks")).scalar_one() == 0


def test_an_unexpected_constraint_violation_is_storage_unavailable_logged_once(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    with database.transaction() as session:
        session.execute(text("INSERT INTO marks (who) VALUES ('first')"))
    with (
        caplog.at_level(logging.ERROR, "ccgate.storage"),
        pytest.raises(StorageUnavailableError),
        database.transaction() as session,
    ):
        session.execute(text("INSERT INTO marks (who) VALUES (:who)"), {"who": "first"})
    assert [(record.name, record.levelname) for record in caplog.records] == [("ccgate.storage", "ERROR")]


def test_a_failed_read_is_storage_unavailable(database: Database) -> None:
    with pytest.raises(StorageUnavailableError), database.read() as session:
        session.execute(text("SELECT value FROM missing_table WHERE value = :value"), {"value": SECRET})


def test_a_failed_read_on_a_bare_connection_is_storage_unavailable(database: Database) -> None:
    with pytest.raises(StorageUnavailableError) as raised, database.read_connection() as connection:
        connection.execute(text("SELECT value FROM missing_table WHERE value = :value"), {"value": SECRET})
    assert SECRET not in str(raised.value)


def test_a_failure_the_service_handles_is_left_to_it(database: Database) -> None:
    # A service that catches the driver's error inside the block (a unique name taken) keeps it.
    with database.transaction() as session:
        session.execute(text("INSERT INTO marks (who) VALUES ('taken')"))
    with pytest.raises(KeyError), database.transaction() as session:  # noqa: PT012
        try:
            session.execute(text("INSERT INTO marks (who) VALUES ('taken')"))
        except Exception as exc:  # The test stands in for a service's own handling.
            raise KeyError("taken") from exc
