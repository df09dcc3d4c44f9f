"""SQLite write transactions queue across processes (``ccgate serve --workers N``), not only threads."""

import multiprocessing
import threading
from multiprocessing.connection import Connection
from pathlib import Path

from sqlalchemy import text

from gateway.storage.database import Database, make_engine


def _hold_the_write_lock(url: str, pipe: Connection) -> None:
    database = Database(make_engine(url))
    try:
        with database.transaction() as session:
            # No statement yet, so SQLite itself holds no lock: only the gateway's file lock is held.
            pipe.send("holding")
            pipe.recv()  # Write and commit only when the parent says so.
            session.execute(text("INSERT INTO marks (who) VALUES ('other process')"))
    finally:
        database.dispose()


def test_a_write_transaction_waits_for_another_process_holding_the_write_lock(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ccgate.db'}"
    database = Database(make_engine(url))
    with database.transaction() as session:
        session.execute(text("CREATE TABLE marks (who TEXT)"))
    parent, child = multiprocessing.get_context("spawn").Pipe()
    other = multiprocessing.get_context("spawn").Process(target=_hold_the_write_lock, args=(url, child))
    other.start()
    try:
        assert parent.poll(60), "the other process never took the lock"
        assert parent.recv() == "holding"
        finished = threading.Event()

        def write() -> None:
            with database.transaction() as session:
                session.execute(text("INSERT INTO marks (who) VALUES ('this process')"))
            finished.set()

        writer = threading.Thread(target=write)
        writer.start()
        assert not finished.wait(0.5), "a write transaction ran while another process held the lock"
        parent.send("release")
        assert finished.wait(30)
        writer.join()
        with database.read() as session:
            order = [row[0] for row in session.execute(text("SELECT who FROM marks ORDER BY rowid"))]
        assert order == ["other process", "this process"]
    finally:
        other.join(30)
        if other.is_alive():
            other.kill()
            other.join()
        database.dispose()
    assert (tmp_path / "ccgate.db.write-lock").exists()
