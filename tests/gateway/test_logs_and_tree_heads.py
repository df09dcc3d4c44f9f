"""JSON log lines carry the request id; the periodic task signs and keeps tree heads when the ledger grows."""

import json
import logging
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import func, select

from gateway.api.middleware import RequestIdFilter
from gateway.app import create_app
from gateway.logs import JsonFormatter
from gateway.services import identity
from gateway.settings import Settings
from gateway.storage.schema import LedgerTreeHead


def test_a_log_record_made_during_a_request_carries_its_id(tmp_path: Path, database_url: str) -> None:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    handler.addFilter(RequestIdFilter())
    access = logging.getLogger("ccgate.access")
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    try:
        settings = Settings(data_dir=tmp_path / "data", database_url=SecretStr(database_url))
        with TestClient(create_app(settings)) as client:
            client.get("/healthz", headers={"X-Request-ID": "trace-42"})
    finally:
        access.removeHandler(handler)
    line = json.loads(JsonFormatter().format(records[-1]))
    assert line["request_id"] == "trace-42"
    assert line["status"] == 200
    assert line["message"] == "GET /healthz 200"


@pytest.mark.slow
def test_tree_heads_are_signed_periodically_while_the_ledger_grows(tmp_path: Path, database_url: str) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=SecretStr(database_url),
        tree_head_interval_seconds=1,
    )
    app = create_app(settings)
    with TestClient(app):
        services = app.state.services
        identity.bootstrap(services, "platform", "root")
        deadline = time.monotonic() + 10
        kept = 0
        while time.monotonic() < deadline and kept == 0:
            time.sleep(0.2)
            with services.db.transaction() as session:
                kept = session.scalar(select(func.count()).select_from(LedgerTreeHead)) or 0
        assert kept >= 1
        time.sleep(2.5)  # Nothing new was appended: no new tree head is kept.
        with services.db.transaction() as session:
            assert session.scalar(select(func.count()).select_from(LedgerTreeHead)) == kept
