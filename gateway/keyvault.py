"""The gateway's private keys, behind one interface a KMS or HSM backend can implement (DESIGN §6.2).

Four kinds of key:

* key-encryption keys (KEKs, X25519): owners seal data keys to the current KEK's public half; the
  gateway opens a sealed key only to check a deposit, to re-seal it at rotation, or to release it;
* the API token key (Ed25519, ``kid``): signs principals' and nodes' JWTs;
* the attestation token key (Ed25519, ``kid``): signs attestation tokens (DESIGN §6.3);
* the ledger key (Ed25519): signs tree heads.

``FileKeyVault`` keeps each as raw bytes in its own 0600 file under ``data_dir/keys`` (0700),
generated on first start and refused when group or others can read it. Private keys never leave
this module except a data key returned by ``open_data_key``, which callers drop as soon as they
are done with it. Which KEK is *current* is recorded in the database, not here, so that several
gateway replicas sharing the key directory agree.
"""

import base64
import contextlib
import hashlib
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Final, Protocol

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from enclave_runner.protocol.sealing import (
    SealContext,
    generate_x25519,
    open_data_key,
    seal_data_key,
    x25519_public_from_private,
)
from gateway.errors import KeyFileError
from gateway.keyfiles import read_key_file, write_key_file

ED25519_SEED_SIZE: Final = 32
X25519_KEY_SIZE: Final = 32
JWT_ALGORITHM: Final = "EdDSA"


class SigningPurpose(StrEnum):
    """Which Ed25519 key signs a JWT: never one key for two purposes."""

    API_TOKEN = "api-token"  # noqa: S105 - a purpose name, not a secret.
    ATTESTATION_TOKEN = "attestation-token"  # noqa: S105 - a purpose name, not a secret.


# The ledger key signs tree heads, not JWTs; the JWKS publishes it under this purpose so that a
# Relying Party can pin every gateway key from one document and still tell them apart.
LEDGER_KEY_PURPOSE: Final = "ledger"


@dataclass(frozen=True, slots=True)
class PublicSigningKey:
    """The public half of a signing key, with its key id."""

    kid: str
    public: bytes

    def as_jwk(self, purpose: str) -> dict[str, str]:
        """RFC 8037 OKP JWK."""
        x = base64.urlsafe_b64encode(self.public).rstrip(b"=").decode("ascii")
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "alg": JWT_ALGORITHM,
            "use": "sig",
            "kid": self.kid,
            "x": x,
            "ccgate_purpose": str(purpose),
        }


def key_id(public: bytes, prefix: str = "") -> str:
    """A key's id: ``prefix`` then the first 32 hex digits of the SHA-256 of its raw public key."""
    return f"{prefix}{hashlib.sha256(public).hexdigest()[:32]}"


class KeyVault(Protocol):
    """What the gateway asks of its key custody. A KMS/HSM backend implements the same calls."""

    def create_kek(self) -> str:
        """Generate a new KEK; return its id (the caller records it as current)."""
        ...

    def kek_public(self, kek_id: str) -> bytes:
        """The 32-byte X25519 public key of a KEK."""
        ...

    def open_data_key(self, kek_id: str, sealed: bytes, context: SealContext) -> bytes:
        """Open a data key sealed to ``kek_id`` and check its context; the caller drops it after use."""
        ...

    def reseal(
        self, kek_id: str, sealed: bytes, context: SealContext, recipient: bytes, new_context: SealContext
    ) -> bytes:
        """Open a sealed data key and seal it to ``recipient`` under ``new_context`` in one step."""
        ...

    def destroy_kek(self, kek_id: str) -> None:
        """Destroy a retired KEK's private half."""
        ...

    def sign_jwt(self, purpose: SigningPurpose, claims: Mapping[str, object]) -> str:
        """Sign ``claims`` as a compact EdDSA JWT with the purpose's key (``kid`` in the header)."""
        ...

    def verification_keys(self, purpose: SigningPurpose) -> Mapping[str, Ed25519PublicKey]:
        """The public keys (by kid) that verify JWTs of ``purpose``."""
        ...

    def public_signing_keys(self, purpose: SigningPurpose) -> list[PublicSigningKey]:
        """The public keys of ``purpose``, for the JWKS document."""
        ...

    @property
    def ledger_key_id(self) -> str:
        """The ledger key's id (``gateway.ledger.records.key_id_of``)."""
        ...

    @property
    def ledger_public_key(self) -> bytes:
        """The ledger key's raw Ed25519 public key."""
        ...

    def sign_ledger(self, message: bytes) -> bytes:
        """Sign a tree-head message with the ledger key."""
        ...


class FileKeyVault:
    """Keys in 0600 files under one 0700 directory.

    Raises (on construction):
        KeyFilePermissionsError: a key file can be read or written by group or others.
        KeyFileLengthError: a key file does not hold exactly one key.
        KeyFileError: the key directory is not private to its owner.
    """

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._kek_directory = directory / "kek"
        for folder in (directory, self._kek_directory):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            mode = folder.stat().st_mode & 0o777
            if mode & 0o077:
                raise KeyFileError(
                    f"{folder} has mode {mode:04o}; the key directory must be 0700 (chmod 700 {folder})"
                )
        self._signing: dict[SigningPurpose, Ed25519PrivateKey] = {
            purpose: self._load_or_create_ed25519(directory / f"{purpose}.ed25519")
            for purpose in SigningPurpose
        }
        self._ledger = self._load_or_create_ed25519(directory / "ledger.ed25519")
        # The signing keys are fixed for the vault's life: their public halves and ids are derived
        # once, not on every token, tree head and authenticated request.
        self._verification: dict[SigningPurpose, Mapping[str, Ed25519PublicKey]] = {}
        self._kids: dict[SigningPurpose, str] = {}
        for purpose, private in self._signing.items():
            public = private.public_key()
            self._kids[purpose] = key_id(_raw_public(public))
            self._verification[purpose] = MappingProxyType({self._kids[purpose]: public})
        self._ledger_public = _raw_public(self._ledger.public_key())
        self._keks: dict[str, bytes] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _load_or_create_ed25519(path: Path) -> Ed25519PrivateKey:
        if not path.exists():
            # Another replica may create it between our check and our write: then read theirs.
            with contextlib.suppress(KeyFileError):
                write_key_file(path, os.urandom(ED25519_SEED_SIZE))
        return Ed25519PrivateKey.from_private_bytes(read_key_file(path, ED25519_SEED_SIZE))

    # ------------------------------------------------------------ KEKs

    def _kek_path(self, kek_id: str) -> Path:
        if not kek_id.startswith("kek_") or not kek_id[4:].isalnum():
            raise KeyFileError(f"not a key-encryption key id: {kek_id!r}")
        return self._kek_directory / f"{kek_id}.x25519"

    def _kek_private(self, kek_id: str) -> bytes:
        with self._lock:
            private = self._keks.get(kek_id)
            if private is None:
                # Another replica may have created it since we started: read it from the shared directory.
                path = self._kek_path(kek_id)
                if not path.exists():
                    raise KeyFileError(f"key-encryption key {kek_id} is not in this key vault")
                private = read_key_file(path, X25519_KEY_SIZE)
                self._keks[kek_id] = private
            return private

    def create_kek(self) -> str:
        """Generate a new KEK; return its id."""
        pair = generate_x25519()
        kek_id = key_id(pair.public, "kek_")
        write_key_file(self._kek_path(kek_id), pair.private)
        with self._lock:
            self._keks[kek_id] = pair.private
        return kek_id

    def kek_public(self, kek_id: str) -> bytes:
        """The X25519 public key of a KEK.

        Raises:
            KeyFileError: the KEK is not in the vault.
        """
        return x25519_public_from_private(self._kek_private(kek_id))

    def open_data_key(self, kek_id: str, sealed: bytes, context: SealContext) -> bytes:
        """Open a sealed data key.

        Raises:
            KeyFileError: the KEK is not in the vault.
            SealingError: the box does not open with this KEK or is not a ccgate sealed key.
            SealedContextMismatchError: it opened but was made for another context.
        """
        return open_data_key(sealed, self._kek_private(kek_id), context)

    def reseal(
        self, kek_id: str, sealed: bytes, context: SealContext, recipient: bytes, new_context: SealContext
    ) -> bytes:
        """Open a sealed data key and seal it to ``recipient`` under ``new_context``.

        Raises:
            The errors of ``open_data_key``; SealingError for a malformed recipient key.
        """
        key = self.open_data_key(kek_id, sealed, context)
        return seal_data_key(key, recipient, new_context)

    def destroy_kek(self, kek_id: str) -> None:
        """Delete a retired KEK's private half (missing is fine: another replica did it)."""
        with self._lock:
            self._keks.pop(kek_id, None)
        self._kek_path(kek_id).unlink(missing_ok=True)

    # ------------------------------------------------------------ signing keys

    def sign_jwt(self, purpose: SigningPurpose, claims: Mapping[str, object]) -> str:
        """Sign ``claims`` as an EdDSA JWT with ``kid``."""
        return jwt.encode(
            dict(claims),
            self._signing[purpose],
            algorithm=JWT_ALGORITHM,
            headers={"kid": self._kids[purpose]},
        )

    def verification_keys(self, purpose: SigningPurpose) -> Mapping[str, Ed25519PublicKey]:
        """The public keys that verify ``purpose`` JWTs, by kid."""
        return self._verification[purpose]

    def public_signing_keys(self, purpose: SigningPurpose) -> list[PublicSigningKey]:
        """Public keys of ``purpose`` for the JWKS."""
        return [
            PublicSigningKey(kid, _raw_public(key)) for kid, key in self.verification_keys(purpose).items()
        ]

    @property
    def ledger_key_id(self) -> str:
        """The ledger key's id, as ``gateway.ledger.records.key_id_of`` computes it."""
        return hashlib.sha256(self._ledger_public).hexdigest()[:16]

    @property
    def ledger_public_key(self) -> bytes:
        """The ledger key's raw public key."""
        return self._ledger_public

    def sign_ledger(self, message: bytes) -> bytes:
        """Sign a tree-head message."""
        return self._ledger.sign(message)


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)
