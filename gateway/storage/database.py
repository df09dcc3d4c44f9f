"""The database connection: one engine, short transactions, and the same write semantics on both backends.

SQLite (the zero-set-up default) runs in WAL mode and opens every write transaction with ``BEGIN
IMMEDIATE``: writers queue on the database lock instead of failing with "database is locked" when a
read transaction later wants to write, which is what serialises ledger appends. Within one process
the writers queue on a Python lock first, so they wake as soon as the previous commit ends instead of
polling in SQLite's busy handler (which sleeps up to 100 ms a try), and then on an advisory file lock
beside the database, so that the worker processes of ``ccgate serve --workers N`` queue the same way;
``read()`` transactions take no write lock at all (WAL readers see the last commit and never block
writers).
PostgreSQL (several replicas) keeps READ COMMITTED; the few places that need serialisation lock
rows explicitly (``SELECT … FOR UPDATE`` on the ledger state row and the current KEK).
"""

import contextlib
import fcntl
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from gateway.errors import StorageUnavailableError

SQLITE_BUSY_TIMEOUT_SECONDS = 30

log = logging.getLogger("ccgate.storage")


def make_engine(url: str) -> Engine:
    """An engine for ``url`` with the gateway's connection settings.

    Statement parameters are hidden from SQLAlchemy's error messages: they carry token hashes, sealed
    keys and ledger documents, and an error message ends up in a log line.
    """
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            hide_parameters=True,
        )
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10, hide_parameters=True)


def _sqlite_connect(dbapi_connection: Any, _record: object) -> None:
    # Take transaction control away from the sqlite3 module so that "begin" below decides.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
    cursor.close()


READ_ONLY = "ccgate_read_only"


def _sqlite_begin(connection: Any) -> None:
    read_only = connection.get_execution_options().get(READ_ONLY, False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


class _ProcessWriteLock:
    """An exclusive ``flock`` on a file beside a SQLite database, held around each write transaction.

    The threads of one process already queue on a ``threading.Lock``; this orders the processes.
    ``flock`` is released by the kernel when a process dies, so a killed worker never wedges the others.
    """

    def __init__(self, database: str) -> None:
        self._path = f"{database}.write-lock"
        self._fd: int | None = None

    def __enter__(self) -> None:
        if self._fd is None:
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *_exc: object) -> None:
        assert self._fd is not None
        fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        """Close the lock file (the lock is not held between transactions)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _process_lock(engine: Engine) -> _ProcessWriteLock | None:
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    return _ProcessWriteLock(database)


@contextmanager
def _storage_failures() -> Iterator[None]:
    """Turn a database failure the services did not handle into the gateway's own stable error.

    Services catch the failures that mean something to them (a unique name taken) inside the block;
    whatever else the database raises — in the block or at commit — is an outage to the caller, never
    an internal error with a driver's message in the response.
    """
    try:
        yield
    except SQLAlchemyError as exc:
        log.error("database failure: %s", type(exc).__name__, exc_info=exc)
        raise StorageUnavailableError("the database failed this request; nothing was changed") from exc


class Database:
    """The engine and a session factory; ``transaction()`` is the unit of work every service uses."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._read_only = engine.execution_options(**{READ_ONLY: True})
        self._readers = sessionmaker(self._read_only, expire_on_commit=False)
        self._sqlite = engine.dialect.name == "sqlite"
        self._write_lock = threading.Lock()
        self._process_lock = _process_lock(engine)

    @property
    def is_postgresql(self) -> bool:
        """Whether the backend is PostgreSQL (row locks are real there)."""
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session inside one transaction: committed when the block ends, rolled back if it raises.

        Raises:
            StorageUnavailableError: the database failed the transaction (it rolled back).
        """
        with _storage_failures():
            if not self._sqlite:
                with self._sessions.begin() as session:
                    yield session
                return
            with (
                self._write_lock,
                self._process_lock or contextlib.nullcontext(),
                self._sessions.begin() as session,
            ):
                yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction: a consistent snapshot, no write lock (it must not write).

        Raises:
            StorageUnavailableError: the database failed the read.
        """
        with _storage_failures(), self._readers.begin() as session:
            yield session

    @contextmanager
    def read_connection(self) -> Iterator[Connection]:
        """``read()`` on a bare Core connection, for a hot read that needs no ORM session (a token).

        Raises:
            StorageUnavailableError: the database failed the read.
        """
        with _storage_failures(), self._read_only.begin() as connection:
            yield connection

    def ping(self) -> None:
        """Run a trivial query.

        Raises:
            sqlalchemy.exc.SQLAlchemyError: the database is unreachable.
        """
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        """Close every pooled connection (and the write-lock file)."""
        self.engine.dispose()
        if self._process_lock is not None:
            self._process_lock.close()
