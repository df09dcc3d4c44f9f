"""The keys that sign and verify attestation tokens, and their JWKS form (``/.well-known/jwks.json``).

Two algorithms only: EdDSA over Ed25519 (the default) and ES256 over P-256. A key's algorithm
follows from its type, and verification accepts a token only in its key's algorithm, so a token
cannot choose how it is checked (no ``none``, no HMAC keyed with a public key). Keys are passed in:
the gateway loads them; nothing here touches a file.
"""

import base64
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeAlias, cast

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from jwt.algorithms import ECAlgorithm, OKPAlgorithm

from attestation.canonical import JsonValue, canonical_json
from attestation.errors import TokenAlgorithmError, TokenMalformedError

TokenPrivateKey: TypeAlias = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
TokenPublicKey: TypeAlias = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey


class TokenAlgorithm(StrEnum):
    """The JWS algorithms an attestation token may use."""

    EDDSA = "EdDSA"
    ES256 = "ES256"


def algorithm_of(key: TokenPublicKey | TokenPrivateKey) -> TokenAlgorithm:
    """The one algorithm a key signs or verifies with.

    Raises:
        TokenAlgorithmError: an elliptic-curve key that is not P-256, or another key type.
    """
    if isinstance(key, ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey):
        return TokenAlgorithm.EDDSA
    # A key of another type (RSA, P-384) may arrive at run time despite the annotation; refuse it too.
    if isinstance(getattr(key, "curve", None), ec.SECP256R1):
        return TokenAlgorithm.ES256
    raise TokenAlgorithmError("attestation tokens are signed with Ed25519 (EdDSA) or P-256 (ES256) keys")


def _public_jwk(public_key: TokenPublicKey) -> dict[str, str]:
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        document = OKPAlgorithm.to_jwk(public_key, as_dict=True)
    else:
        document = ECAlgorithm.to_jwk(public_key, as_dict=True)
    return {name: str(value) for name, value in document.items()}


def jwk_thumbprint(public_key: TokenPublicKey) -> str:
    """The RFC 7638 JWK thumbprint (SHA-256, base64url): a stable key id derived from the key."""
    document = _public_jwk(public_key)
    required = ("crv", "kty", "x") if document["kty"] == "OKP" else ("crv", "kty", "x", "y")
    members: dict[str, JsonValue] = {name: document[name] for name in required}
    # RFC 7638 hashes the required members in lexicographic order without whitespace: canonical JSON.
    digest = hashlib.sha256(canonical_json(members)).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True, slots=True)
class TokenVerificationKey:
    """A public key that verifies tokens carrying its ``kid``.

    Raises:
        TokenAlgorithmError: the key is neither Ed25519 nor P-256.
        ValueError: the ``kid`` is empty.
    """

    kid: str
    public_key: TokenPublicKey

    def __post_init__(self) -> None:
        if not self.kid:
            raise ValueError("a token key needs a non-empty kid")
        algorithm_of(self.public_key)

    @property
    def algorithm(self) -> TokenAlgorithm:
        """The algorithm tokens under this key must declare."""
        return algorithm_of(self.public_key)

    def to_jwk(self) -> dict[str, str]:
        """The public JWK, with ``kid``, ``alg`` and ``use``."""
        return {**_public_jwk(self.public_key), "kid": self.kid, "alg": str(self.algorithm), "use": "sig"}


@dataclass(frozen=True, slots=True)
class TokenSigningKey:
    """A private key that signs tokens under its ``kid``. ``generate`` makes a fresh one.

    Raises:
        TokenAlgorithmError: the key is neither Ed25519 nor P-256.
        ValueError: the ``kid`` is empty.
    """

    kid: str
    private_key: TokenPrivateKey = field(repr=False)

    def __post_init__(self) -> None:
        if not self.kid:
            raise ValueError("a token key needs a non-empty kid")
        algorithm_of(self.private_key)

    @classmethod
    def generate(cls, algorithm: TokenAlgorithm = TokenAlgorithm.EDDSA) -> "TokenSigningKey":
        """A fresh key whose ``kid`` is its RFC 7638 thumbprint."""
        private_key: TokenPrivateKey = (
            ed25519.Ed25519PrivateKey.generate()
            if algorithm is TokenAlgorithm.EDDSA
            else ec.generate_private_key(ec.SECP256R1())
        )
        return cls(kid=jwk_thumbprint(private_key.public_key()), private_key=private_key)

    @property
    def algorithm(self) -> TokenAlgorithm:
        """The algorithm this key signs with."""
        return algorithm_of(self.private_key)

    def verification_key(self) -> TokenVerificationKey:
        """The public half, under the same ``kid``."""
        return TokenVerificationKey(kid=self.kid, public_key=self.private_key.public_key())


def jwks(keys: Iterable[TokenVerificationKey]) -> dict[str, list[dict[str, str]]]:
    """The JWK Set document that publishes ``keys``.

    Raises:
        ValueError: two keys share a ``kid``.
    """
    documents = [key.to_jwk() for key in keys]
    kids = [document["kid"] for document in documents]
    if len(set(kids)) != len(kids):
        raise ValueError("every key in a JWK Set needs its own kid")
    return {"keys": documents}


def keys_from_jwks(document: Mapping[str, object]) -> tuple[TokenVerificationKey, ...]:
    """Parse a JWK Set into verification keys (e.g. to check a token offline).

    Raises:
        TokenMalformedError: not a JWK Set, a key without ``kid``, a key pyjwt cannot load, or an
            ``alg`` member that is not the key's own algorithm.
        TokenAlgorithmError: a key that is neither Ed25519 nor P-256.
    """
    entries = document.get("keys")
    if not isinstance(entries, list):
        raise TokenMalformedError("a JWK Set has a 'keys' list")
    keys = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
            raise TokenMalformedError("every key in the JWK Set needs a string kid")
        try:
            loaded = jwt.PyJWK(entry).key
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError) as exc:
            raise TokenMalformedError(f"key {entry['kid']!r} cannot be loaded: {exc}") from exc
        if not isinstance(loaded, ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey):
            raise TokenAlgorithmError(f"key {entry['kid']!r} is not an Ed25519 or P-256 public key")
        key = TokenVerificationKey(kid=cast(str, entry["kid"]), public_key=loaded)
        if "alg" in entry and entry["alg"] != key.algorithm:
            raise TokenMalformedError(f"key {key.kid!r} declares alg {entry['alg']!r}, not {key.algorithm}")
        keys.append(key)
    return tuple(keys)
