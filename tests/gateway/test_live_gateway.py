"""A real gateway process: SIGKILL in the middle of a 200 MiB upload; two processes on one database."""

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from gateway.ledger.audit import audit_export
from tests.gateway.cli.cli_runner import ccgate
from tests.gateway.live import LiveGateway

MIB = 1 << 20


def _owner(gateway: LiveGateway, admin: str) -> str:
    def run(*args: str) -> dict[str, object]:
        done = ccgate(*args, "--json", env=gateway.env(admin))
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)  # type: ignore[no-any-return]  # the API's JSON; the test reads the fields it checks

    tenant = run("admin", "tenant", "create", "acme")["id"]
    made = run("admin", "principal", "create", str(tenant), "alice", "--role", "owner")
    token = made["token"]
    assert isinstance(token, dict)
    return str(token["token"])


@pytest.mark.slow
def test_sigkill_mid_upload_leaves_no_content_no_blob_and_a_ledger_that_verifies(
    live_gateway: LiveGateway, tmp_path: Path
) -> None:
    gateway = live_gateway
    admin = gateway.bootstrap()
    gateway.start()
    owner = {"Authorization": f"Bearer {_owner(gateway, admin)}"}
    artefact = httpx.post(
        f"{gateway.url}/v1/artefacts", json={"kind": "dataset", "name": "big"}, headers=owner
    ).json()
    incoming = gateway.data_dir / "blobs" / "incoming"
    halfway, released = threading.Event(), threading.Event()
    size = 200 * MIB

    def body() -> Iterator[bytes]:
        chunk = os.urandom(MIB)
        for sent in range(size // MIB):
            if sent == 100:
                halfway.set()
                released.wait(30)  # Hold the connection open while the test kills the server.
            yield chunk

    def upload() -> None:
        headers = {**owner, "Content-Length": str(size), "Content-Type": "application/octet-stream"}
        # The server dies under the request: that is the point.
        with contextlib.suppress(httpx.HTTPError):
            httpx.put(
                f"{gateway.url}/v1/artefacts/{artefact['id']}/versions/1/content",
                content=body(),
                headers=headers,
                timeout=30,
            )

    worker = threading.Thread(target=upload)
    worker.start()
    assert halfway.wait(30)
    deadline = time.monotonic() + 10
    while not any(incoming.glob("*.partial")) and time.monotonic() < deadline:
        time.sleep(0.05)
    partial = list(incoming.glob("*.partial"))
    assert partial, "the upload never reached the server's incoming directory"
    assert partial[0].stat().st_size >= 50 * MIB
    gateway.kill()
    released.set()
    worker.join(30)

    gateway.start()  # The restart removes what the killed upload left.
    shown = httpx.get(f"{gateway.url}/v1/artefacts/{artefact['id']}", headers=owner).json()
    assert shown["versions"][0]["state"] == "awaiting-content"
    assert shown["current_version"] is None
    download = httpx.get(f"{gateway.url}/v1/artefacts/{artefact['id']}/content", headers=owner)
    assert download.status_code == 404
    leftovers = [p for p in (gateway.data_dir / "blobs").rglob("*") if p.is_file()]
    assert leftovers == []
    export = httpx.get(f"{gateway.url}/v1/ledger/export", headers={"Authorization": f"Bearer {admin}"}).json()
    assert audit_export(export).ok
    assert not any(row["entry"]["kind"] == "artefact.uploaded" for row in export["entries"])


@pytest.mark.slow
def test_two_gateway_processes_on_one_database_write_one_consistent_ledger(
    live_gateway: LiveGateway, tmp_path: Path
) -> None:
    first = live_gateway
    admin = first.bootstrap()
    first.start()
    second = LiveGateway(first.data_dir, first.database_url)  # Same keys and blobs, another process and port.
    second.start()
    try:
        headers = {"Authorization": f"Bearer {admin}"}
        before = httpx.get(f"{first.url}/v1/ledger/tree-head", headers=headers).json()["size"]

        def create(n: int) -> int:
            url = (first if n % 2 else second).url
            response = httpx.post(
                f"{url}/v1/tenants", json={"name": f"tenant-{n}"}, headers=headers, timeout=60
            )
            return response.status_code

        with ThreadPoolExecutor(max_workers=16) as pool:
            statuses = list(pool.map(create, range(60)))
        assert statuses == [201] * 60
        export = httpx.get(f"{second.url}/v1/ledger/export", headers=headers, timeout=60).json()
        assert len(export["entries"]) == before + 60
        assert audit_export(export).ok
        assert [row["entry"]["index"] for row in export["entries"]] == list(range(before + 60))
    finally:
        second.stop()
