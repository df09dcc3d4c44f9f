"""``ccgate job verify``: check a job's proof bundle offline, link by link (DESIGN §6.4).

receipt signature → the Ed25519 key bound in the attestation token → the token's signature (at the
time it was issued) and its manifest digest → the ledger entry that recorded the result → its
inclusion proof → a tree head signed by the ledger key. Optionally, the downloaded result's bytes
against the receipt's output digest. Nothing here reads the network or the clock; pass pinned
keys to trust something other than the keys the bundle itself carries.
"""

import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import jwt

from attestation.errors import AttestationError
from attestation.token import verify_attestation_token
from attestation.token_keys import keys_from_jwks
from enclave_runner.protocol.canonical import canonical_json
from enclave_runner.protocol.receipts import ReceiptError, SignedReceipt, verify_receipt
from gateway.keyvault import LEDGER_KEY_PURPOSE
from gateway.ledger.merkle import ProofError, verify_inclusion
from gateway.ledger.records import LedgerRecordError, TreeHead, entry_leaf_hash, verify_tree_head

_URLSAFE: Final = str.maketrans("-_", "+/")
ED25519_PUBLIC_KEY_SIZE: Final = 32


@dataclass
class Check:
    """One link of the chain, and whether it held."""

    name: str
    ok: bool
    detail: str = ""


@dataclass
class JobProofReport:
    """Every check, in order; ``ok`` only when all held."""

    job: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every check held."""
        return bool(self.checks) and all(check.ok for check in self.checks)

    def add(self, name: str, ok: bool, detail: str = "") -> bool:
        """Record a check; return whether it held."""
        self.checks.append(Check(name, ok, detail))
        return ok


def _raw_okp_key(entry: Mapping[str, object]) -> bytes:
    encoded = str(entry.get("x", ""))
    try:
        raw = base64.b64decode(encoded.translate(_URLSAFE) + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error:
        raw = b""
    if len(raw) != ED25519_PUBLIC_KEY_SIZE:
        raise ValueError(f"ledger key {entry.get('kid')!r} is not a base64url Ed25519 public key")
    return raw


@dataclass(frozen=True)
class PinnedKeys:
    """The gateway keys a Relying Party pinned, split by purpose from the gateway's JWKS."""

    attestation_jwks: dict[str, object]
    ledger_keys: dict[str, bytes]

    @classmethod
    def from_jwks(cls, document: Mapping[str, object]) -> "PinnedKeys":
        """Split ``/.well-known/jwks.json``: attestation-token keys, and ledger keys (kid → raw key).

        Only keys published for attestation tokens may verify one, so an API-token key (or the ledger
        key) cannot stand in for it even though all are the gateway's.

        Raises:
            ValueError: not a JWK Set, or a ledger key whose ``x`` is not base64url.
        """
        entries = document.get("keys")
        if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
            raise ValueError("a JWK Set has a 'keys' list of objects")
        attestation = [e for e in entries if e.get("ccgate_purpose") == "attestation-token"]
        ledger = {}
        for entry in entries:
            if entry.get("ccgate_purpose") == LEDGER_KEY_PURPOSE:
                ledger[str(entry.get("kid"))] = _raw_okp_key(entry)
        return cls({"keys": attestation}, ledger)


def _digest_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def verify_job_proof(
    bundle: Mapping[str, object],
    *,
    ledger_keys: Mapping[str, bytes] | None = None,
    attestation_jwks: Mapping[str, object] | None = None,
    result_file: Path | None = None,
) -> JobProofReport:
    """Verify a proof bundle; a failed link stops the checks that depend on it.

    ``ledger_keys`` (key id → raw Ed25519) and ``attestation_jwks`` pin the gateway's keys; without
    them the keys inside the bundle are used, which proves consistency, not provenance.
    """
    report = JobProofReport(str(bundle.get("job", "")))
    if not report.add("bundle format", bundle.get("format") == "ccgate-job-proof/v1"):
        return report
    try:
        signed = SignedReceipt.model_validate(bundle["receipt"])
    except (KeyError, ValueError) as exc:
        report.add("receipt parses", False, str(exc))
        return report
    receipt = signed.receipt
    keys_document = attestation_jwks if attestation_jwks is not None else bundle.get("attestation_keys")
    try:
        token = str(bundle["attestation_token"])
        # The token is checked as of when it was issued: a receipt stays verifiable after the
        # token's short lifetime, while its signature, key id and issuer are checked in full.
        unverified = jwt.decode(token, options={"verify_signature": False})
        issued = datetime.fromtimestamp(int(unverified["iat"]), UTC)
        if not isinstance(keys_document, Mapping):
            raise ValueError("the bundle carries no attestation token keys")
        claims = verify_attestation_token(
            token, keys=keys_from_jwks(keys_document), issuer=str(bundle.get("issuer")), now=issued
        )
    except (AttestationError, KeyError, ValueError, jwt.PyJWTError) as exc:
        report.add("attestation token signature", False, str(exc))
        return report
    report.add("attestation token signature", True, f"token {claims.token_id}, key {claims.key_id}")
    try:
        verify_receipt(signed, claims.bound_keys.ed25519)
    except ReceiptError as exc:
        report.add("receipt signed by the attested runner key", False, str(exc))
        return report
    report.add("receipt signed by the attested runner key", True)
    manifest = str(bundle.get("manifest", "")).encode("utf-8")
    manifest_digest = hashlib.sha256(manifest).hexdigest()
    report.add(
        "manifest bound into the token and the receipt",
        manifest_digest == claims.manifest_digest.hex() == receipt.manifest_digest,
        manifest_digest,
    )
    if not _check_ledger(report, bundle, signed, ledger_keys):
        return report
    if result_file is not None:
        actual = _digest_file(result_file)
        report.add("result file matches the receipt", actual == receipt.output_digest, actual)
    return report


def _check_ledger(
    report: JobProofReport,
    bundle: Mapping[str, object],
    signed: SignedReceipt,
    pinned: Mapping[str, bytes] | None,
) -> bool:
    ledger = bundle.get("ledger")
    if not isinstance(ledger, dict):
        return report.add("ledger entry present", False)
    entry = ledger.get("entry")
    data = entry.get("data") if isinstance(entry, dict) else None
    receipt_digest = hashlib.sha256(canonical_json(signed.model_dump(mode="json"))).hexdigest()
    recorded = (
        isinstance(entry, dict)
        and entry.get("kind") == "result.stored"
        and isinstance(data, dict)
        and data.get("job") == signed.receipt.job_id
        and data.get("output_digest") == signed.receipt.output_digest
        and data.get("receipt_digest") == receipt_digest
    )
    if not report.add("ledger entry records this receipt and result", recorded):
        return False
    assert isinstance(entry, dict)
    try:
        head = TreeHead.from_json(ledger["tree_head"])
        keys = (
            dict(pinned)
            if pinned is not None
            else {str(ledger["key_id"]): base64.b64decode(str(ledger["public_key"]), validate=True)}
        )
        verify_tree_head(head, keys)
    except (LedgerRecordError, KeyError, ValueError, binascii.Error) as exc:
        return report.add("tree head signed by the ledger key", False, str(exc))
    report.add("tree head signed by the ledger key", True, f"size {head.size}")
    try:
        path = [bytes.fromhex(str(step)) for step in ledger.get("path", [])]
        verify_inclusion(entry_leaf_hash(entry), int(ledger["index"]), head.size, path, head.root)
    except (ProofError, KeyError, ValueError, TypeError) as exc:
        return report.add("ledger inclusion proof", False, str(exc))
    return report.add("ledger inclusion proof", True, f"entry {ledger['index']} of {head.size}")
