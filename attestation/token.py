"""The attestation token (DESIGN §6.3): an Attestation Result signed as an EAR-shaped JWT.

Payload (JSON; binary values hex unless noted):

==========================  ==================================================================
claim                       value
==========================  ==================================================================
``iss``                     the gateway's issuer name
``iat`` / ``nbf`` / ``exp`` issue time, not-before (= ``iat``), expiry (NumericDate)
``jti``                     the token id (random, 128 bits)
``eat_profile``             ``tag:github.com,2023:veraison/ear`` (the EAR profile)
``eat_nonce``               the session nonce the Evidence answered (EAT's name for the nonce)
``ear.verifier-id``         ``{"developer": "ccgate", "build": <the Verifier's id>}``
``submods``                 ``cpu0``, ``gpu0…gpuN``: each ``{"ear.status", "ccgate.claims"}``, the
                            status from ``attestation.ear`` and the verified claims
``ccgate.report_data``      the 64-byte report data the CPU report carried
``ccgate.keys``             ``{"x25519", "ed25519"}``: the runner keys bound in it (base64)
``ccgate.manifest_digest``  SHA-256 of the job manifest
``ccgate.evidence_digest``  the digest of the Evidence bundle (``attestation.evidence``)
==========================  ==================================================================

Signing and verification are pure: keys and ``now`` are arguments. Verification checks, in this
order: the algorithm allow-list, the ``kid``, that the algorithm is the key's, the signature, the
issuer, the required claims, the times against ``now`` (pyjwt's own clock checks are switched off),
and then parses every claim into ``TokenClaims`` (no raw JSON leaves this module).
"""

import base64
import binascii
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

import jwt

from attestation.claims_reader import read_claims
from attestation.ear import EarStatus, cpu_status, gpu_status
from attestation.errors import (
    ClaimsDocumentError,
    TokenAlgorithmError,
    TokenError,
    TokenExpiredError,
    TokenIssuerError,
    TokenKeyUnknownError,
    TokenMalformedError,
    TokenNotYetValidError,
    TokenSignatureError,
)
from attestation.result import AttestationResult, CpuClaims, GpuClaims
from attestation.token_keys import TokenAlgorithm, TokenSigningKey, TokenVerificationKey

EAR_PROFILE: Final = "tag:github.com,2023:veraison/ear"
VERIFIER_DEVELOPER: Final = "ccgate"
DEFAULT_LIFETIME: Final = timedelta(minutes=10)
ALLOWED_ALGORITHMS: Final = frozenset(TokenAlgorithm)
REQUIRED_CLAIMS: Final = (
    "iss",
    "iat",
    "nbf",
    "exp",
    "jti",
    "eat_profile",
    "eat_nonce",
    "ear.verifier-id",
    "submods",
    "ccgate.report_data",
    "ccgate.keys",
    "ccgate.manifest_digest",
    "ccgate.evidence_digest",
)
# EAT (RFC 9711) nonces are 8 to 64 bytes; ccgate's session nonces are 32.
NONCE_SIZES: Final = range(8, 65)
_KEY_SIZE: Final = 32
_REPORT_DATA_SIZE: Final = 64
_DIGEST_SIZE: Final = 32
_EXACTLY_REPORT_DATA: Final = range(_REPORT_DATA_SIZE, _REPORT_DATA_SIZE + 1)
_EXACTLY_DIGEST: Final = range(_DIGEST_SIZE, _DIGEST_SIZE + 1)


@dataclass(frozen=True, slots=True)
class BoundKeys:
    """The runner's public keys that the report data binds (X25519 for sealing, Ed25519 for receipts).

    Raises:
        ValueError: a key that is not 32 bytes.
    """

    x25519: bytes
    ed25519: bytes

    def __post_init__(self) -> None:
        if len(self.x25519) != _KEY_SIZE or len(self.ed25519) != _KEY_SIZE:
            raise ValueError(f"bound public keys are {_KEY_SIZE} bytes each")


@dataclass(frozen=True, slots=True)
class CpuAppraisal:
    """``submods.cpu0``: the EAR status and the verified CPU claims."""

    status: EarStatus
    claims: CpuClaims


@dataclass(frozen=True, slots=True)
class GpuAppraisal:
    """``submods.gpuN``: the EAR status and the verified GPU claims."""

    status: EarStatus
    claims: GpuClaims


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """A verified attestation token's claims, typed."""

    key_id: str
    issuer: str
    token_id: str
    issued_at: datetime
    not_before: datetime
    expires_at: datetime
    profile: str
    nonce: bytes
    verifier_id: str
    cpu: CpuAppraisal
    gpus: tuple[GpuAppraisal, ...]
    report_data: bytes
    bound_keys: BoundKeys
    manifest_digest: bytes
    evidence_digest: str


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _submods(result: AttestationResult) -> dict[str, object]:
    claims = result.submods()
    documents: dict[str, object] = {
        "cpu0": {"ear.status": str(cpu_status(result.cpu)), "ccgate.claims": claims["cpu0"]}
    }
    for index, gpu in enumerate(result.gpus):
        name = f"gpu{index}"
        documents[name] = {"ear.status": str(gpu_status(gpu)), "ccgate.claims": claims[name]}
    return documents


def attestation_token_claims(
    result: AttestationResult,
    *,
    issuer: str,
    nonce: bytes,
    report_data: bytes,
    bound_keys: BoundKeys,
    manifest_digest: bytes,
    now: datetime,
    lifetime: timedelta = DEFAULT_LIFETIME,
    token_id: str | None = None,
) -> dict[str, object]:
    """The EAR-shaped payload of an attestation token, for a signer that holds its key elsewhere
    (the gateway's key vault, a KMS); ``sign_attestation_token`` signs it with a local key.

    Raises:
        ValueError: ``now`` is naive, the lifetime is not positive, the issuer or token id is empty, or
            ``report_data`` (64 bytes), ``manifest_digest`` (32 bytes) or ``nonce`` (8-64 bytes) has
            the wrong size.
    """
    if now.tzinfo is None:
        raise ValueError("now must be a timezone-aware datetime")
    if lifetime <= timedelta(0) or not issuer or token_id == "":
        raise ValueError("a token needs an issuer, a positive lifetime and a non-empty id")
    if len(report_data) != _REPORT_DATA_SIZE or len(manifest_digest) != _DIGEST_SIZE:
        raise ValueError("report data is 64 bytes and a manifest digest 32 bytes")
    if len(nonce) not in NONCE_SIZES:
        raise ValueError("an EAT nonce is 8 to 64 bytes")
    issued = int(now.timestamp())
    return {
        "iss": issuer,
        "iat": issued,
        "nbf": issued,
        "exp": int((now + lifetime).timestamp()),
        "jti": token_id if token_id is not None else secrets.token_hex(16),
        "eat_profile": EAR_PROFILE,
        "eat_nonce": nonce.hex(),
        "ear.verifier-id": {"developer": VERIFIER_DEVELOPER, "build": result.verifier_id},
        "submods": _submods(result),
        "ccgate.report_data": report_data.hex(),
        "ccgate.keys": {"x25519": _b64(bound_keys.x25519), "ed25519": _b64(bound_keys.ed25519)},
        "ccgate.manifest_digest": manifest_digest.hex(),
        "ccgate.evidence_digest": result.evidence_digest,
    }


def sign_attestation_token(
    result: AttestationResult,
    *,
    key: TokenSigningKey,
    issuer: str,
    nonce: bytes,
    report_data: bytes,
    bound_keys: BoundKeys,
    manifest_digest: bytes,
    now: datetime,
    lifetime: timedelta = DEFAULT_LIFETIME,
    token_id: str | None = None,
) -> str:
    """Sign ``result`` as an EAR-shaped JWT issued at ``now`` (an aware datetime), valid for ``lifetime``.

    ``token_id`` (the ``jti``) defaults to 128 random bits in hex; a caller that records the token
    (the release, the ledger) passes its own.

    Raises:
        ValueError: as ``attestation_token_claims``.
    """
    payload = attestation_token_claims(
        result,
        issuer=issuer,
        nonce=nonce,
        report_data=report_data,
        bound_keys=bound_keys,
        manifest_digest=manifest_digest,
        now=now,
        lifetime=lifetime,
        token_id=token_id,
    )
    return jwt.encode(
        payload, key.private_key, algorithm=str(key.algorithm), headers={"kid": key.kid, "typ": "JWT"}
    )


def _select_key(token: str, keys: Iterable[TokenVerificationKey]) -> TokenVerificationKey:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as exc:
        raise TokenMalformedError(f"not a usable JWS compact token: {exc}") from exc
    algorithm = header.get("alg")
    if algorithm not in ALLOWED_ALGORITHMS:
        raise TokenAlgorithmError(f"algorithm {algorithm!r} is not allowed; only EdDSA and ES256 are")
    if "crit" in header:
        # RFC 7515 §4.1.11: a recipient must reject critical extensions it does not understand (all).
        raise TokenMalformedError("the token declares critical header extensions")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise TokenKeyUnknownError("the token names no kid")
    known = {key.kid: key for key in keys}
    if kid not in known:
        raise TokenKeyUnknownError(f"no verification key has kid {kid!r}")
    key = known[kid]
    if key.algorithm != algorithm:
        raise TokenAlgorithmError(f"the token declares {algorithm} but key {kid!r} is {key.algorithm}")
    return key


def _numeric_date(payload: Mapping[str, object], name: str) -> datetime:
    value = payload.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise TokenMalformedError(f"{name!r} must be an integer NumericDate")
    return datetime.fromtimestamp(value, tz=UTC)


def verify_attestation_token(
    token: str,
    *,
    keys: Iterable[TokenVerificationKey],
    issuer: str,
    now: datetime,
    leeway: timedelta = timedelta(0),
) -> TokenClaims:
    """Verify an attestation token at ``now`` (an aware datetime) and return its typed claims.

    Raises:
        ValueError: ``now`` is naive.
        TokenMalformedError: not a JWT, critical headers, or a required claim missing or ill-typed.
        TokenAlgorithmError: ``alg`` not EdDSA/ES256 (``none``, HS256 ...) or not the named key's.
        TokenKeyUnknownError: no ``kid``, or one not among ``keys``.
        TokenSignatureError: the signature does not verify.
        TokenIssuerError: ``iss`` is not ``issuer``.
        TokenNotYetValidError: ``nbf`` or ``iat`` after ``now`` (beyond ``leeway``).
        TokenExpiredError: ``exp`` at or before ``now`` (beyond ``leeway``).
    """
    if now.tzinfo is None:
        raise ValueError("now must be a timezone-aware datetime")
    key = _select_key(token, keys)
    try:
        payload = jwt.decode(
            token,
            key.public_key,
            algorithms=[str(key.algorithm)],
            issuer=issuer,
            # The times are checked below against the caller's ``now``: the Verifier reads no clock.
            options={
                "verify_signature": True,
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_iss": True,
                "verify_aud": False,
                "require": list(REQUIRED_CLAIMS),
            },
        )
    except jwt.InvalidSignatureError as exc:
        raise TokenSignatureError("the token signature does not verify") from exc
    except jwt.InvalidIssuerError as exc:
        raise TokenIssuerError(f"the token was not issued by {issuer!r}") from exc
    except jwt.InvalidAlgorithmError as exc:
        raise TokenAlgorithmError(str(exc)) from exc
    except (jwt.MissingRequiredClaimError, jwt.DecodeError) as exc:
        raise TokenMalformedError(str(exc)) from exc
    except jwt.InvalidTokenError as exc:
        raise TokenError(str(exc)) from exc
    issued_at = _numeric_date(payload, "iat")
    not_before = _numeric_date(payload, "nbf")
    expires_at = _numeric_date(payload, "exp")
    if now + leeway < not_before or now + leeway < issued_at:
        raise TokenNotYetValidError(
            f"the token is not valid before {max(not_before, issued_at):%Y-%m-%dT%H:%M:%SZ}"
        )
    if now - leeway >= expires_at:
        raise TokenExpiredError(f"the token expired at {expires_at:%Y-%m-%dT%H:%M:%SZ}")
    try:
        return _parse(payload, key.kid, issued_at, not_before, expires_at)
    except ClaimsDocumentError as exc:
        raise TokenMalformedError(f"the token's claims do not parse: {exc}") from exc


def _text(payload: Mapping[str, object], name: str) -> str:
    value = payload.get(name)
    if not isinstance(value, str):
        raise TokenMalformedError(f"{name!r} must be a string")
    return value


def _object(value: object, name: str) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise TokenMalformedError(f"{name!r} must be an object")
    return value


def _hex(payload: Mapping[str, object], name: str, sizes: range) -> bytes:
    try:
        value = bytes.fromhex(_text(payload, name))
    except ValueError as exc:
        raise TokenMalformedError(f"{name!r} must be hex") from exc
    if len(value) not in sizes:
        raise TokenMalformedError(f"{name!r} has the wrong size ({len(value)} bytes)")
    return value


def _base64_key(keys: Mapping[str, object], name: str) -> bytes:
    try:
        value = base64.b64decode(_text(keys, name), validate=True)
    except (ValueError, binascii.Error) as exc:
        raise TokenMalformedError(f"'ccgate.keys.{name}' must be base64") from exc
    if len(value) != _KEY_SIZE:
        raise TokenMalformedError(f"'ccgate.keys.{name}' must be {_KEY_SIZE} bytes")
    return value


def _status(submod: Mapping[str, object], name: str) -> EarStatus:
    try:
        return EarStatus(_text(submod, "ear.status"))
    except ValueError as exc:
        raise TokenMalformedError(f"submods.{name}: unknown ear.status") from exc


def _parse(
    payload: Mapping[str, object], kid: str, issued_at: datetime, not_before: datetime, expires_at: datetime
) -> TokenClaims:
    if payload.get("eat_profile") != EAR_PROFILE:
        raise TokenMalformedError(f"eat_profile must be {EAR_PROFILE!r}")
    verifier = _object(payload.get("ear.verifier-id"), "ear.verifier-id")
    submods = _object(payload.get("submods"), "submods")
    gpu_names = [f"gpu{index}" for index in range(len(submods) - 1)]
    if set(submods) != {"cpu0", *gpu_names}:
        raise TokenMalformedError("submods must be exactly cpu0 and gpu0…gpuN")
    cpu = _object(submods["cpu0"], "submods.cpu0")
    gpus = [_object(submods[name], f"submods.{name}") for name in gpu_names]
    bound = _object(payload.get("ccgate.keys"), "ccgate.keys")
    return TokenClaims(
        key_id=kid,
        issuer=_text(payload, "iss"),
        token_id=_text(payload, "jti"),
        issued_at=issued_at,
        not_before=not_before,
        expires_at=expires_at,
        profile=EAR_PROFILE,
        nonce=_hex(payload, "eat_nonce", NONCE_SIZES),
        verifier_id=_text(verifier, "build"),
        cpu=CpuAppraisal(_status(cpu, "cpu0"), read_claims(CpuClaims, cpu.get("ccgate.claims"), "cpu0")),
        gpus=tuple(
            GpuAppraisal(_status(gpu, name), read_claims(GpuClaims, gpu.get("ccgate.claims"), name))
            for name, gpu in zip(gpu_names, gpus, strict=True)
        ),
        report_data=_hex(payload, "ccgate.report_data", _EXACTLY_REPORT_DATA),
        bound_keys=BoundKeys(x25519=_base64_key(bound, "x25519"), ed25519=_base64_key(bound, "ed25519")),
        manifest_digest=_hex(payload, "ccgate.manifest_digest", _EXACTLY_DIGEST),
        evidence_digest=_text(payload, "ccgate.evidence_digest"),
    )
