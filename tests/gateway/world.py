"""A populated gateway for API tests: an admin, two customer tenants and an approved provider.

Everything is set up through the HTTP API itself (only the bootstrap runs the service directly, as
``ccgate admin bootstrap`` does), so these helpers exercise the same routes the tests then probe.
"""

import base64
import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select

from attestation.evidence import TeeType
from enclave_runner.protocol.envelope import encrypt_stream
from enclave_runner.protocol.sealing import SealContext, seal_data_key
from gateway.domain import Role
from gateway.services.context import ServiceContext
from gateway.storage.schema import LedgerEntry
from tests.gateway.fakes import FakeEvidenceVerifier, evidence_json, fake_evidence


@dataclass
class Party:
    """A tenant and one principal's token per role it holds."""

    name: str
    tenant_id: str
    tokens: dict[Role, str] = field(default_factory=dict)

    def as_(self, role: Role) -> dict[str, str]:
        """Authorization headers of this tenant's principal with ``role``."""
        return {"Authorization": f"Bearer {self.tokens[role]}"}


def bearer(token: str) -> dict[str, str]:
    """Authorization headers for a raw token."""
    return {"Authorization": f"Bearer {token}"}


def make_envelope(artefact_id: str, size: int) -> tuple[bytes, bytes]:
    """A fresh data key and the envelope of ``size`` random bytes under it."""
    key = os.urandom(32)
    envelope = b"".join(encrypt_stream([os.urandom(size)], key, artefact_id, plaintext_length=size))
    return key, envelope


def content_digest(data: bytes) -> str:
    """An RFC 9530 Content-Digest header value."""
    return "sha-256=:" + base64.b64encode(hashlib.sha256(data).digest()).decode() + ":"


@dataclass
class World:
    """The gateway under test and the parties in it."""

    app: FastAPI
    client: TestClient
    services: ServiceContext
    verifier: FakeEvidenceVerifier
    admin: Party
    acme: Party
    globex: Party
    cloud: Party

    def ok(self, response: Response, status: int = 200) -> Any:
        """The JSON body, after asserting the status."""
        assert response.status_code == status, response.text
        return response.json()

    # ------------------------------------------------------------ artefacts

    def ledger(self, kind: str) -> list[tuple[str | None, dict[str, Any]]]:
        """Every ledger entry of ``kind``, oldest first: (tenant, data)."""
        with self.services.db.transaction() as session:
            rows = session.scalars(
                select(LedgerEntry).where(LedgerEntry.kind == kind).order_by(LedgerEntry.idx)
            )
            documents = [json.loads(row.entry) for row in rows]
        return [(document["tenant"], document["data"]) for document in documents]

    def create_artefact(self, party: Party, name: str, **fields: Any) -> dict[str, Any]:
        body = {"kind": "dataset", "name": name, **fields}
        return self.ok(self.client.post("/v1/artefacts", json=body, headers=party.as_(Role.OWNER)), 201)  # type: ignore[no-any-return]  # the API's JSON; the test reads the fields it checks

    def upload(
        self, party: Party, artefact_id: str, version: int, envelope: bytes, *, digest: bool = True
    ) -> Response:
        headers = {**party.as_(Role.OWNER), "Content-Type": "application/octet-stream"}
        if digest:
            headers["Content-Digest"] = content_digest(envelope)
        response: Response = self.client.put(
            f"/v1/artefacts/{artefact_id}/versions/{version}/content", content=envelope, headers=headers
        )
        return response

    def deposit(
        self, party: Party, artefact_id: str, version: int, key: bytes, envelope: bytes, **overrides: Any
    ) -> Response:
        kek = self.ok(self.client.get("/v1/kek", headers=party.as_(Role.OWNER)))
        public = base64.b64decode(kek["public_key"])
        sealed = seal_data_key(key, public, SealContext.deposit(artefact_id, kek["kek_id"]))
        body = {
            "kek_id": kek["kek_id"],
            "sealed_key": base64.b64encode(sealed).decode(),
            "ciphertext_digest": hashlib.sha256(envelope).hexdigest(),
            **overrides,
        }
        response: Response = self.client.put(
            f"/v1/artefacts/{artefact_id}/versions/{version}/key", json=body, headers=party.as_(Role.OWNER)
        )
        return response

    def ready_artefact(
        self, party: Party, name: str, size: int = 5000
    ) -> tuple[dict[str, Any], bytes, bytes]:
        """An artefact with one complete version: (artefact, key, envelope)."""
        artefact = self.create_artefact(party, name)
        key, envelope = make_envelope(artefact["id"], size)
        self.ok(self.upload(party, artefact["id"], 1, envelope))
        self.ok(self.deposit(party, artefact["id"], 1, key, envelope))
        return artefact, key, envelope

    def ready_model(self, party: Party, name: str, files: dict[str, bytes] | None = None) -> dict[str, Any]:
        """A model artefact whose one version holds a bundle tar (envelope) and its deposited key."""
        artefact = self.create_artefact(party, name, kind="model")
        key, envelope = make_envelope(artefact["id"], 3000)
        self.ok(self.upload(party, artefact["id"], 1, envelope))
        self.ok(self.deposit(party, artefact["id"], 1, key, envelope))
        return artefact

    def submit_job(
        self, party: Party, datasets: list[str], model: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        """A job over ``datasets`` (and a fresh model bundle unless one is named)."""
        model_id = model or self.ready_model(party, f"model-{len(datasets)}-{os.urandom(3).hex()}")["id"]
        body = {
            "datasets": datasets,
            "model": model_id,
            "entrypoint": "train",
            "result_recipient": base64.b64encode(os.urandom(32)).decode(),
            "tee_types": ["simulated"],
            **fields,
        }
        return self.ok(self.client.post("/v1/jobs", json=body, headers=party.as_(Role.OWNER)), 201)  # type: ignore[no-any-return]  # the API's JSON; the test reads the fields it checks

    # ------------------------------------------------------------ nodes

    def register_node(
        self, name: str, cpu_id: str, serials: list[str], tee: TeeType = TeeType.SIMULATED
    ) -> dict[str, Any]:
        body = {
            "name": name,
            "region": "eu-west",
            "tee_type": str(tee),
            "cpu_id": cpu_id,
            "gpu_serials": serials,
            "gpu_count": len(serials),
        }
        return self.ok(self.client.post("/v1/nodes", json=body, headers=self.cloud.as_(Role.PROVIDER)), 201)  # type: ignore[no-any-return]  # the API's JSON; the test reads the fields it checks

    def enroll(
        self,
        registered: dict[str, Any],
        *,
        cpu_id: str | None = None,
        serials: list[str] | None = None,
        tee: TeeType = TeeType.SIMULATED,
        headers: dict[str, str] | None = None,
        nonce: str | None = None,
    ) -> Response:
        node = registered["node"]
        challenge = registered["challenge"]
        report_data = base64.b64decode(challenge["report_data"])
        bundle = fake_evidence(
            tee, cpu_id or node["cpu_id"], report_data, node["gpu_serials"] if serials is None else serials
        )
        body = {"nonce": nonce or challenge["nonce"], "evidence": evidence_json(bundle)}
        response: Response = self.client.post(
            f"/v1/nodes/{node['id']}/enrollment", json=body, headers=headers or self.cloud.as_(Role.PROVIDER)
        )
        return response
