"""Attestation Results from NVIDIA's Remote Attestation Service (NRAS): the detached EAT, offline.

ccgate verifies GPU Evidence itself and never needs NRAS. But a Relying Party may be handed an NRAS
result (a runner that used NRAS, an audit of an older deployment) and must then judge it like any
other Attestation Result: by its signatures under NRAS's published keys, its nonce and its validity
window at a pinned ``now``, not by its ``x-nvidia-overall-att-result`` alone.

NRAS answers with a detached EAT, a JSON array ``[["JWT", <overall>], {"GPU-0": <gpu>, ...}]``. The
overall token's ``submods`` name every GPU token by the SHA-256 of its compact form
(``["DIGEST", ["SHA-256", <hex>]]``), so the GPU tokens are bound to the overall one, and each is
also signed on its own. Every token is ES384 with a ``kid`` from NRAS's JWKS.

``parse_nras_eat`` checks only the structure and the digests (nothing it returns is trusted);
``verify_nras_eat`` does everything and returns the typed result. The keys are passed in: nothing
here fetches NRAS's JWKS.
"""

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import jwt
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

NRAS_ISSUER: Final = "https://nras.attestation.nvidia.com"
NRAS_ALGORITHM: Final = "ES384"
_MAX_DOCUMENT_BYTES: Final = 1 << 20


@dataclass(frozen=True, slots=True)
class NrasToken:
    """One compact JWS of the EAT, with its header and payload as sent (not yet trusted)."""

    compact: str
    header: Mapping[str, object]
    payload: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class NrasEat:
    """A structurally valid detached EAT: the overall token and the GPU tokens its submods name."""

    overall: NrasToken
    gpus: Mapping[str, NrasToken]


@dataclass(frozen=True, slots=True)
class NrasGpuResult:
    """NRAS's verdict on one GPU, in NVIDIA's v3 claim names."""

    name: str
    measurement_result: str
    secure_boot: bool | None
    debug_status: str | None
    driver_version: str | None
    vbios_version: str | None
    ueid: str | None
    hardware_model: str | None
    oem_id: str | None


@dataclass(frozen=True, slots=True)
class NrasResult:
    """A verified NRAS Attestation Result."""

    overall_result: bool
    issuer: str
    nonce: bytes
    key_id: str
    issued_at: datetime
    expires_at: datetime
    gpus: tuple[NrasGpuResult, ...]


def _token(compact: object, what: str) -> NrasToken:
    if not isinstance(compact, str):
        raise TokenMalformedError(f"the {what} token is not a string")
    try:
        header = jwt.get_unverified_header(compact)
        payload = jwt.decode(compact, options={"verify_signature": False})
    except jwt.InvalidTokenError as exc:
        raise TokenMalformedError(f"the {what} token is not a JWS compact token: {exc}") from exc
    return NrasToken(compact, header, payload)


def _submod_digest(name: str, value: object) -> bytes:
    if (
        isinstance(value, list)
        and len(value) == 2
        and value[0] == "DIGEST"
        and isinstance(value[1], list)
        and len(value[1]) == 2
        and value[1][0] == "SHA-256"
        and isinstance(value[1][1], str)
    ):
        try:
            digest = bytes.fromhex(value[1][1])
        except ValueError:
            digest = b""
        if len(digest) == hashlib.sha256().digest_size:
            return digest
    raise TokenMalformedError(f"submod {name!r} is not a SHA-256 DIGEST reference")


def parse_nras_eat(document: bytes) -> NrasEat:
    """Parse a detached EAT and check that the overall token's submods are exactly its GPU tokens.

    Nothing returned is trusted yet: no signature, time, issuer or nonce has been checked.

    Raises:
        TokenMalformedError: not the detached-EAT shape, a token that is not a JWS, or a submod
            that is not a SHA-256 digest reference.
        NrasSubmodDigestError: the GPU tokens are not the ones the overall token names (a digest
            differs, or one is missing or extra).
    """
    if len(document) > _MAX_DOCUMENT_BYTES:
        raise TokenMalformedError(f"the EAT is larger than {_MAX_DOCUMENT_BYTES} bytes")
    try:
        parsed = json.loads(document)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TokenMalformedError(f"the EAT is not JSON: {exc}") from exc
    if (
        not isinstance(parsed, list)
        or len(parsed) != 2
        or not isinstance(parsed[0], list)
        or len(parsed[0]) != 2
        or parsed[0][0] != "JWT"
        or not isinstance(parsed[1], dict)
    ):
        raise TokenMalformedError('the EAT is not [["JWT", <token>], {<submod>: <token>}]')
    overall = _token(parsed[0][1], "overall")
    gpus = {str(name): _token(compact, str(name)) for name, compact in parsed[1].items()}
    submods = overall.payload.get("submods")
    if not isinstance(submods, dict):
        raise TokenMalformedError("the overall token has no submods object")
    named = {str(name): _submod_digest(str(name), value) for name, value in submods.items()}
    if set(named) != set(gpus):
        raise NrasSubmodDigestError(
            f"the overall token names submods {sorted(named)} but the EAT carries {sorted(gpus)}"
        )
    for name, token in gpus.items():
        actual = hashlib.sha256(token.compact.encode("ascii")).digest()
        if not hmac.compare_digest(actual, named[name]):
            raise NrasSubmodDigestError(f"the {name} token is not the one the overall token names")
    return NrasEat(overall, gpus)


def _verify_signature(token: NrasToken, what: str, keys: Mapping[str, ec.EllipticCurvePublicKey]) -> str:
    algorithm = token.header.get("alg")
    if algorithm != NRAS_ALGORITHM:
        raise TokenAlgorithmError(f"the {what} token is {algorithm!r}; NRAS signs with {NRAS_ALGORITHM}")
    if "crit" in token.header:
        raise TokenMalformedError(f"the {what} token declares critical header extensions")
    kid = token.header.get("kid")
    if not isinstance(kid, str) or kid not in keys:
        raise TokenKeyUnknownError(f"no NRAS key has kid {kid!r} (pass NRAS's JWKS)")
    key = keys[kid]
    if not isinstance(key.curve, ec.SECP384R1):
        raise TokenAlgorithmError(f"NRAS key {kid!r} is not a P-384 key")
    try:
        jwt.decode(
            token.compact,
            key,
            algorithms=[NRAS_ALGORITHM],
            # Times, issuer and nonce are checked by the caller against its own ``now`` and inputs.
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False, "verify_aud": False},
        )
    except jwt.InvalidSignatureError as exc:
        raise TokenSignatureError(f"the {what} token's signature does not verify") from exc
    except jwt.InvalidTokenError as exc:
        raise TokenMalformedError(f"the {what} token does not decode: {exc}") from exc
    return kid


def _date(payload: Mapping[str, object], name: str) -> datetime:
    value = payload.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise TokenMalformedError(f"{name!r} must be an integer NumericDate")
    return datetime.fromtimestamp(value, tz=UTC)


def _optional_text(payload: Mapping[str, object], name: str) -> str | None:
    value = payload.get(name)
    return value if isinstance(value, str) else None


def _gpu_result(name: str, payload: Mapping[str, object]) -> NrasGpuResult:
    measurement = payload.get("measres")
    if not isinstance(measurement, str):
        raise TokenMalformedError(f"the {name} token has no measres claim")
    secure_boot = payload.get("secboot")
    return NrasGpuResult(
        name=name,
        measurement_result=measurement,
        secure_boot=secure_boot if isinstance(secure_boot, bool) else None,
        debug_status=_optional_text(payload, "dbgstat"),
        driver_version=_optional_text(payload, "x-nvidia-gpu-driver-version"),
        vbios_version=_optional_text(payload, "x-nvidia-gpu-vbios-version"),
        ueid=_optional_text(payload, "ueid"),
        hardware_model=_optional_text(payload, "hwmodel"),
        oem_id=_optional_text(payload, "oemid"),
    )


def verify_nras_eat(
    document: bytes,
    *,
    keys: Mapping[str, ec.EllipticCurvePublicKey],
    expected_nonce: bytes,
    now: datetime,
    issuer: str = NRAS_ISSUER,
) -> NrasResult:
    """Verify an NRAS detached EAT at ``now`` and return NRAS's typed verdicts.

    ``keys`` maps NRAS key ids to their P-384 public keys (from NRAS's JWKS, kept as collateral).
    A false ``overall_result`` or a GPU ``measurement_result`` other than ``success`` is returned,
    not raised: it is NRAS's verdict, and a release policy decides what it means.

    Raises:
        ValueError: ``now`` is naive.
        TokenMalformedError, NrasSubmodDigestError: see ``parse_nras_eat``; or a claim is missing.
        TokenAlgorithmError: a token is not ES384, or its key is not P-384.
        TokenKeyUnknownError: a token's ``kid`` is not among ``keys``.
        TokenSignatureError: a signature does not verify.
        TokenIssuerError: the overall token's ``iss`` is not ``issuer``.
        TokenNotYetValidError, TokenExpiredError: ``now`` is outside the overall token's window.
        NonceMismatchError: ``eat_nonce`` is not ``expected_nonce``.
    """
    if now.tzinfo is None:
        raise ValueError("now must be a timezone-aware datetime")
    eat = parse_nras_eat(document)
    kid = _verify_signature(eat.overall, "overall", keys)
    for name, token in eat.gpus.items():
        _verify_signature(token, name, keys)
    payload = eat.overall.payload
    if payload.get("iss") != issuer:
        raise TokenIssuerError(f"the EAT was issued by {payload.get('iss')!r}, not {issuer!r}")
    issued_at, not_before, expires_at = (_date(payload, name) for name in ("iat", "nbf", "exp"))
    if now < not_before or now < issued_at:
        raise TokenNotYetValidError(
            f"the EAT is not valid before {max(not_before, issued_at):%Y-%m-%dT%H:%M:%SZ}"
        )
    if now >= expires_at:
        raise TokenExpiredError(f"the EAT expired at {expires_at:%Y-%m-%dT%H:%M:%SZ}")
    nonce = payload.get("eat_nonce")
    if not isinstance(nonce, str) or not hmac.compare_digest(nonce.lower(), expected_nonce.hex()):
        raise NonceMismatchError("the EAT's eat_nonce is not the expected nonce")
    overall = payload.get("x-nvidia-overall-att-result")
    if not isinstance(overall, bool):
        raise TokenMalformedError("the overall token has no boolean x-nvidia-overall-att-result")
    return NrasResult(
        overall_result=overall,
        issuer=issuer,
        nonce=expected_nonce,
        key_id=kid,
        issued_at=issued_at,
        expires_at=expires_at,
        gpus=tuple(_gpu_result(name, token.payload) for name, token in sorted(eat.gpus.items())),
    )


def nras_keys_from_jwks(document: bytes) -> dict[str, ec.EllipticCurvePublicKey]:
    """The P-384 keys of a JWKS document (NRAS's ``/.well-known/jwks.json``), by ``kid``.

    Raises:
        TokenMalformedError: not a JWKS, or a key that is not a P-384 EC key with a ``kid``.
    """
    try:
        parsed = json.loads(document)
        entries = parsed["keys"]
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise TokenMalformedError(f"not a JWKS document: {exc}") from exc
    if not isinstance(entries, list):
        raise TokenMalformedError("the JWKS 'keys' member is not a list")
    keys: dict[str, ec.EllipticCurvePublicKey] = {}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
            raise TokenMalformedError("a JWKS key has no kid")
        if entry.get("kty") != "EC" or entry.get("crv") != "P-384":
            continue  # NRAS signs with P-384; other keys in a shared set are not NRAS keys.
        try:
            key = jwt.algorithms.ECAlgorithm.from_jwk(json.dumps(entry))
        except (jwt.InvalidKeyError, ValueError) as exc:
            raise TokenMalformedError(f"JWKS key {entry['kid']!r} does not parse: {exc}") from exc
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise TokenMalformedError(f"JWKS key {entry['kid']!r} is not a public key")
        keys[entry["kid"]] = key
    return keys
