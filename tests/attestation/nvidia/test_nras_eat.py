"""NRAS detached EATs: the real NVAT sample (structure, digests, claims; its key is not published in
the vector set) and synthetic EATs signed with a throwaway P-384 key for every rejection."""

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from attestation.errors import (
    NonceMismatchError,
    TokenAlgorithmError,
    TokenExpiredError,
    TokenIssuerError,
    TokenKeyUnknownError,
    TokenMalformedError,
    TokenNotYetValidError,
    TokenSignatureError,
)
from attestation.nvidia.errors import NrasSubmodDigestError
from attestation.nvidia.nras_eat import NRAS_ISSUER, nras_keys_from_jwks, parse_nras_eat, verify_nras_eat
from tests.attestation.nvidia.vectors import SAMPLE_NONCE, read

EAT = "nras-eat-nvat/hopperClaimsv3_detached_eat.json"
DECODED = "nras-eat-nvat/hopperClaimsv3_decoded.json"
ISSUED = datetime.fromtimestamp(1749601858, tz=UTC)
KID = "test-nras-key"


@pytest.mark.vectors
def test_the_nvat_sample_parses_and_its_gpu_token_is_the_one_the_overall_token_names() -> None:
    eat = parse_nras_eat(read(EAT))
    assert list(eat.gpus) == ["GPU-0"]
    assert eat.overall.payload["eat_nonce"] == SAMPLE_NONCE.hex()
    assert eat.overall.payload["iss"] == NRAS_ISSUER
    assert eat.overall.payload["x-nvidia-overall-att-result"] is True
    assert eat.overall.header["alg"] == "ES384"
    decoded = json.loads(read(DECODED))
    assert dict(eat.gpus["GPU-0"].payload) == decoded["GPU-0"]
    gpu = eat.gpus["GPU-0"].payload
    assert (gpu["measres"], gpu["x-nvidia-gpu-driver-version"], gpu["x-nvidia-gpu-vbios-version"]) == (
        "success",
        "550.90.07",
        "96.00.9F.00.01",
    )
    assert gpu["ueid"] == "478176379286082186618948445787393647364802107249"


@pytest.mark.vectors
def test_the_nvat_sample_cannot_be_trusted_without_nras_keys() -> None:
    with pytest.raises(TokenKeyUnknownError):
        verify_nras_eat(read(EAT), keys={}, expected_nonce=SAMPLE_NONCE, now=ISSUED + timedelta(minutes=5))


@pytest.mark.vectors
def test_a_tampered_gpu_token_in_the_nvat_sample_no_longer_matches_its_digest() -> None:
    document = json.loads(read(EAT))
    header, payload, signature = document[1]["GPU-0"].split(".")
    document[1]["GPU-0"] = ".".join(
        [header, payload, signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")]
    )
    with pytest.raises(NrasSubmodDigestError):
        parse_nras_eat(json.dumps(document).encode())


def _sign(
    payload: dict[str, object], key: ec.EllipticCurvePrivateKey, *, kid: str = KID, alg: str = "ES384"
) -> str:
    return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid})


def _eat(
    key: ec.EllipticCurvePrivateKey,
    *,
    gpus: int = 2,
    overall: dict[str, object] | None = None,
    extra_submod: bool = False,
) -> bytes:
    tokens = {
        f"GPU-{n}": _sign(
            {"measres": "success", "secboot": True, "dbgstat": "disabled", "ueid": str(1000 + n),
             "x-nvidia-gpu-driver-version": "550.90.07", "x-nvidia-gpu-vbios-version": "96.00.9F.00.01"},
            key,
        )
        for n in range(gpus)
    }  # fmt: skip
    submods: dict[str, object] = {
        name: ["DIGEST", ["SHA-256", hashlib.sha256(token.encode()).hexdigest()]]
        for name, token in tokens.items()
    }
    if extra_submod:
        submods["GPU-9"] = ["DIGEST", ["SHA-256", "00" * 32]]
    claims: dict[str, object] = {
        "iss": NRAS_ISSUER,
        "iat": int(ISSUED.timestamp()),
        "nbf": int(ISSUED.timestamp()),
        "exp": int(ISSUED.timestamp()) + 3600,
        "eat_nonce": SAMPLE_NONCE.hex(),
        "x-nvidia-overall-att-result": True,
        "submods": submods,
        **(overall or {}),
    }
    return json.dumps([["JWT", _sign(claims, key)], tokens]).encode()


@pytest.fixture
def key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP384R1())


def _verify(document: bytes, key: ec.EllipticCurvePrivateKey, **overrides: object) -> object:
    arguments: dict[str, object] = {
        "keys": {KID: key.public_key()},
        "expected_nonce": SAMPLE_NONCE,
        "now": ISSUED + timedelta(minutes=10),
    }
    arguments.update(overrides)
    return verify_nras_eat(document, **arguments)  # type: ignore[arg-type]  # overrides are typed by the test.


def test_a_well_signed_eat_gives_nras_verdicts_per_gpu(key: ec.EllipticCurvePrivateKey) -> None:
    result = verify_nras_eat(
        _eat(key),
        keys={KID: key.public_key()},
        expected_nonce=SAMPLE_NONCE,
        now=ISSUED + timedelta(minutes=1),
    )
    assert result.overall_result is True
    assert result.key_id == KID
    assert [gpu.name for gpu in result.gpus] == ["GPU-0", "GPU-1"]
    assert {gpu.measurement_result for gpu in result.gpus} == {"success"}
    assert result.gpus[1].ueid == "1001"
    assert result.gpus[0].driver_version == "550.90.07"


def test_a_negative_overall_verdict_is_returned_for_policy_not_hidden(
    key: ec.EllipticCurvePrivateKey,
) -> None:
    result = verify_nras_eat(
        _eat(key, overall={"x-nvidia-overall-att-result": False}),
        keys={KID: key.public_key()},
        expected_nonce=SAMPLE_NONCE,
        now=ISSUED,
    )
    assert result.overall_result is False


@pytest.mark.parametrize(
    ("document", "overrides", "error"),
    [
        ("signed-by-another-key", {}, TokenSignatureError),
        ("good", {"keys": {}}, TokenKeyUnknownError),
        ("good", {"now": ISSUED + timedelta(hours=1)}, TokenExpiredError),
        ("good", {"now": ISSUED - timedelta(seconds=1)}, TokenNotYetValidError),
        ("good", {"expected_nonce": b"\x00" * 32}, NonceMismatchError),
        ("other-issuer", {}, TokenIssuerError),
        ("extra-submod", {}, NrasSubmodDigestError),
        ("es256", {}, TokenAlgorithmError),
        ("no-overall-result", {}, TokenMalformedError),
        ("not-an-eat", {}, TokenMalformedError),
        ("bad-digest-form", {}, TokenMalformedError),
    ],
)
def test_every_rejection(
    key: ec.EllipticCurvePrivateKey, document: str, overrides: dict[str, object], error: type[Exception]
) -> None:
    other = ec.generate_private_key(ec.SECP384R1())
    documents: dict[str, Callable[[], bytes]] = {
        "good": lambda: _eat(key),
        "signed-by-another-key": lambda: _eat(other),
        "other-issuer": lambda: _eat(key, overall={"iss": "https://attacker.example"}),
        "extra-submod": lambda: _eat(key, extra_submod=True),
        "es256": lambda: json.dumps(
            [["JWT", _sign({"submods": {}}, ec.generate_private_key(ec.SECP256R1()), alg="ES256")], {}]
        ).encode(),
        "no-overall-result": lambda: _eat(key, overall={"x-nvidia-overall-att-result": "yes"}),
        "not-an-eat": lambda: b'{"JWT": "x"}',
        "bad-digest-form": lambda: _eat(
            key, gpus=0, overall={"submods": {"GPU-0": ["DIGEST", ["MD5", "00"]]}}
        ),
    }
    with pytest.raises(error):
        _verify(documents[document](), key, **overrides)


def test_a_jwks_gives_the_p384_keys_and_skips_others(key: ec.EllipticCurvePrivateKey) -> None:
    p384 = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    p256 = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()).public_key()))
    document = json.dumps({"keys": [{**p384, "kid": KID}, {**p256, "kid": "other"}]}).encode()
    keys = nras_keys_from_jwks(document)
    assert list(keys) == [KID]
    assert verify_nras_eat(_eat(key), keys=keys, expected_nonce=SAMPLE_NONCE, now=ISSUED).overall_result
    with pytest.raises(TokenMalformedError):
        nras_keys_from_jwks(b'{"keys": [{"kty": "EC"}]}')
    with pytest.raises(TokenMalformedError):
        nras_keys_from_jwks(b"[]")
