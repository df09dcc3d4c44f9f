"""``ccgate bench release --floor``: the protocol's mandatory work on the bare stack, measured honestly."""

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import jwt
import nacl.public
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from gateway.bench.protocol_floor import (
    DATA_KEYS,
    DATABASE_VARIABLE,
    SEED_VARIABLE,
    FloorKeys,
    create_floor_app,
    prepare_database,
    run_floor_bench,
)
from gateway.bench.release import WARMUP
from tests.gateway.cli.cli_runner import ccgate

SEED = bytes(range(32))


@pytest.fixture
def floor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    prepare_database(tmp_path / "floor.db", FloorKeys(SEED))
    monkeypatch.setenv(SEED_VARIABLE, SEED.hex())
    monkeypatch.setenv(DATABASE_VARIABLE, str(tmp_path / "floor.db"))
    with TestClient(create_floor_app(), raise_server_exceptions=False) as client:
        yield client


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _attestation(
    keys: FloorKeys, nonce: str, *, signer: ec.EllipticCurvePrivateKey | None = None
) -> dict[str, object]:
    signature = (signer or keys.device).sign(bytes.fromhex(nonce), ec.ECDSA(hashes.SHA384()))
    recipient = nacl.public.PrivateKey.generate()
    return {
        "nonce": nonce,
        "x25519": base64.b64encode(bytes(recipient.public_key)).decode(),
        "ed25519": base64.b64encode(bytes(32)).decode(),
        "signatures": [base64.b64encode(signature).decode()] * 3,
    }


def test_a_release_seals_every_data_key_and_a_nonce_is_spent_once(floor: TestClient) -> None:
    keys = FloorKeys(SEED)
    nonce = floor.post("/challenge", headers=_bearer(keys.node_token)).json()["nonce"]
    body = _attestation(keys, nonce)
    released = floor.post("/attestation", json=body, headers=_bearer(keys.node_token))
    assert released.status_code == 200, released.text
    assert len(released.json()["sealed_keys"]) == DATA_KEYS
    replayed = floor.post("/attestation", json=body, headers=_bearer(keys.node_token))
    assert replayed.status_code == 409


def test_bad_signatures_and_foreign_tokens_are_refused_not_errors(floor: TestClient) -> None:
    keys = FloorKeys(SEED)
    nonce = floor.post("/challenge", headers=_bearer(keys.node_token)).json()["nonce"]
    other_device = ec.generate_private_key(ec.SECP384R1())
    forged = floor.post(
        "/attestation", json=_attestation(keys, nonce, signer=other_device), headers=_bearer(keys.node_token)
    )
    assert forged.status_code == 422
    foreign = jwt.encode({"jti": "node", "sub": "node"}, Ed25519PrivateKey.generate(), algorithm="EdDSA")
    assert floor.post("/challenge", headers=_bearer(foreign)).status_code == 401


@pytest.mark.slow
def test_the_benchmark_counts_every_release_and_its_ledger_entries() -> None:
    report = run_floor_bench(6, gpus=2, concurrency=2)
    assert len(report.full_seconds) == len(report.attest_seconds) == 6
    assert all(
        full >= attest > 0 for full, attest in zip(report.full_seconds, report.attest_seconds, strict=True)
    )
    # Per release: the challenge, then a decision and a release per data key (warm-up included).
    assert report.ledger_entries == (WARMUP + 6) * (1 + 2 * DATA_KEYS)
    assert report.gateway_cpu_seconds is not None
    assert report.gateway_cpu_seconds > 0
    assert report.load_cpu_seconds > 0


@pytest.mark.slow
def test_the_release_benchmark_shows_the_floor_beside_ccgate() -> None:
    done = ccgate(
        "bench", "release", "--releases", "3", "--gpus", "1", "--concurrency", "1", "--floor", "--json"
    )
    assert done.returncode == 0, done.stderr
    numbers = json.loads(done.stdout)
    assert numbers["releases"] == numbers["floor"]["releases"] == 3
    assert numbers["floor"]["gpus"] == numbers["gpus"] == 1
    assert numbers["floor"]["full_p50_ms"] >= numbers["floor"]["attest_p50_ms"] > 0
    table = ccgate("bench", "release", "--releases", "2", "--gpus", "1", "--concurrency", "1", "--floor")
    assert table.returncode == 0, table.stderr
    assert b"floor" in table.stdout
    assert b"ledger after the run" in table.stdout
