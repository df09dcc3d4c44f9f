"""Ledger entries and signed tree heads: what is hashed, what is signed, and how both are checked.

An entry is canonical JSON ``{"label": "ccgate/v1/ledger-entry", "index", "time", "kind", "tenant",
"data"}``; its leaf hash is RFC 6962's. The index is inside the entry, so a reordered or renumbered
export cannot verify. After every append the gateway signs a tree head ``{"label":
"ccgate/v1/tree-head", "size", "root", "time"}`` with its Ed25519 ledger key and stores it with the
entry: that is what lets an offline verifier name exactly which entry was edited, not just that
something was. Entries carry ids, digests, codes and reasons — never keys or plaintext.
"""

import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

import nacl.exceptions
import nacl.signing

from enclave_runner.protocol.canonical import JsonValue, canonical_json
from gateway.errors import GatewayError
from gateway.ledger.merkle import leaf_hash

ENTRY_LABEL: Final = "ccgate/v1/ledger-entry"
TREE_HEAD_LABEL: Final = "ccgate/v1/tree-head"


class EventKind(StrEnum):
    """What a ledger entry records (DESIGN §6.5)."""

    TENANT_CREATED = "tenant.created"
    PRINCIPAL_CREATED = "principal.created"
    TOKEN_ISSUED = "token.issued"  # noqa: S105 - an event name, not a secret.
    TOKEN_REVOKED = "token.revoked"  # noqa: S105 - an event name, not a secret.
    ARTEFACT_CREATED = "artefact.created"
    ARTEFACT_UPLOADED = "artefact.uploaded"
    ARTEFACT_VERSION_CREATED = "artefact.version_created"
    ARTEFACT_POLICY_SET = "artefact.policy_set"
    ARTEFACT_RETIRED = "artefact.retired"
    KEY_DEPOSITED = "key.deposited"
    KEK_CREATED = "kek.created"
    KEK_ROTATED = "kek.rotated"
    PROVIDER_REGISTERED = "provider.registered"
    PROVIDER_KYC_CHANGED = "provider.kyc_changed"
    NODE_REGISTERED = "node.registered"
    NODE_STATE_CHANGED = "node.state_changed"
    ENROLLMENT_CHALLENGED = "enrollment.challenged"
    POLICY_WRITTEN = "policy.written"
    REFERENCE_VALUES_WRITTEN = "reference_values.written"
    BASELINE_SET = "baseline.set"
    JOB_SUBMITTED = "job.submitted"
    JOB_STATE_CHANGED = "job.state_changed"
    SESSION_ISSUED = "session.issued"
    EVIDENCE_REJECTED = "evidence.rejected"  # An attestation refused (session, Evidence or release step).
    NODE_REFUSED = "node.refused"  # A claim or challenge by a node that is not active.
    RUNNER_REFUSED = "runner.refused"  # A session token's download, result or failure report refused.
    RELEASE_DECIDED = "release.decided"
    KEY_RELEASED = "key.released"
    RESULT_STORED = "result.stored"


class LedgerRecordError(GatewayError):
    """A ledger entry or tree head is malformed or its signature does not verify."""

    code = "ledger.record_invalid"


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds, the one time format inside ledger records."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_document(
    index: int, time: datetime, kind: EventKind, tenant: str | None, data: Mapping[str, JsonValue]
) -> dict[str, JsonValue]:
    """The JSON document of one ledger entry."""
    return {
        "label": ENTRY_LABEL,
        "index": index,
        "time": format_time(time),
        "kind": str(kind),
        "tenant": tenant,
        "data": dict(data),
    }


def entry_leaf_hash(document: Mapping[str, JsonValue]) -> bytes:
    """RFC 6962 leaf hash of an entry document's canonical JSON."""
    return leaf_hash(canonical_json(document))


@dataclass(frozen=True, slots=True)
class TreeHead:
    """A signed statement: the ledger had ``size`` entries with Merkle root ``root`` at ``time``."""

    size: int
    root: bytes
    time: str
    key_id: str
    signature: bytes

    def signed_bytes(self) -> bytes:
        """The canonical JSON the signature covers."""
        return tree_head_message(self.size, self.root, self.time)

    def as_json(self) -> dict[str, JsonValue]:
        """The wire / export form."""
        return {
            "size": self.size,
            "root": self.root.hex(),
            "time": self.time,
            "key_id": self.key_id,
            "signature": base64.b64encode(self.signature).decode("ascii"),
        }

    @classmethod
    def from_json(cls, document: Mapping[str, object]) -> "TreeHead":
        """Parse the wire / export form.

        Raises:
            LedgerRecordError: a field is missing or malformed.
        """
        try:
            size, root, time = document["size"], document["root"], document["time"]
            key_id, signature = document["key_id"], document["signature"]
            if not (isinstance(size, int) and isinstance(root, str) and isinstance(time, str)):
                raise TypeError("size, root and time have the wrong types")
            if not (isinstance(key_id, str) and isinstance(signature, str)):
                raise TypeError("key_id and signature must be strings")
            return cls(size, bytes.fromhex(root), time, key_id, base64.b64decode(signature, validate=True))
        except (KeyError, TypeError, ValueError, binascii.Error) as exc:
            raise LedgerRecordError(f"malformed tree head: {exc}") from exc


def tree_head_message(size: int, root: bytes, time: str) -> bytes:
    """What a tree-head signature covers."""
    return canonical_json({"label": TREE_HEAD_LABEL, "size": size, "root": root.hex(), "time": time})


def key_id_of(verify_key: bytes) -> str:
    """A ledger key's id: the first 16 hex digits of the SHA-256 of its raw public key."""
    return hashlib.sha256(verify_key).hexdigest()[:16]


def sign_tree_head(signing_key: nacl.signing.SigningKey, size: int, root: bytes, time: datetime) -> TreeHead:
    """Sign a tree head with the gateway's Ed25519 ledger key."""
    stamp = format_time(time)
    signature = signing_key.sign(tree_head_message(size, root, stamp)).signature
    return TreeHead(size, root, stamp, key_id_of(bytes(signing_key.verify_key)), bytes(signature))


def verify_tree_head(head: TreeHead, trusted: Mapping[str, bytes]) -> None:
    """Check a tree head's signature against the trusted ledger keys (key id → raw Ed25519 public key).

    Raises:
        LedgerRecordError: unknown key id or a signature that does not verify.
    """
    key = trusted.get(head.key_id)
    if key is None:
        raise LedgerRecordError(f"tree head signed by unknown key {head.key_id}")
    try:
        nacl.signing.VerifyKey(key).verify(head.signed_bytes(), head.signature)
    except nacl.exceptions.BadSignatureError as exc:
        raise LedgerRecordError(
            f"the signature of the tree head of size {head.size} does not verify"
        ) from exc
