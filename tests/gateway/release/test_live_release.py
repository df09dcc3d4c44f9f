"""The release protocol against real gateway processes: exactly-once under concurrency on PostgreSQL,
and a crash between the ledger commit and the answer."""

import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, select

from enclave_runner.protocol.messages import Challenge
from gateway.ledger.audit import audit_export
from gateway.storage.schema import Artefact, LedgerEntry, ReleaseCount
from tests.gateway.live import LiveGateway
from tests.gateway.release.live_release import (
    attestation_body,
    claim_and_challenge,
    make_site,
    node_client,
    populate,
    submit,
)

ATTEMPTS = 200


@pytest.mark.slow
@pytest.mark.postgres
def test_two_gateway_processes_release_a_once_only_key_exactly_once(
    tmp_path: Path, database_url: str
) -> None:
    # On PostgreSQL, two gateways (replicas) share the database; on SQLite, the two worker processes
    # of one `ccgate serve --workers 2` share the database file.
    site, node, identity = make_site(tmp_path / "site")
    extra = {"CCGATE_SIMULATED_SITE": str(site)}
    replicas = database_url.startswith("postgresql")
    first = LiveGateway(tmp_path / "data", database_url, extra_env=extra, workers=1 if replicas else 2)
    admin = first.bootstrap()
    first.start()
    second = LiveGateway(first.data_dir, database_url, extra_env=extra) if replicas else first
    if replicas:
        second.start()
    try:
        run = populate(first.url, admin, tmp_path, node, identity, max_releases=1)
        jobs = [submit(run) for _ in range(ATTEMPTS)]
        with node_client(run) as client:
            bodies = [attestation_body(run, claim_and_challenge(client, job))[0] for job in jobs]

        def attest(n: int) -> tuple[int, str]:
            url = (first if n % 2 else second).url
            response = httpx.post(
                f"{url}/v1/jobs/{jobs[n]}/attestation",
                content=bodies[n],
                headers={
                    "Authorization": f"Bearer {run.scenario.node_token}",
                    "Content-Type": "application/json",
                },
                timeout=120,
            )
            return response.status_code, response.json().get("code", "released")

        with ThreadPoolExecutor(max_workers=32) as pool:
            outcomes = list(pool.map(attest, range(ATTEMPTS)))
        assert Counter(outcomes) == {(200, "released"): 1, (403, "release.limit_reached"): ATTEMPTS - 1}
        headers = {"Authorization": f"Bearer {admin}"}
        export = httpx.get(f"{second.url}/v1/ledger/export", headers=headers, timeout=120).json()
        assert audit_export(export).ok
        released = [row for row in export["entries"] if row["entry"]["kind"] == "key.released"]
        assert {row["entry"]["data"]["artefact"] for row in released} == {run.dataset, run.model}
        assert sum(1 for row in released if row["entry"]["data"]["artefact"] == run.dataset) == 1
    finally:
        second.stop()
        first.stop()


@pytest.mark.slow
def test_a_crash_between_the_ledger_and_the_answer_counts_nothing_twice(
    tmp_path: Path, database_url: str
) -> None:
    site, node, identity = make_site(tmp_path / "site")
    extra = {"CCGATE_SIMULATED_SITE": str(site), "CCGATE_CRASH_TEST_PAUSE_AFTER_RELEASE_SECONDS": "30"}
    gateway = LiveGateway(tmp_path / "data", database_url, extra_env=extra)
    admin = gateway.bootstrap()
    gateway.start()
    engine = create_engine(database_url)
    try:
        run = populate(gateway.url, admin, tmp_path, node, identity, max_releases=1)
        job = submit(run)
        client = node_client(run)
        body, _ = attestation_body(run, claim_and_challenge(client, job))
        answered: list[int] = []

        def attest() -> None:
            try:
                answered.append(client.post(f"/v1/jobs/{job}/attestation", content=body).status_code)
            except httpx.TransportError:
                answered.append(-1)

        caller = threading.Thread(target=attest)
        caller.start()
        # Wait until the release is committed in the ledger, then kill the gateway before it answers.
        for _ in range(300):
            # A fresh connection per look: a long-lived one would keep reading its first snapshot.
            with engine.connect() as connection:
                count = connection.execute(
                    select(func.count()).select_from(LedgerEntry).where(LedgerEntry.kind == "key.released")
                ).scalar_one()
            if count or answered:
                break
            threading.Event().wait(0.1)
        assert count, f"the release never reached the ledger (answer: {answered})"
        gateway.kill()
        caller.join(timeout=30)
        assert answered == [-1], "the runner must not have received an answer"
        client.close()
        with engine.connect() as connection:
            counted = connection.execute(
                select(Artefact.release_count).where(Artefact.id == run.dataset)
            ).scalar_one()
            rows = connection.execute(select(func.count()).select_from(ReleaseCount)).scalar_one()
            in_ledger = [
                json.loads(entry)["data"]
                for entry in connection.execute(
                    select(LedgerEntry.entry).where(LedgerEntry.kind == "key.released")
                ).scalars()
            ]
        assert counted == 1
        assert rows == 2  # the dataset and the model, once each for this job
        assert {entry["artefact"] for entry in in_ledger} == {run.dataset, run.model}
        # After a restart the runner attests again with a fresh nonce and gets the keys, counted once.
        gateway.extra_env.pop("CCGATE_CRASH_TEST_PAUSE_AFTER_RELEASE_SECONDS")
        gateway.start()
        with node_client(run) as retry:
            challenge = retry.post(f"/v1/jobs/{job}/challenge")
            assert challenge.status_code == 200, challenge.text
            body, _ = attestation_body(run, Challenge.model_validate_json(challenge.content))
            released = retry.post(f"/v1/jobs/{job}/attestation", content=body)
            assert released.status_code == 200, released.text
            assert {item["artefact_id"] for item in released.json()["releases"]} == {run.dataset, run.model}
        with engine.connect() as connection:
            assert (
                connection.execute(
                    select(Artefact.release_count).where(Artefact.id == run.dataset)
                ).scalar_one()
                == 1
            )
        export = httpx.get(
            f"{gateway.url}/v1/ledger/export", headers={"Authorization": f"Bearer {admin}"}, timeout=60
        ).json()
        assert audit_export(export).ok
    finally:
        engine.dispose()
        gateway.stop()
