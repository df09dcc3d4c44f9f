"""Job receipts (DESIGN §6.4): what ran, on which inputs, producing which output, signed by the attested key.

The receipt is canonical JSON labelled ``ccgate/v1/receipt`` and signed with the runner's ephemeral
Ed25519 key, whose public half the gateway bound into the attestation token. An owner checks, offline:
receipt signature → key in the token → token signature → ledger inclusion.
"""

import base64
import binascii
from datetime import datetime
from typing import Annotated, Final, Literal

import nacl.exceptions
import nacl.signing
from pydantic import Field, ValidationError

from enclave_runner.protocol.canonical import canonical_json
from enclave_runner.protocol.errors import ProtocolError
from enclave_runner.protocol.messages import Base64, Digest, Identifier, WireModel

RECEIPT_LABEL: Final = "ccgate/v1/receipt"


class ReceiptError(ProtocolError):
    """A receipt is malformed or its signature does not verify under the attested key."""

    code = "receipt.invalid"


class ReceiptInput(WireModel):
    """One input the job read, by the digest of the ciphertext the runner downloaded."""

    artefact_id: Identifier
    ciphertext_digest: Digest


class Receipt(WireModel):
    """What the runner attests it did."""

    label: Literal["ccgate/v1/receipt"] = RECEIPT_LABEL
    job_id: Identifier
    manifest_digest: Digest
    inputs: tuple[ReceiptInput, ...]
    output_digest: Digest
    started_at: datetime
    finished_at: datetime
    exit_code: int
    network_isolation: Literal["namespace", "unavailable"]
    notes: tuple[Annotated[str, Field(max_length=256)], ...] = Field(default=(), max_length=16)

    def signed_bytes(self) -> bytes:
        """The canonical JSON the signature covers."""
        return canonical_json(self.model_dump(mode="json"))


class SignedReceipt(WireModel):
    """A receipt and its Ed25519 signature (base64)."""

    receipt: Receipt
    signature: Base64


def sign_receipt(receipt: Receipt, signing_key: bytes) -> SignedReceipt:
    """Sign ``receipt`` with a raw 32-byte Ed25519 seed.

    Raises:
        ReceiptError: the key is not 32 bytes.
    """
    if len(signing_key) != 32:
        raise ReceiptError("an Ed25519 signing key is 32 bytes")
    signature = nacl.signing.SigningKey(signing_key).sign(receipt.signed_bytes()).signature
    return SignedReceipt(receipt=receipt, signature=base64.b64encode(signature).decode("ascii"))


def verify_receipt(signed: SignedReceipt, public_key: bytes) -> Receipt:
    """Check the receipt's signature under the attested Ed25519 public key; return the receipt.

    Raises:
        ReceiptError: a malformed key or signature, or a signature that does not verify.
    """
    try:
        signature = base64.b64decode(signed.signature, validate=True)
        nacl.signing.VerifyKey(public_key).verify(signed.receipt.signed_bytes(), signature)
    except (binascii.Error, ValueError, nacl.exceptions.CryptoError) as exc:
        raise ReceiptError("the receipt's signature does not verify under the attested key") from exc
    return signed.receipt


def parse_signed_receipt(document: bytes) -> SignedReceipt:
    """Parse a signed receipt from JSON bytes.

    Raises:
        ReceiptError: the JSON is not a signed receipt.
    """
    try:
        return SignedReceipt.model_validate_json(document)
    except ValidationError as exc:
        raise ReceiptError(f"not a ccgate signed receipt: {exc.error_count()} problems") from exc
