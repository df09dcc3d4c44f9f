"""The ledger in the database (DESIGN §6.5): appends inside the caller's transaction, proofs, exports.

``append`` locks the single ``ledger_state`` row (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's
``BEGIN IMMEDIATE`` already serialises writers), extends the compact range stored there, signs the
new tree head and inserts the entry — all in the transaction of the state change being recorded. If
any of it fails, the caller's whole transaction rolls back: no state change without its entry, and
two gateway processes on one PostgreSQL database still produce one linear log.

Appends are SQLAlchemy Core statements on the transaction's connection, not ORM objects: a release
appends seven entries, and the ORM's unit of work cost more per entry than hashing and signing it.
"""

import base64
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from enclave_runner.protocol.canonical import JsonValue, canonical_json
from gateway.clock import Clock
from gateway.errors import LedgerError, LedgerRangeError
from gateway.ledger.audit import EXPORT_FORMAT
from gateway.ledger.merkle import CompactRange, consistency_proof, inclusion_proof, leaf_hash
from gateway.ledger.records import (
    EventKind,
    TreeHead,
    entry_document,
    format_time,
    tree_head_message,
)
from gateway.storage.schema import LedgerEntry, LedgerState, LedgerTreeHead, core_table

STATE_ROW = 1


class LedgerSigner(Protocol):
    """The part of the key vault the ledger uses."""

    @property
    def ledger_key_id(self) -> str:
        """The ledger key's id."""
        ...

    @property
    def ledger_public_key(self) -> bytes:
        """The raw Ed25519 public key."""
        ...

    def sign_ledger(self, message: bytes) -> bytes:
        """Sign a tree-head message."""
        ...


_LOCKED_STATE = "ccgate.ledger_state"

_STATE: Final = core_table(LedgerState)
_LOCK_STATE: Final = select(_STATE.c.size, _STATE.c.peaks).where(_STATE.c.id == STATE_ROW).with_for_update()
_INSERT_ENTRY: Final = insert(core_table(LedgerEntry))
_UPDATE_STATE: Final = update(_STATE).where(_STATE.c.id == STATE_ROW)


@dataclass(slots=True)
class _LockedState:
    """The ledger state row as this transaction holds it locked: size and compact-range peaks.

    ``pending`` holds the entries of a ``batched`` block not yet written (None outside one).
    """

    size: int
    peaks: list[bytes]
    pending: list[dict[str, object]] | None = None


@dataclass(frozen=True, slots=True)
class AppendedEntry:
    """What an append returns: the entry's index and the tree head signed right after it."""

    index: int
    tree_head: TreeHead


@dataclass(frozen=True, slots=True)
class InclusionProof:
    """Entry ``index`` with leaf hash ``leaf_hash`` is in the tree that ``tree_head`` signs."""

    index: int
    leaf_hash: bytes
    path: list[bytes]
    tree_head: TreeHead


@dataclass(frozen=True, slots=True)
class ConsistencyProof:
    """The tree of ``old_head`` is a prefix of the tree of ``new_head``."""

    old_head: TreeHead
    new_head: TreeHead
    path: list[bytes]


class Ledger:
    """The append-only Merkle log, stored in the gateway's database."""

    def __init__(self, signer: LedgerSigner, clock: Clock) -> None:
        self._signer = signer
        self._clock = clock

    def _sign(self, size: int, root: bytes, time: datetime) -> TreeHead:
        stamp = format_time(time)
        signature = self._signer.sign_ledger(tree_head_message(size, root, stamp))
        return TreeHead(size, root, stamp, self._signer.ledger_key_id, signature)

    def lock(self, session: Session) -> None:
        """Take the ledger's append lock now, for a check-then-write that must not race another replica.

        Raises:
            LedgerError: the ledger state row is missing (the database was not migrated).
        """
        self._locked_state(session)

    def _locked_state(self, session: Session) -> _LockedState:
        # Once locked in this transaction the row cannot change under us (PostgreSQL holds the row
        # lock, SQLite the write lock) until commit, so later appends reuse it instead of re-reading.
        cached = session.info.get(_LOCKED_STATE)
        if isinstance(cached, _LockedState):
            return cached
        # Rows the session holds pending are flushed first, as before any query; the statement itself
        # goes to the connection, which skips the ORM's execution path (a quarter of a millisecond).
        session.flush()
        row = session.connection().execute(_LOCK_STATE).one_or_none()
        if row is None:
            raise LedgerError("the ledger state row is missing; run `ccgate db upgrade`")
        state = _LockedState(row.size, [bytes.fromhex(peak) for peak in row.peaks])
        session.info[_LOCKED_STATE] = state
        return state

    def append(
        self, session: Session, kind: EventKind, tenant: str | None, data: Mapping[str, JsonValue]
    ) -> AppendedEntry:
        """Append one entry inside ``session``'s transaction, serialised with every other append.

        Raises:
            LedgerError: the ledger state row is missing (the database was not migrated).
            CanonicalJsonError: ``data`` is not canonical JSON (a float, say).
            sqlalchemy.exc.SQLAlchemyError: the write failed; the caller's transaction must roll back.
        """
        state = self._locked_state(session)
        compact = CompactRange(state.size, list(state.peaks))
        now = self._clock.now()
        # Serialised once: the stored text is exactly the bytes the leaf hash covers.
        encoded = canonical_json(entry_document(compact.size, now, kind, tenant, data))
        leaf = leaf_hash(encoded)
        compact.append(leaf)
        head = self._sign(compact.size, compact.root(), now)
        row = {
            "idx": compact.size - 1,
            "kind": str(kind),
            "tenant_id": tenant,
            "entry": encoded.decode("utf-8"),
            "leaf_hash": leaf.hex(),
            "tree_head": json.dumps(head.as_json(), sort_keys=True),
        }
        if state.pending is None:
            self._write(session, [row], compact.size, compact.peaks)
        else:
            state.pending.append(row)
        state.size = compact.size
        state.peaks = list(compact.peaks)
        return AppendedEntry(compact.size - 1, head)

    @contextmanager
    def batched(self, session: Session) -> Iterator[None]:
        """Take the append lock now, and write the block's appends together when it ends.

        The entries are computed, hashed and signed at each ``append`` as usual (their indexes and
        tree heads are returned at once); the rows reach the database in one multi-row INSERT and
        one state UPDATE when the block exits normally, still inside the caller's transaction. A
        block that raises writes nothing, and the caller's transaction rolls back.

        Raises:
            LedgerError: the ledger state row is missing (the database was not migrated).
        """
        state = self._locked_state(session)
        if state.pending is not None:
            yield  # Already batching: the outer block writes.
            return
        state.pending = []
        try:
            yield
            if state.pending:
                self._write(session, state.pending, state.size, state.peaks)
        finally:
            state.pending = None

    @staticmethod
    def _write(session: Session, rows: list[dict[str, object]], size: int, peaks: list[bytes]) -> None:
        # The transaction's own connection: the entries and the state are written in the caller's
        # transaction, so a rollback takes them back with the state change they record.
        connection = session.connection()
        connection.execute(_INSERT_ENTRY, rows)
        connection.execute(_UPDATE_STATE, {"size": size, "peaks": [peak.hex() for peak in peaks]})

    def size(self, session: Session) -> int:
        """How many entries the ledger holds."""
        return session.execute(select(LedgerState.size).where(LedgerState.id == STATE_ROW)).scalar_one()

    def current_head(self, session: Session) -> TreeHead:
        """A tree head of the current state, signed now."""
        state = session.execute(
            select(LedgerState.size, LedgerState.peaks).where(LedgerState.id == STATE_ROW)
        ).one()
        compact = CompactRange(state.size, [bytes.fromhex(peak) for peak in state.peaks])
        return self._sign(compact.size, compact.root(), self._clock.now())

    def record_tree_head(self, session: Session) -> TreeHead:
        """Sign the current state and keep the tree head (the periodic task and on-demand requests)."""
        head = self.current_head(session)
        session.add(LedgerTreeHead(size=head.size, tree_head=json.dumps(head.as_json(), sort_keys=True)))
        session.flush()
        return head

    def head_at(self, session: Session, size: int) -> TreeHead:
        """The tree head signed when the ledger reached ``size`` entries.

        Raises:
            LedgerRangeError: ``size`` is not in ``1..current size``.
        """
        row = session.execute(select(LedgerEntry.tree_head).where(LedgerEntry.idx == size - 1)).scalar()
        if size < 1 or row is None:
            raise LedgerRangeError(f"the ledger has no tree head of size {size}")
        return TreeHead.from_json(json.loads(row))

    def _leaves(self, session: Session, size: int) -> list[bytes]:
        rows = session.execute(
            select(LedgerEntry.leaf_hash).where(LedgerEntry.idx < size).order_by(LedgerEntry.idx)
        ).scalars()
        return [bytes.fromhex(leaf) for leaf in rows]

    def inclusion(self, session: Session, index: int, size: int | None = None) -> InclusionProof:
        """The inclusion proof of entry ``index`` in the tree of ``size`` entries (default: the latest).

        Raises:
            LedgerRangeError: ``index`` is not below ``size``, or ``size`` exceeds the ledger.
        """
        size = self.size(session) if size is None else size
        if not 0 <= index < size:
            raise LedgerRangeError(f"entry {index} is not in a tree of {size} entries")
        head = self.head_at(session, size)
        leaves = self._leaves(session, size)
        return InclusionProof(index, leaves[index], inclusion_proof(index, leaves), head)

    def consistency(self, session: Session, old_size: int, new_size: int | None = None) -> ConsistencyProof:
        """The consistency proof between the trees of ``old_size`` and ``new_size`` entries.

        Raises:
            LedgerRangeError: the sizes are not ``1 ≤ old ≤ new ≤ current size``.
        """
        new_size = self.size(session) if new_size is None else new_size
        if not 1 <= old_size <= new_size:
            raise LedgerRangeError(f"no consistency proof from {old_size} to {new_size}")
        old_head, new_head = self.head_at(session, old_size), self.head_at(session, new_size)
        return ConsistencyProof(
            old_head, new_head, consistency_proof(old_size, self._leaves(session, new_size))
        )

    def export(self, session: Session, viewer_tenant: str | None) -> dict[str, object]:
        """The whole ledger as a ``ccgate-ledger-export/v1`` document.

        ``viewer_tenant`` None exports everything; otherwise entries of other tenants are redacted
        to their leaf hash (platform entries, with no tenant, stay readable), which still lets the
        viewer recompute and verify the whole tree offline.
        """
        rows: list[dict[str, object]] = []
        for entry in session.execute(select(LedgerEntry).order_by(LedgerEntry.idx)).scalars():
            row: dict[str, object] = {"leaf_hash": entry.leaf_hash, "tree_head": json.loads(entry.tree_head)}
            if viewer_tenant is None or entry.tenant_id in (None, viewer_tenant):
                row["entry"] = json.loads(entry.entry)
            rows.append(row)
        heads = [
            json.loads(raw)
            for raw in session.execute(select(LedgerTreeHead.tree_head).order_by(LedgerTreeHead.id)).scalars()
        ]
        heads.append(self.current_head(session).as_json())
        return {
            "format": EXPORT_FORMAT,
            "keys": {
                self._signer.ledger_key_id: base64.b64encode(self._signer.ledger_public_key).decode("ascii")
            },
            "entries": rows,
            "tree_heads": heads,
        }

    def latest_recorded_size(self, session: Session) -> int:
        """The size of the newest kept tree head (0 when none)."""
        return session.execute(select(func.coalesce(func.max(LedgerTreeHead.size), 0))).scalar_one()
