"""Results and receipts: one result per job, a receipt that verifies under the attested key only, and
a proof bundle that ``ccgate job verify`` checks offline link by link."""

import base64
import hashlib
import json
import logging
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nacl.signing
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from enclave_runner.protocol.canonical import JsonValue
from enclave_runner.protocol.envelope import encrypt_stream
from enclave_runner.protocol.messages import JobManifest
from enclave_runner.protocol.receipts import Receipt, ReceiptInput, sign_receipt
from enclave_runner.protocol.sealing import SealContext, generate_x25519, open_data_key, seal_data_key
from gateway.domain import Role
from gateway.errors import LedgerError
from gateway.job_verification import PinnedKeys, verify_job_proof
from gateway.ledger.records import EventKind
from gateway.ledger.store import AppendedEntry, Ledger
from gateway.storage.schema import LedgerEntry
from tests.gateway.release.fake_runner import FakeRunner, upload_policy
from tests.gateway.world import World, bearer, make_envelope


def _ready(world: World, name: str, kind: str = "dataset") -> dict[str, Any]:
    policy = upload_policy(world)
    artefact = world.create_artefact(
        world.acme, name, kind=kind, policy={"name": "eu-only", "version": policy["version"]}
    )
    key, envelope = make_envelope(artefact["id"], 2000)
    world.ok(world.upload(world.acme, artefact["id"], 1, envelope))
    world.ok(world.deposit(world.acme, artefact["id"], 1, key, envelope))
    return artefact


class Released:
    """A job whose keys were released to ``runner``: what it takes to upload a result."""

    def __init__(self, world: World, runner: FakeRunner) -> None:
        self.world = world
        self.runner = runner
        self.recipient = generate_x25519()
        dataset, model = _ready(world, "data"), _ready(world, "model", "model")
        self.job = world.submit_job(
            world.acme,
            [dataset["id"]],
            model["id"],
            gpu_count=1,
            result_recipient=base64.b64encode(self.recipient.public).decode(),
        )
        runner.claim(self.job["id"])
        self.challenge = runner.challenge(self.job["id"])
        self.response = world.ok(runner.attest(self.job["id"], self.challenge))
        self.manifest = JobManifest.model_validate(self.challenge["manifest"])

    def result(self, signer: nacl.signing.SigningKey | None = None, **changes: Any) -> dict[str, str | bytes]:
        key = os.urandom(32)
        data = b"model weights and metrics"
        envelope = b"".join(
            encrypt_stream([data], key, f"result-{self.job['id']}", plaintext_length=len(data))
        )
        receipt = Receipt(
            job_id=self.job["id"],
            manifest_digest=self.manifest.digest().hex(),
            inputs=tuple(
                ReceiptInput(artefact_id=r["artefact_id"], ciphertext_digest=r["ciphertext_digest"])
                for r in self.response["releases"]
            ),
            output_digest=hashlib.sha256(envelope).hexdigest(),
            started_at=datetime(2026, 11, 26, 12, 0, tzinfo=UTC),
            finished_at=datetime(2026, 11, 26, 12, 1, tzinfo=UTC),
            exit_code=0,
            network_isolation="namespace",
        ).model_copy(update=changes)
        signed = sign_receipt(receipt, bytes(signer or self.runner.ed25519))
        sealed = seal_data_key(key, self.recipient.public, SealContext.result(self.job["id"]))
        return {"envelope": envelope, "key": key, "sealed": sealed, "receipt": signed.model_dump_json()}

    def upload(self, result: dict[str, Any], token: str | None = None, job_id: str | None = None) -> Any:
        headers = {
            **bearer(token or self.response["session_token"]),
            "Content-Type": "application/octet-stream",
            "X-Ccgate-Sealed-Key": base64.b64encode(result["sealed"]).decode(),
            "X-Ccgate-Receipt": base64.b64encode(result["receipt"].encode()).decode(),
        }
        return self.world.client.put(
            f"/v1/jobs/{job_id or self.job['id']}/result", content=result["envelope"], headers=headers
        )

    def refusals(self) -> list[tuple[str | None, dict[str, Any]]]:
        """The ``runner.refused`` ledger entries recorded against this session: (tenant, data)."""
        return [
            (tenant, data)
            for tenant, data in self.world.ledger("runner.refused")
            if data.get("session") == self.challenge["session_id"]
        ]

    def assert_refusal_recorded(self, code: str, requested_job: str | None = None) -> dict[str, Any]:
        """Exactly one refusal with ``code`` is in the owner's ledger, and it names no token."""
        [(tenant, entry)] = [(t, e) for t, e in self.refusals() if e["code"] == code]
        assert tenant == self.world.acme.tenant_id
        assert entry["job"] == self.job["id"]
        assert entry["requested_job"] == (requested_job or self.job["id"])
        assert entry["stage"] == "result"
        assert self.response["session_token"] not in json.dumps(entry)
        return entry


class UnwritableLedger(Ledger):
    """A ledger whose appends fail, as a ledger on an unreachable database would."""

    def append(
        self, session: Session, kind: EventKind, tenant: str | None, data: Mapping[str, JsonValue]
    ) -> AppendedEntry:
        raise LedgerError("the ledger cannot be written")


def _result_entries(world: World, released: Released) -> list[dict[str, Any]]:
    with world.services.db.transaction() as session:
        rows = session.scalars(select(LedgerEntry).where(LedgerEntry.kind == "result.stored"))
        entries = [json.loads(row.entry)["data"] for row in rows]
    return [entry for entry in entries if entry["job"] == released.job["id"]]


@pytest.fixture
def released(world: World) -> Released:
    return Released(world, FakeRunner.enrolled(world, "result-node", "c0ffee77", ["g-77"]))


def test_a_result_is_stored_and_verifies_offline(world: World, released: Released, tmp_path: Path) -> None:
    result = released.result()
    stored = world.ok(released.upload(result))
    assert stored["state"] == "completed"
    owner = world.acme.as_(Role.OWNER)
    downloaded = world.client.get(f"/v1/jobs/{released.job['id']}/result", headers=owner)
    assert downloaded.content == result["envelope"]
    sealed = world.ok(world.client.get(f"/v1/jobs/{released.job['id']}/result-key", headers=owner))[
        "sealed_key"
    ]
    assert (
        open_data_key(
            base64.b64decode(sealed), released.recipient.private, SealContext.result(released.job["id"])
        )
        == result["key"]
    )
    bundle = world.ok(world.client.get(f"/v1/jobs/{released.job['id']}/proof", headers=owner))
    path = tmp_path / "result.ccge"
    path.write_bytes(downloaded.content)
    report = verify_job_proof(bundle, result_file=path)
    assert report.ok, [(c.name, c.detail) for c in report.checks]
    assert [check.name for check in report.checks] == [
        "bundle format",
        "attestation token signature",
        "receipt signed by the attested runner key",
        "manifest bound into the token and the receipt",
        "ledger entry records this receipt and result",
        "tree head signed by the ledger key",
        "ledger inclusion proof",
        "result file matches the receipt",
    ]


def test_a_proof_with_a_tampered_receipt_or_result_fails_offline(
    world: World, released: Released, tmp_path: Path
) -> None:
    world.ok(released.upload(released.result()))
    bundle = world.ok(
        world.client.get(f"/v1/jobs/{released.job['id']}/proof", headers=world.acme.as_(Role.OWNER))
    )
    tampered = {
        **bundle,
        "receipt": {**bundle["receipt"], "receipt": {**bundle["receipt"]["receipt"], "exit_code": 1}},
    }
    assert not verify_job_proof(tampered).ok
    wrong_file = tmp_path / "other"
    wrong_file.write_bytes(b"not the result")
    report = verify_job_proof(bundle, result_file=wrong_file)
    assert not report.ok
    assert report.checks[-1].name == "result file matches the receipt"
    other_ledger_key = nacl.signing.SigningKey.generate().verify_key
    pinned = verify_job_proof(bundle, ledger_keys={"someone-else": bytes(other_ledger_key)})
    assert not pinned.ok


def test_the_published_jwks_pins_every_link_and_only_by_purpose(world: World, released: Released) -> None:
    world.ok(released.upload(released.result()))
    bundle = world.ok(
        world.client.get(f"/v1/jobs/{released.job['id']}/proof", headers=world.acme.as_(Role.OWNER))
    )
    jwks = world.ok(world.client.get("/.well-known/jwks.json"))
    pinned = PinnedKeys.from_jwks(jwks)
    assert pinned.ledger_keys
    assert pinned.attestation_jwks["keys"]
    report = verify_job_proof(
        bundle, ledger_keys=pinned.ledger_keys, attestation_jwks=pinned.attestation_jwks
    )
    assert report.ok, [(c.name, c.detail) for c in report.checks]
    # The gateway's API-token key is the gateway's too, but it may not stand in for the attestation key.
    api_only = {"keys": [k for k in jwks["keys"] if k["ccgate_purpose"] == "api-token"]}
    refused = verify_job_proof(bundle, attestation_jwks=PinnedKeys.from_jwks(api_only).attestation_jwks)
    assert not refused.ok
    assert refused.checks[-1].name == "attestation token signature"


@pytest.mark.parametrize(
    "document",
    [{}, {"keys": "x"}, {"keys": ["x"]}, {"keys": [{"ccgate_purpose": "ledger", "kid": "k", "x": "!!"}]}],
)
def test_a_malformed_jwks_is_refused(document: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        PinnedKeys.from_jwks(document)


def test_a_receipt_signed_by_another_key_is_refused(world: World, released: Released) -> None:
    response = released.upload(released.result(signer=nacl.signing.SigningKey.generate()))
    assert response.status_code == 422
    assert response.json()["code"] == "receipt.invalid"
    job = world.ok(world.client.get(f"/v1/jobs/{released.job['id']}", headers=world.acme.as_(Role.OWNER)))
    assert job["result_digest"] is None
    assert job["state"] != "completed"
    entry = released.assert_refusal_recorded("receipt.invalid")
    assert "attested key" in entry["detail"]
    assert _result_entries(world, released) == []


def test_a_refused_receipt_stays_refused_when_the_ledger_cannot_record_it(
    world: World, released: Released, caplog: pytest.LogCaptureFixture
) -> None:
    object.__setattr__(world.services, "ledger", UnwritableLedger(world.services.vault, world.services.clock))
    with caplog.at_level(logging.ERROR, logger="ccgate.results"):
        response = released.upload(released.result(signer=nacl.signing.SigningKey.generate()))
    assert response.status_code == 422
    assert response.json()["code"] == "receipt.invalid"
    assert "could not record the refusal receipt.invalid" in caplog.text
    assert released.response["session_token"] not in caplog.text
    job = world.ok(world.client.get(f"/v1/jobs/{released.job['id']}", headers=world.acme.as_(Role.OWNER)))
    assert job["result_digest"] is None


@pytest.mark.parametrize(
    "changes",
    [{"output_digest": "00" * 32}, {"manifest_digest": "11" * 32}, {"inputs": ()}],
    ids=["another output", "another manifest", "other inputs"],
)
def test_a_receipt_that_describes_something_else_is_refused(
    world: World, released: Released, changes: dict[str, Any]
) -> None:
    response = released.upload(released.result(**changes))
    assert response.status_code == 422
    assert response.json()["code"] == "receipt.invalid"


def test_a_result_is_uploaded_once(world: World, released: Released) -> None:
    first = world.ok(released.upload(released.result()))
    again = released.upload(released.result())
    assert again.status_code == 409
    assert again.json()["code"] == "result.already_stored"
    released.assert_refusal_recorded("result.already_stored")
    [stored] = _result_entries(world, released)
    assert stored["output_digest"] == first["result_digest"]


def test_a_session_token_cannot_upload_another_jobs_result(world: World, released: Released) -> None:
    dataset = _ready(world, "other-data")
    other = world.submit_job(world.acme, [dataset["id"]], _ready(world, "other-model", "model")["id"])
    response = released.upload(released.result(), job_id=other["id"])
    assert response.status_code == 404
    assert response.json()["code"] == "resource.not_found"
    released.assert_refusal_recorded("resource.not_found", requested_job=other["id"])
    owner = world.acme.as_(Role.OWNER)
    for job_id in (released.job["id"], other["id"]):
        assert world.ok(world.client.get(f"/v1/jobs/{job_id}", headers=owner))["result_digest"] is None
    assert _result_entries(world, released) == []


def test_a_failure_report_fails_the_job(world: World, released: Released) -> None:
    response = world.client.post(
        f"/v1/jobs/{released.job['id']}/failure",
        json={"code": "job.timeout", "stage": "execute"},
        headers=bearer(released.response["session_token"]),
    )
    job = world.ok(response)
    assert job["state"] == "failed"
    assert job["failure_code"] == "job.timeout"
    assert released.upload(released.result()).status_code in {404, 409}


def test_a_failure_report_names_one_of_the_protocols_stages(world: World, released: Released) -> None:
    response = world.client.post(
        f"/v1/jobs/{released.job['id']}/failure",
        json={"code": "job.timeout", "stage": "somewhere"},
        headers=bearer(released.response["session_token"]),
    )
    assert response.status_code == 422
    assert response.json()["code"] == "request.invalid"
    assert (
        world.ok(world.client.get(f"/v1/jobs/{released.job['id']}", headers=world.acme.as_(Role.OWNER)))[
            "state"
        ]
        == "released"
    )
