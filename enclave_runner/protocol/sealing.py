"""Sealed data keys: libsodium sealed boxes (X25519 + XSalsa20-Poly1305) with a labelled context.

A data key never travels bare. It is sealed inside a canonical JSON payload naming what it is for
(DESIGN §6.2, STYLE 10): a deposit names the artefact and the gateway key-encryption key it was sealed
to; a release names the artefact, job and session; a result key names the job. Opening checks the
label and the whole context, so a sealed key lifted from one job cannot be replayed into another.
"""

import base64
import binascii
import json
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Final

import nacl.exceptions
import nacl.public

from enclave_runner.protocol.canonical import canonical_json
from enclave_runner.protocol.errors import SealedContextMismatchError, SealingError

SEALED_KEY_LABEL: Final = "ccgate/v1/sealed-data-key"
DATA_KEY_SIZE: Final = 32
X25519_KEY_SIZE: Final = 32


class SealPurpose(StrEnum):
    """Why a data key was sealed; part of the authenticated payload."""

    DEPOSIT = "deposit"
    RELEASE = "release"
    RESULT = "result"


@dataclass(frozen=True, slots=True)
class SealContext:
    """What a sealed data key is for. Every field is compared on opening."""

    purpose: SealPurpose
    artefact_id: str | None = None
    job_id: str | None = None
    session_id: str | None = None
    kek_id: str | None = None

    @classmethod
    def deposit(cls, artefact_id: str, kek_id: str) -> "SealContext":
        """The context of a data key an owner deposits with the gateway."""
        return cls(SealPurpose.DEPOSIT, artefact_id=artefact_id, kek_id=kek_id)

    @classmethod
    def release(cls, artefact_id: str, job_id: str, session_id: str) -> "SealContext":
        """The context of a data key the gateway releases to an attested runner."""
        return cls(SealPurpose.RELEASE, artefact_id=artefact_id, job_id=job_id, session_id=session_id)

    @classmethod
    def result(cls, job_id: str) -> "SealContext":
        """The context of a result key the runner seals to the job's result recipient."""
        return cls(SealPurpose.RESULT, job_id=job_id)

    def as_json(self) -> dict[str, str | None]:
        """Return the context as a JSON object (purpose as its string value)."""
        return {key: (str(value) if value is not None else None) for key, value in asdict(self).items()}


@dataclass(frozen=True, slots=True)
class X25519KeyPair:
    """An X25519 key pair as raw bytes. ``private`` must never be logged or serialised casually."""

    private: bytes
    public: bytes

    def __repr__(self) -> str:
        # The private half must never reach a log line through a repr.
        return f"X25519KeyPair(public={self.public.hex()})"


def generate_x25519() -> X25519KeyPair:
    """Generate a fresh X25519 key pair."""
    private = nacl.public.PrivateKey.generate()
    return X25519KeyPair(private=bytes(private), public=bytes(private.public_key))


def x25519_public_from_private(private: bytes) -> bytes:
    """Derive the public half of a raw X25519 private key.

    Raises:
        SealingError: the private key is not 32 bytes.
    """
    if len(private) != X25519_KEY_SIZE:
        raise SealingError(f"an X25519 private key is {X25519_KEY_SIZE} bytes, got {len(private)}")
    return bytes(nacl.public.PrivateKey(private).public_key)


def seal(plaintext: bytes, recipient_public: bytes) -> bytes:
    """Seal arbitrary bytes to an X25519 public key (anonymous sender).

    Raises:
        SealingError: the public key is not 32 bytes.
    """
    if len(recipient_public) != X25519_KEY_SIZE:
        raise SealingError(f"an X25519 public key is {X25519_KEY_SIZE} bytes, got {len(recipient_public)}")
    return bytes(nacl.public.SealedBox(nacl.public.PublicKey(recipient_public)).encrypt(plaintext))


def unseal(sealed: bytes, recipient_private: bytes) -> bytes:
    """Open a sealed box with the recipient's raw X25519 private key.

    Raises:
        SealingError: the key has the wrong size, or the box was not sealed to it or was altered.
    """
    if len(recipient_private) != X25519_KEY_SIZE:
        raise SealingError(f"an X25519 private key is {X25519_KEY_SIZE} bytes, got {len(recipient_private)}")
    try:
        return bytes(nacl.public.SealedBox(nacl.public.PrivateKey(recipient_private)).decrypt(sealed))
    except nacl.exceptions.CryptoError as exc:
        raise SealingError("the sealed box does not open with this key (wrong key or altered box)") from exc


def seal_data_key(data_key: bytes, recipient_public: bytes, context: SealContext) -> bytes:
    """Seal a 32-byte data key, inside its labelled context, to ``recipient_public``.

    Raises:
        SealingError: the data key or the public key has the wrong size.
    """
    if len(data_key) != DATA_KEY_SIZE:
        raise SealingError(f"a data key is {DATA_KEY_SIZE} bytes, got {len(data_key)}")
    payload = canonical_json(
        {
            "label": SEALED_KEY_LABEL,
            "context": context.as_json(),
            "key": base64.b64encode(data_key).decode("ascii"),
        }
    )
    return seal(payload, recipient_public)


def open_data_key(sealed: bytes, recipient_private: bytes, expected: SealContext) -> bytes:
    """Open a sealed data key and check that it was sealed for exactly ``expected``.

    Raises:
        SealingError: the box does not open, or its payload is not a ccgate sealed key.
        SealedContextMismatchError: the payload opened but names another purpose, artefact, job,
            session or key-encryption key.
    """
    payload = unseal(sealed, recipient_private)
    try:
        document = json.loads(payload)
        label = document["label"]
        context = document["context"]
        key = base64.b64decode(document["key"], validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise SealingError("the sealed box does not hold a ccgate sealed data key") from exc
    if label != SEALED_KEY_LABEL or len(key) != DATA_KEY_SIZE:
        raise SealingError("the sealed box does not hold a ccgate sealed data key")
    if context != expected.as_json():
        raise SealedContextMismatchError(
            f"the sealed key was made for {context!r}, not for {expected.as_json()!r}"
        )
    return key
