"""``ccgate evidence verify nras-eat`` run as a user would: the real NVAT sample, and a synthetic EAT
signed with a throwaway P-384 key whose JWKS the test writes."""

import json
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.attestation.nvidia import vectors as v
from tests.attestation.nvidia.test_nras_eat import EAT, ISSUED, KID, _eat
from tests.gateway.cli.cli_runner import ccgate

pytestmark = pytest.mark.slow


def _run(eat: Path, *extra: str | Path, nonce: bytes = v.SAMPLE_NONCE) -> tuple[int, dict[str, object]]:
    done = ccgate("evidence", "verify", "nras-eat", eat, "--nonce", nonce.hex(), "--json", *extra)
    return done.returncode, json.loads(done.stdout) if done.stdout else {}


@pytest.mark.vectors
def test_the_nvat_sample_is_structurally_sound_but_unverifiable_without_nras_keys() -> None:
    code, verdict = _run(v.nvidia_dir() / EAT, "--at", "2025-06-11T00:35:00Z")
    assert code == 1
    assert verdict["error"]["code"] == "attestation.token_kid_unknown"  # type: ignore[index]  # the CLI's JSON, read as a user's script would
    assert verdict["claims"] == {"submods-digest-match": True, "gpu-count": 1}


def _signed(tmp_path: Path, **overall: object) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP384R1())
    eat = tmp_path / "eat.json"
    eat.write_bytes(_eat(key, overall=overall))
    jwks = tmp_path / "jwks.json"
    jwks.write_text(
        json.dumps(
            {"keys": [{**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key())), "kid": KID}]}
        )
    )
    return eat, jwks


def test_a_signed_eat_verifies_with_its_jwks_and_prints_each_gpu(tmp_path: Path) -> None:
    eat, jwks = _signed(tmp_path)
    code, verdict = _run(eat, "--jwks", jwks, "--at", f"{ISSUED:%Y-%m-%dT%H:%M:%SZ}")
    assert code == 0, verdict
    claims = verdict["claims"]
    assert claims["x-nvidia-overall-att-result"] is True  # type: ignore[index]  # the CLI's JSON, read as a user's script would
    assert claims["GPU-1"]["measres"] == "success"  # type: ignore[index]  # the CLI's JSON, read as a user's script would


@pytest.mark.parametrize(
    ("overall", "nonce", "at", "code"),
    [
        (
            {"x-nvidia-overall-att-result": False},
            v.SAMPLE_NONCE,
            "2025-06-11T00:31:00Z",
            "attestation.nvidia.nras_verdict_negative",
        ),
        ({}, v.FULL_PASS_NONCE, "2025-06-11T00:31:00Z", "attestation.nonce_mismatch"),
        ({}, v.SAMPLE_NONCE, "2025-06-11T02:00:00Z", "attestation.token_expired"),
    ],
)
def test_a_negative_verdict_another_nonce_or_an_expired_eat_exits_1(
    tmp_path: Path, overall: dict[str, object], nonce: bytes, at: str, code: str
) -> None:
    eat, jwks = _signed(tmp_path, **overall)
    exit_code, verdict = _run(eat, "--jwks", jwks, "--at", at, nonce=nonce)
    assert exit_code == 1
    assert verdict["error"]["code"] == code  # type: ignore[index]  # the CLI's JSON, read as a user's script would
