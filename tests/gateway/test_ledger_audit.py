"""Offline ledger audit: an export verifies, and each kind of tampering is named by entry index."""

import base64
import copy
from datetime import UTC, datetime, timedelta

import nacl.signing
import pytest

from gateway.ledger.audit import EXPORT_FORMAT, audit_export
from gateway.ledger.merkle import CompactRange
from gateway.ledger.records import (
    EventKind,
    LedgerRecordError,
    entry_document,
    entry_leaf_hash,
    key_id_of,
    sign_tree_head,
)

KEY = nacl.signing.SigningKey.generate()
T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def _export(n: int = 6) -> dict[str, object]:
    compact = CompactRange()
    rows = []
    for i in range(n):
        entry = entry_document(
            i,
            T0 + timedelta(seconds=i),
            EventKind.RELEASE_DECIDED,
            "t1",
            {"job": f"j{i}", "allow": i % 2 == 0},
        )
        compact.append(entry_leaf_hash(entry))
        head = sign_tree_head(KEY, compact.size, compact.root(), T0 + timedelta(seconds=i))
        rows.append({"entry": entry, "tree_head": head.as_json()})
    periodic = sign_tree_head(KEY, compact.size, compact.root(), T0 + timedelta(minutes=5))
    kid = key_id_of(bytes(KEY.verify_key))
    return {
        "format": EXPORT_FORMAT,
        "keys": {kid: base64.b64encode(bytes(KEY.verify_key)).decode()},
        "entries": rows,
        "tree_heads": [periodic.as_json()],
    }


def test_an_untouched_export_verifies() -> None:
    report = audit_export(_export())
    assert report.ok, report.problems
    assert report.entries == 6
    assert report.tree_heads_checked == 7


def test_an_edited_entry_is_named_exactly() -> None:
    export = _export()
    rows = export["entries"]
    assert isinstance(rows, list)
    rows[3]["entry"]["data"]["allow"] = True
    report = audit_export(export)
    assert report.bad_indexes()[0] == 3
    assert any(p.code == "ledger.entry_altered" and p.index == 3 for p in report.problems)
    assert not any(p.index is not None and p.index < 3 for p in report.problems)


def test_a_removed_entry_is_named() -> None:
    export = _export()
    rows = export["entries"]
    assert isinstance(rows, list)
    del rows[2]
    report = audit_export(export)
    assert report.bad_indexes()[0] == 2
    assert any(p.code == "ledger.entry_out_of_order" for p in report.problems)


def test_reordered_entries_are_named() -> None:
    export = _export()
    rows = export["entries"]
    assert isinstance(rows, list)
    rows[1], rows[4] = rows[4], rows[1]
    assert audit_export(export).bad_indexes()[0] == 1


def test_a_truncated_export_contradicts_the_periodic_tree_head() -> None:
    export = _export()
    rows = export["entries"]
    assert isinstance(rows, list)
    del rows[-1]
    report = audit_export(export)
    assert any(p.code == "ledger.entries_missing" for p in report.problems)


def test_a_forged_tree_head_signature_is_refused() -> None:
    export = _export()
    rows = export["entries"]
    assert isinstance(rows, list)
    forged = copy.deepcopy(rows[2]["tree_head"])
    forged["signature"] = base64.b64encode(b"\x00" * 64).decode()
    rows[2]["tree_head"] = forged
    report = audit_export(export)
    assert any(p.code == "ledger.tree_head_invalid" and p.index == 2 for p in report.problems)


def test_pinned_keys_override_the_exports_own() -> None:
    other = nacl.signing.SigningKey.generate()
    report = audit_export(_export(), trusted={key_id_of(bytes(other.verify_key)): bytes(other.verify_key)})
    assert not report.ok


def test_not_an_export() -> None:
    with pytest.raises(LedgerRecordError):
        audit_export({"format": "something-else"})
