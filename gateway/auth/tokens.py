"""API tokens: EdDSA JWTs signed by the gateway's token key, checked against the ``jti`` deny-list.

Claims: ``iss`` (the gateway's public URL), ``aud`` (``ccgate-api``), ``sub`` (a principal or node
id), ``tenant``, ``roles``, ``jti``, ``iat``, ``nbf``, ``exp``. Verification pins the algorithm to
EdDSA (so ``alg: none`` and HMAC-with-the-public-key tricks fail), looks the ``kid`` up among the
gateway's own keys, and then requires the ``jti`` to be a token the gateway issued and has not
revoked. Tokens are never logged; the ``jti`` is what logs and the ledger name.

Every request looks its token up and the release path issues one, so both use a prebuilt Core
statement instead of the ORM: the deny-list is read on every call, never cached, and costs a
fraction of a millisecond. What is remembered is only the signature check, a pure function of the
token and the key: a runner sends the same token with every request of a release, and pyjwt's
decoding and the EdDSA check cost more than the deny-list read. The memo is keyed by the token's
SHA-256 (a credential is not kept as a key), holds the kid and the public key that verified it,
and is used only while the vault still holds that key; expiry and the deny-list are checked on
every call.
"""

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, bindparam, insert, select
from sqlalchemy.orm import Session

from attestation.nvidia.memo import BoundedMemo
from gateway.auth.permissions import Caller
from gateway.clock import Clock
from gateway.domain import Role, TenantId, new_id
from gateway.errors import TokenExpiredError, TokenInvalidError, TokenRevokedError
from gateway.keyvault import JWT_ALGORITHM, KeyVault, SigningPurpose
from gateway.storage.schema import ApiToken, core_table

AUDIENCE: Final = "ccgate-api"
REQUIRED_CLAIMS: Final = ("iss", "aud", "sub", "tenant", "roles", "jti", "iat", "exp")

_TOKENS: Final = core_table(ApiToken)
_INSERT_TOKEN: Final = insert(_TOKENS)
_TOKEN_BY_JTI: Final = select(
    _TOKENS.c.jti, _TOKENS.c.subject, _TOKENS.c.tenant_id, _TOKENS.c.roles, _TOKENS.c.revoked_at
).where(_TOKENS.c.jti == bindparam("jti"))
# Enough for every token in use at once (each runner and principal holds one or two).
SIGNATURE_MEMO_ENTRIES: Final = 4096


@dataclass(frozen=True, slots=True)
class _VerifiedSignature:
    """A token whose signature verified: under which kid and key, and its claims."""

    kid: str
    key: bytes
    claims: dict[str, object]


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A freshly signed token. ``token`` is a credential: show it once, never log it."""

    token: str
    jti: str
    expires_at: datetime

    def __repr__(self) -> str:
        # The token itself must never reach a log line through a repr.
        return f"IssuedToken(jti={self.jti!r}, expires_at={self.expires_at.isoformat()})"


class TokenService:
    """Issues and verifies API tokens."""

    def __init__(self, vault: KeyVault, clock: Clock, issuer: str) -> None:
        self._vault = vault
        self._clock = clock
        self._issuer = issuer
        self._signatures: BoundedMemo[bytes, _VerifiedSignature] = BoundedMemo(SIGNATURE_MEMO_ENTRIES)

    def issue(
        self, session: Session, subject: str, tenant: str, roles: Sequence[Role], ttl: timedelta
    ) -> IssuedToken:
        """Sign a token and record its ``jti`` (in the caller's transaction)."""
        now = self._clock.now().replace(microsecond=0)
        expires = now + ttl
        jti = new_id("tok")
        role_names = sorted(str(role) for role in roles)
        claims = {
            "iss": self._issuer,
            "aud": AUDIENCE,
            "sub": subject,
            "tenant": tenant,
            "roles": role_names,
            "jti": jti,
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int(expires.timestamp()),
        }
        token = self._vault.sign_jwt(SigningPurpose.API_TOKEN, claims)
        # Pending rows this token refers to (a new principal's tenant) are flushed first; the insert
        # goes to the connection, which skips the ORM's execution path.
        session.flush()
        session.connection().execute(
            _INSERT_TOKEN,
            {
                "jti": jti,
                "subject": subject,
                "tenant_id": tenant,
                "roles": role_names,
                "issued_at": now,
                "expires_at": expires,
                "revoked_at": None,
            },
        )
        return IssuedToken(token, jti, expires)

    def authenticate(self, session: Session | Connection, token: str) -> Caller:
        """Verify a bearer token and return the caller.

        Raises:
            TokenInvalidError: malformed, another algorithm, unknown key, bad signature, wrong
                audience or issuer, missing claims, or a ``jti`` the gateway never issued.
            TokenExpiredError: ``exp`` has passed.
            TokenRevokedError: the ``jti`` is on the deny-list.
        """
        claims = self._verify_signature(token)
        connection = session if isinstance(session, Connection) else session.connection()
        row = connection.execute(_TOKEN_BY_JTI, {"jti": str(claims["jti"])}).one_or_none()
        if row is None or row.subject != claims["sub"] or row.tenant_id != claims["tenant"]:
            raise TokenInvalidError("the token was not issued by this gateway")
        if row.revoked_at is not None:
            raise TokenRevokedError("the token has been revoked")
        try:
            roles = frozenset(Role(role) for role in row.roles)
        except ValueError as exc:
            raise TokenInvalidError("the token names an unknown role") from exc
        return Caller(str(claims["sub"]), TenantId(str(claims["tenant"])), roles, row.jti)

    def _verify_signature(self, token: str) -> dict[str, object]:
        keys = self._vault.verification_keys(SigningPurpose.API_TOKEN)
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        verified = self._signatures.get(digest)
        held = None if verified is None else keys.get(verified.kid)
        if verified is None or held is None or held.public_bytes_raw() != verified.key:
            verified = self._decode(token, keys)
            self._signatures.put(digest, verified)
        claims = verified.claims
        now = self._clock.now().timestamp()
        exp, nbf = claims["exp"], claims.get("nbf", claims["iat"])
        if not isinstance(exp, int) or not isinstance(nbf, int):
            raise TokenInvalidError("the token's exp and nbf must be integers")
        if exp <= now:
            raise TokenExpiredError("the token has expired")
        if nbf > now:
            raise TokenInvalidError("the token is not valid yet")
        return claims

    def _decode(self, token: str, keys: Mapping[str, Ed25519PublicKey]) -> _VerifiedSignature:
        """Check the token's algorithm, kid, signature, audience, issuer and required claims."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise TokenInvalidError("the bearer token is not a JWT") from exc
        if header.get("alg") != JWT_ALGORITHM:
            raise TokenInvalidError(
                f"tokens are signed with {JWT_ALGORITHM}; this one says {header.get('alg')!r}"
            )
        kid = str(header.get("kid"))
        key = keys.get(kid)
        if key is None:
            raise TokenInvalidError("the token is signed by a key this gateway does not hold")
        try:
            claims: dict[str, object] = jwt.decode(
                token,
                key,
                algorithms=[JWT_ALGORITHM],
                audience=AUDIENCE,
                issuer=self._issuer,
                # pyjwt would compare times with the machine clock; the gateway's clock decides.
                options={
                    "require": list(REQUIRED_CLAIMS),
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise TokenInvalidError(f"the token does not verify: {type(exc).__name__}") from exc
        return _VerifiedSignature(kid, key.public_bytes_raw(), claims)

    def revoke(self, session: Session, jti: str) -> ApiToken | None:
        """Put a token on the deny-list; return its row (None when no such token)."""
        row = session.get(ApiToken, jti)
        if row is not None and row.revoked_at is None:
            row.revoked_at = self._clock.now()
        return row
