"""The token service remembers signature checks, never the decisions that depend on time or state.

A token verified once is checked again for expiry against the clock, for revocation against the
deny-list and for its key against the vault's current keys on every call.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import cast

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gateway.auth.tokens import TokenService
from gateway.domain import Role
from gateway.errors import TokenExpiredError, TokenInvalidError, TokenRevokedError
from gateway.keyvault import KeyVault, SigningPurpose
from tests.gateway.world import World

ISSUER = "https://gateway.test"


@dataclass
class SteppedClock:
    """A clock the test moves by hand."""

    current: datetime = field(default_factory=lambda: datetime(2026, 11, 27, 12, 0, tzinfo=UTC))

    def now(self) -> datetime:
        return self.current


@dataclass
class RotatingVault:
    """The two vault members tokens use, with a key the test can replace."""

    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)

    @property
    def kid(self) -> str:
        return "k-" + self.key.public_key().public_bytes_raw().hex()[:16]

    def sign_jwt(self, purpose: SigningPurpose, claims: Mapping[str, object]) -> str:
        return jwt.encode(dict(claims), self.key, algorithm="EdDSA", headers={"kid": self.kid})

    def verification_keys(self, purpose: SigningPurpose) -> Mapping[str, Ed25519PublicKey]:
        return {self.kid: self.key.public_key()}


def _service(vault: RotatingVault, clock: SteppedClock) -> TokenService:
    # The fake implements only what TokenService calls of the vault.
    return TokenService(cast(KeyVault, vault), clock, ISSUER)


def _authenticate(world: World, tokens: TokenService, token: str) -> str:
    with world.services.db.read() as session:
        return tokens.authenticate(session, token).subject


def _issue(world: World, tokens: TokenService, ttl: timedelta = timedelta(minutes=10)) -> tuple[str, str]:
    with world.services.db.transaction() as session:
        issued = tokens.issue(session, "prn_" + "7" * 32, world.acme.tenant_id, [Role.OWNER], ttl)
    return issued.token, issued.jti


def test_a_remembered_token_still_expires_on_the_clock(world: World) -> None:
    clock = SteppedClock()
    tokens = _service(RotatingVault(), clock)
    token, _ = _issue(world, tokens)
    assert _authenticate(world, tokens, token) == "prn_" + "7" * 32
    clock.current += timedelta(minutes=11)
    with pytest.raises(TokenExpiredError):
        _authenticate(world, tokens, token)


def test_a_remembered_token_stops_working_when_its_key_is_no_longer_held(world: World) -> None:
    vault, clock = RotatingVault(), SteppedClock()
    tokens = _service(vault, clock)
    token, _ = _issue(world, tokens)
    assert _authenticate(world, tokens, token)
    vault.key = Ed25519PrivateKey.generate()
    with pytest.raises(TokenInvalidError, match="key this gateway does not hold"):
        _authenticate(world, tokens, token)


def test_a_remembered_token_is_refused_once_revoked(world: World) -> None:
    tokens = _service(RotatingVault(), SteppedClock())
    token, jti = _issue(world, tokens)
    assert _authenticate(world, tokens, token)
    with world.services.db.transaction() as session:
        assert tokens.revoke(session, jti) is not None
    with pytest.raises(TokenRevokedError):
        _authenticate(world, tokens, token)


def test_a_token_differing_from_a_remembered_one_is_verified_afresh(world: World) -> None:
    tokens = _service(RotatingVault(), SteppedClock())
    token, _ = _issue(world, tokens)
    assert _authenticate(world, tokens, token)
    header, payload, signature = token.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    with pytest.raises(TokenInvalidError, match="does not verify"):
        _authenticate(world, tokens, f"{header}.{payload}.{flipped}")
