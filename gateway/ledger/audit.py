"""Offline verification of a ledger export: every entry, every tree head, every proof.

The export is ``{"format": "ccgate-ledger-export/v1", "keys": {key_id: base64 Ed25519}, "entries":
[{"entry": {...}, "leaf_hash": hex, "tree_head": {...}}], "tree_heads": [...]}``; ``leaf_hash`` is
optional, and a redacted row (another tenant's entry, in an owner's export) is ``{"leaf_hash",
"tree_head"}`` without the entry, which still lets the whole tree be recomputed. The verifier
recomputes every leaf hash and the Merkle root after each entry, and checks it against that entry's
signed tree head, so
an edited, removed, inserted or reordered entry is reported by its index; standalone tree heads
(periodic or fetched earlier by an auditor) must be consistent with the recomputed history.
"""

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from gateway.ledger.merkle import CompactRange
from gateway.ledger.records import ENTRY_LABEL, LedgerRecordError, TreeHead, entry_leaf_hash, verify_tree_head

EXPORT_FORMAT: Final = "ccgate-ledger-export/v1"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an export; ``index`` names the entry when there is one."""

    code: str
    message: str
    index: int | None = None


@dataclass
class AuditReport:
    """The outcome of ``audit_export``."""

    entries: int = 0
    tree_heads_checked: int = 0
    root: str = ""
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems

    def bad_indexes(self) -> list[int]:
        """The entry indexes named by problems, in order, without repeats."""
        return sorted({p.index for p in self.problems if p.index is not None})


def _trusted_keys(document: Mapping[str, object], trusted: Mapping[str, bytes] | None) -> dict[str, bytes]:
    if trusted is not None:
        return dict(trusted)
    keys = document.get("keys")
    if not isinstance(keys, dict):
        raise LedgerRecordError("the export names no ledger keys")
    try:
        return {str(kid): base64.b64decode(str(key), validate=True) for kid, key in keys.items()}
    except (binascii.Error, ValueError) as exc:
        raise LedgerRecordError(f"malformed ledger key: {exc}") from exc


def audit_export(document: Mapping[str, object], trusted: Mapping[str, bytes] | None = None) -> AuditReport:
    """Verify a ledger export offline; return every problem found (an empty list means it verifies).

    ``trusted`` pins the ledger keys (key id → raw Ed25519 key); without it the keys in the export are
    used, which proves internal consistency only — an auditor should pin the gateway's keys.

    Raises:
        LedgerRecordError: the document is not a ledger export at all.
    """
    if document.get("format") != EXPORT_FORMAT:
        raise LedgerRecordError(f"not a {EXPORT_FORMAT} document")
    keys = _trusted_keys(document, trusted)
    rows = document.get("entries")
    if not isinstance(rows, list):
        raise LedgerRecordError("the export has no entry list")
    report = AuditReport()
    compact = CompactRange()
    roots: dict[int, bytes] = {0: compact.root()}
    for position, row in enumerate(rows):
        _check_row(row, position, compact, keys, report)
        roots[compact.size] = compact.root()
    report.entries = compact.size
    report.root = compact.root().hex()
    heads = document.get("tree_heads") or []
    if not isinstance(heads, list):
        raise LedgerRecordError("tree_heads must be a list")
    for raw in heads:
        _check_standalone_head(raw, roots, keys, report)
    return report


def _check_row(
    row: object, position: int, compact: CompactRange, keys: Mapping[str, bytes], report: AuditReport
) -> None:
    """Check one export row and append its leaf to ``compact``.

    A row is ``{"entry", "tree_head"}``, optionally with the ``leaf_hash`` the gateway recorded at
    append time, or — for another tenant's entry in a redacted export — ``{"leaf_hash",
    "tree_head"}`` alone. When an entry and its recorded leaf hash disagree, the one that reproduces
    the signed tree head continues the history, so a single edited row is reported at its own index
    and the entries after it still verify.
    """
    if not isinstance(row, dict):
        report.problems.append(Problem("ledger.entry_malformed", "an entry row is not an object", position))
        compact.append(b"\x00" * 32)
        return
    recorded = _recorded_leaf(row, position, report)
    computed = _computed_leaf(row, position, report)
    if computed is None and recorded is None:
        if "entry" not in row:
            report.problems.append(
                Problem("ledger.entry_malformed", "the row has neither an entry nor a leaf hash", position)
            )
        compact.append(b"\x00" * 32)
        return
    head = _row_head(row, position, keys, report)
    candidates = [leaf for leaf in (computed, recorded) if leaf is not None]
    chosen = candidates[0]
    if head is not None:
        for leaf in candidates:
            trial = compact.copy()
            trial.append(leaf)
            if trial.size == head.size and trial.root() == head.root:
                chosen = leaf
                break
    if computed is not None and recorded is not None and computed != recorded:
        report.problems.append(
            Problem(
                "ledger.entry_altered",
                f"entry {position} does not hash to the leaf hash recorded when it was appended",
                position,
            )
        )
    compact.append(chosen)
    already = any(p.index == position and p.code == "ledger.entry_altered" for p in report.problems)
    if head is not None and (head.size != compact.size or head.root != compact.root()) and not already:
        report.problems.append(
            Problem(
                "ledger.entry_altered",
                f"the history up to entry {position} does not match the tree head signed at its append",
                position,
            )
        )


def _recorded_leaf(row: Mapping[str, object], position: int, report: AuditReport) -> bytes | None:
    raw = row.get("leaf_hash")
    if raw is None:
        return None
    try:
        leaf = bytes.fromhex(str(raw))
    except ValueError:
        leaf = b""
    if len(leaf) != 32:
        report.problems.append(
            Problem("ledger.entry_malformed", "the recorded leaf hash is malformed", position)
        )
        return None
    return leaf


def _computed_leaf(row: Mapping[str, object], position: int, report: AuditReport) -> bytes | None:
    if "entry" not in row:
        return None
    entry = row["entry"]
    if not isinstance(entry, dict):
        report.problems.append(Problem("ledger.entry_malformed", "the entry is not an object", position))
        return None
    if entry.get("label") != ENTRY_LABEL:
        report.problems.append(
            Problem("ledger.entry_malformed", "the entry has no ccgate ledger label", position)
        )
    if entry.get("index") != position:
        report.problems.append(
            Problem(
                "ledger.entry_out_of_order",
                f"entry at position {position} says it is entry {entry.get('index')!r} "
                "(an entry was removed, inserted or reordered)",
                position,
            )
        )
    try:
        return entry_leaf_hash(entry)
    except ValueError as exc:
        report.problems.append(
            Problem("ledger.entry_malformed", f"entry is not canonical JSON: {exc}", position)
        )
        return None


def _row_head(
    row: Mapping[str, object], position: int, keys: Mapping[str, bytes], report: AuditReport
) -> TreeHead | None:
    head_json = row.get("tree_head")
    if not isinstance(head_json, dict):
        report.problems.append(
            Problem("ledger.tree_head_missing", "the entry has no signed tree head", position)
        )
        return None
    try:
        head = TreeHead.from_json(head_json)
        verify_tree_head(head, keys)
    except LedgerRecordError as exc:
        report.problems.append(Problem("ledger.tree_head_invalid", str(exc), position))
        return None
    report.tree_heads_checked += 1
    return head


def _check_standalone_head(
    raw: object, roots: Mapping[int, bytes], keys: Mapping[str, bytes], report: AuditReport
) -> None:
    if not isinstance(raw, dict):
        report.problems.append(Problem("ledger.tree_head_invalid", "a tree head is not an object"))
        return
    try:
        head = TreeHead.from_json(raw)
        verify_tree_head(head, keys)
    except LedgerRecordError as exc:
        report.problems.append(Problem("ledger.tree_head_invalid", str(exc)))
        return
    report.tree_heads_checked += 1
    expected = roots.get(head.size)
    if expected is None:
        report.problems.append(
            Problem(
                "ledger.entries_missing",
                f"a tree head of size {head.size} was signed but the export ends before it",
            )
        )
    elif expected != head.root:
        report.problems.append(
            Problem(
                "ledger.history_rewritten",
                f"the export's history is not consistent with the tree head of size {head.size}",
            )
        )
