"""The attestation token: typed round trips in EdDSA and ES256, and a typed refusal for every attack on it."""

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given
from hypothesis import strategies as st

from attestation.ear import EarStatus
from attestation.errors import (
    TokenAlgorithmError,
    TokenError,
    TokenExpiredError,
    TokenIssuerError,
    TokenKeyUnknownError,
    TokenMalformedError,
    TokenNotYetValidError,
    TokenSignatureError,
)
from attestation.token import (
    DEFAULT_LIFETIME,
    REQUIRED_CLAIMS,
    TokenClaims,
    sign_attestation_token,
    verify_attestation_token,
)
from attestation.token_keys import TokenAlgorithm, TokenSigningKey, TokenVerificationKey
from tests.attestation import token_fixtures as f

EDDSA_KEY = TokenSigningKey.generate(TokenAlgorithm.EDDSA)
ES256_KEY = TokenSigningKey.generate(TokenAlgorithm.ES256)
KEYS = [EDDSA_KEY.verification_key(), ES256_KEY.verification_key()]
RESULT = f.result()


def _sign(key: TokenSigningKey = EDDSA_KEY, **overrides: object) -> str:
    arguments: dict[str, object] = {
        "key": key,
        "issuer": f.ISSUER,
        "nonce": f.NONCE,
        "report_data": f.REPORT_DATA,
        "bound_keys": f.BOUND_KEYS,
        "manifest_digest": f.MANIFEST_DIGEST,
        "now": f.NOW,
    }
    arguments.update(overrides)
    return sign_attestation_token(RESULT, **arguments)  # type: ignore[arg-type] # overrides keep the types.


def _verify(token: str, **overrides: object) -> TokenClaims:
    arguments: dict[str, object] = {"keys": KEYS, "issuer": f.ISSUER, "now": f.NOW + timedelta(seconds=1)}
    arguments.update(overrides)
    return verify_attestation_token(token, **arguments)  # type: ignore[arg-type] # overrides keep the types.


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _segments(token: str) -> tuple[dict[str, object], dict[str, object]]:
    header, payload, _ = token.split(".")
    return (
        json.loads(base64.urlsafe_b64decode(header + "==")),
        json.loads(base64.urlsafe_b64decode(payload + "==")),
    )


def _compact(header: dict[str, object], payload: dict[str, object], sign: Callable[[bytes], bytes]) -> str:
    signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(payload).encode())}"
    return f"{signing_input}.{_b64url(sign(signing_input.encode('ascii')))}"


def _resign(payload: dict[str, object], key: TokenSigningKey = EDDSA_KEY) -> str:
    """A token with exactly ``payload``, properly signed: only the claims themselves are wrong."""
    return jwt.encode(payload, key.private_key, algorithm=str(key.algorithm), headers={"kid": key.kid})


@pytest.mark.parametrize("key", [EDDSA_KEY, ES256_KEY], ids=["EdDSA", "ES256"])
def test_a_token_round_trips_into_typed_claims(key: TokenSigningKey) -> None:
    claims = _verify(_sign(key))
    assert jwt.get_unverified_header(_sign(key))["alg"] == str(key.algorithm)
    assert claims.key_id == key.kid
    assert claims.issuer == f.ISSUER
    assert claims.issued_at == claims.not_before == f.NOW
    assert claims.expires_at == f.NOW + DEFAULT_LIFETIME
    assert claims.nonce == f.NONCE
    assert claims.report_data == f.REPORT_DATA
    assert claims.bound_keys == f.BOUND_KEYS
    assert claims.manifest_digest == f.MANIFEST_DIGEST
    assert claims.evidence_digest == RESULT.evidence_digest
    assert claims.verifier_id == RESULT.verifier_id
    assert claims.cpu.claims == RESULT.cpu
    assert [gpu.claims for gpu in claims.gpus] == list(RESULT.gpus)
    assert claims.cpu.status is EarStatus.WARNING  # simulated
    assert [gpu.status for gpu in claims.gpus] == [EarStatus.AFFIRMING, EarStatus.AFFIRMING]


def test_the_payload_is_ear_shaped() -> None:
    _, payload = _segments(_sign())
    assert payload["eat_profile"] == "tag:github.com,2023:veraison/ear"
    assert payload["ear.verifier-id"] == {"developer": "ccgate", "build": RESULT.verifier_id}
    submods = payload["submods"]
    assert isinstance(submods, dict)
    assert sorted(submods) == ["cpu0", "gpu0", "gpu1"]
    assert {"ear.status", "ccgate.claims"} == set(submods["gpu0"])
    assert set(REQUIRED_CLAIMS) == set(payload)


def test_each_token_has_its_own_id_unless_the_caller_names_it() -> None:
    assert _verify(_sign()).token_id != _verify(_sign()).token_id
    assert _verify(_sign(token_id="release-7")).token_id == "release-7"


def _none_token() -> str:
    _, payload = _segments(_sign())
    return _compact({"alg": "none", "kid": EDDSA_KEY.kid}, payload, lambda _: b"")


def _hs256_with_public_key() -> str:
    _, payload = _segments(_sign())
    public = EDDSA_KEY.private_key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    return _compact(
        {"alg": "HS256", "kid": EDDSA_KEY.kid},
        payload,
        lambda signing_input: hmac.new(public, signing_input, hashlib.sha256).digest(),
    )


def _es256_header_on_an_eddsa_kid() -> str:
    impostor = TokenSigningKey(kid=EDDSA_KEY.kid, private_key=ec.generate_private_key(ec.SECP256R1()))
    return _sign(impostor)


def _header_alg(alg: str) -> str:
    _, payload = _segments(_sign())
    return _compact({"alg": alg, "kid": EDDSA_KEY.kid}, payload, lambda _: b"\x00" * 64)


def _tampered_payload() -> str:
    header, payload, signature = _sign().split(".")
    document = json.loads(base64.urlsafe_b64decode(payload + "=="))
    document["ccgate.manifest_digest"] = "00" * 32
    return f"{header}.{_b64url(json.dumps(document).encode())}.{signature}"


def _signed_by_another_key_under_the_same_kid() -> str:
    return _sign(TokenSigningKey(kid=EDDSA_KEY.kid, private_key=ed25519.Ed25519PrivateKey.generate()))


def _without_kid() -> str:
    _, payload = _segments(_sign())
    return jwt.encode(payload, EDDSA_KEY.private_key, algorithm="EdDSA")


def _with_crit() -> str:
    _, payload = _segments(_sign())
    return jwt.encode(
        payload, EDDSA_KEY.private_key, algorithm="EdDSA", headers={"kid": EDDSA_KEY.kid, "crit": ["b64"]}
    )


ATTACKS: list[tuple[str, Callable[[], str], type[TokenError]]] = [
    ("alg none", _none_token, TokenAlgorithmError),
    ("HS256 keyed with the public key", _hs256_with_public_key, TokenAlgorithmError),
    ("ES256 declared for an EdDSA kid", _es256_header_on_an_eddsa_kid, TokenAlgorithmError),
    ("RS256", lambda: _header_alg("RS256"), TokenAlgorithmError),
    ("ES384", lambda: _header_alg("ES384"), TokenAlgorithmError),
    ("alg in the wrong case", lambda: _header_alg("eddsa"), TokenAlgorithmError),
    ("no kid", _without_kid, TokenKeyUnknownError),
    ("an unknown kid", lambda: _sign(TokenSigningKey.generate()), TokenKeyUnknownError),
    ("another key under a known kid", _signed_by_another_key_under_the_same_kid, TokenSignatureError),
    ("a tampered payload", _tampered_payload, TokenSignatureError),
    ("another issuer", lambda: _sign(issuer="https://evil.example"), TokenIssuerError),
    ("a critical header extension", _with_crit, TokenMalformedError),
    ("not a JWT", lambda: "not-a-token", TokenMalformedError),
    ("two segments", lambda: ".".join(_sign().split(".")[:2]), TokenMalformedError),
]


@pytest.mark.parametrize(("name", "make", "error"), ATTACKS, ids=[attack[0] for attack in ATTACKS])
def test_an_attack_on_the_token_is_refused_with_its_code(
    name: str, make: Callable[[], str], error: type[TokenError]
) -> None:
    with pytest.raises(error) as caught:
        _verify(make())
    assert caught.value.code.startswith("attestation.token_"), name


@pytest.mark.parametrize(
    ("offset", "error"),
    [
        (DEFAULT_LIFETIME, TokenExpiredError),
        (DEFAULT_LIFETIME + timedelta(days=1), TokenExpiredError),
        (timedelta(seconds=-1), TokenNotYetValidError),
    ],
    ids=["at exp", "a day after exp", "a second before iat/nbf"],
)
def test_a_token_outside_its_time_window_is_refused(offset: timedelta, error: type[TokenError]) -> None:
    with pytest.raises(error):
        _verify(_sign(), now=f.NOW + offset)


def test_the_window_includes_its_first_and_last_second_and_leeway_widens_it() -> None:
    token = _sign()
    _verify(token, now=f.NOW)
    _verify(token, now=f.NOW + DEFAULT_LIFETIME - timedelta(seconds=1))
    _verify(token, now=f.NOW + DEFAULT_LIFETIME, leeway=timedelta(seconds=5))


def test_an_iat_in_the_future_is_refused_even_with_an_early_nbf() -> None:
    _, payload = _segments(_sign())
    payload["iat"] = int(payload["iat"]) + 3600  # type: ignore[call-overload] # an int in the payload.
    with pytest.raises(TokenNotYetValidError):
        _verify(_resign(payload))


@pytest.mark.parametrize("claim", REQUIRED_CLAIMS)
def test_a_token_missing_a_required_claim_is_refused(claim: str) -> None:
    _, payload = _segments(_sign())
    del payload[claim]
    with pytest.raises(TokenMalformedError):
        _verify(_resign(payload))


def _edit(path: list[str], value: object) -> Callable[[dict[str, object]], None]:
    def apply(payload: dict[str, object]) -> None:
        target: object = payload
        for name in path[:-1]:
            assert isinstance(target, dict)
            target = target[name]
        assert isinstance(target, dict)
        target[path[-1]] = value

    return apply


def _submods(payload: dict[str, object]) -> dict[str, object]:
    submods = payload["submods"]
    assert isinstance(submods, dict)
    return submods


ILL_TYPED = [
    ("exp as a string", _edit(["exp"], "soon")),
    ("iat as a boolean", _edit(["iat"], True)),
    ("another profile", _edit(["eat_profile"], "tag:example.com,2023:other")),
    ("a nonce that is not hex", _edit(["eat_nonce"], "zz")),
    ("a 4-byte nonce", _edit(["eat_nonce"], "00" * 4)),
    ("short report data", _edit(["ccgate.report_data"], "00" * 32)),
    ("a short manifest digest", _edit(["ccgate.manifest_digest"], "00")),
    ("a bound key that is not base64", _edit(["ccgate.keys", "x25519"], "***")),
    ("a 31-byte bound key", _edit(["ccgate.keys", "ed25519"], base64.b64encode(bytes(31)).decode())),
    ("a gap in the GPU numbering", lambda p: _submods(p).update({"gpu2": _submods(p).pop("gpu1")})),
    ("no cpu0", lambda p: _submods(p).pop("cpu0")),
    ("an unknown ear.status", _edit(["submods", "gpu0", "ear.status"], "fine")),
    ("an unknown claim", _edit(["submods", "cpu0", "ccgate.claims", "hypervisor"], "trusted")),
    ("a claim of the wrong type", _edit(["submods", "cpu0", "ccgate.claims", "debug"], "false")),
    ("an unknown enum value", _edit(["submods", "gpu0", "ccgate.claims", "x-nvidia-gpu-arch"], "volta")),
    ("verifier-id without build", _edit(["ear.verifier-id"], {"developer": "ccgate"})),
]


@pytest.mark.parametrize(("name", "edit"), ILL_TYPED, ids=[case[0] for case in ILL_TYPED])
def test_a_signed_token_with_ill_typed_claims_is_refused(
    name: str, edit: Callable[[dict[str, object]], None]
) -> None:
    _, payload = _segments(_sign())
    edit(payload)
    with pytest.raises(TokenMalformedError):
        _verify(_resign(payload))


@given(st.text(max_size=300))
def test_arbitrary_text_gives_only_token_errors(text: str) -> None:
    with pytest.raises(TokenError):
        _verify(text)


@pytest.mark.parametrize(
    "overrides",
    [
        {"now": f.NOW.replace(tzinfo=None)},
        {"lifetime": timedelta(0)},
        {"issuer": ""},
        {"token_id": ""},
        {"report_data": bytes(32)},
        {"manifest_digest": bytes(64)},
        {"nonce": bytes(7)},
        {"nonce": bytes(65)},
    ],
    ids=[
        "a naive now",
        "no lifetime",
        "no issuer",
        "an empty token id",
        "32-byte report data",
        "a 64-byte manifest digest",
        "a 7-byte nonce",
        "a 65-byte nonce",
    ],
)
def test_signing_refuses_bad_inputs(overrides: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        _sign(EDDSA_KEY, **overrides)


def test_verification_refuses_a_naive_now() -> None:
    with pytest.raises(ValueError):
        _verify(_sign(), now=f.NOW.replace(tzinfo=None))


@pytest.mark.parametrize(
    "private_key",
    [ec.generate_private_key(ec.SECP384R1()), ec.generate_private_key(ec.SECP521R1())],
    ids=["P-384", "P-521"],
)
def test_keys_of_other_curves_cannot_sign_tokens(private_key: ec.EllipticCurvePrivateKey) -> None:
    with pytest.raises(TokenAlgorithmError):
        TokenSigningKey(kid="k", private_key=private_key)


def test_an_empty_kid_is_refused() -> None:
    with pytest.raises(ValueError):
        TokenVerificationKey(kid="", public_key=ed25519.Ed25519PrivateKey.generate().public_key())
