"""Ledger reads for the API: tree heads, proofs and exports, each scoped to what the caller may see."""

from gateway.auth.permissions import Caller
from gateway.domain import Role
from gateway.ledger.records import TreeHead
from gateway.ledger.store import ConsistencyProof, InclusionProof
from gateway.services.context import ServiceContext


def current_tree_head(ctx: ServiceContext) -> TreeHead:
    """A tree head of the current ledger, signed now."""
    with ctx.db.transaction() as session:
        return ctx.ledger.current_head(session)


def record_tree_head(ctx: ServiceContext) -> TreeHead:
    """Sign and keep a tree head of the current ledger (the periodic task; auditors on demand)."""
    with ctx.db.transaction() as session:
        return ctx.ledger.record_tree_head(session)


def inclusion(ctx: ServiceContext, index: int, size: int | None) -> InclusionProof:
    """The inclusion proof of entry ``index``.

    Proofs reveal only hashes, so every ledger reader may ask for any entry's proof.

    Raises:
        LedgerRangeError: the index or size is outside the ledger.
    """
    with ctx.db.transaction() as session:
        return ctx.ledger.inclusion(session, index, size)


def consistency(ctx: ServiceContext, old_size: int, new_size: int | None) -> ConsistencyProof:
    """The consistency proof between two sizes.

    Raises:
        LedgerRangeError: the sizes are outside the ledger.
    """
    with ctx.db.transaction() as session:
        return ctx.ledger.consistency(session, old_size, new_size)


def export(ctx: ServiceContext, caller: Caller) -> dict[str, object]:
    """The ledger export a caller may have.

    An admin gets every entry. Owners and security teams get every entry of their own tenant and
    of the platform in full, and other tenants' entries redacted to their leaf hashes — enough to
    recompute and verify the whole tree, nothing about another tenant (DESIGN §2: security reads
    the whole *tenant* ledger).
    """
    with ctx.db.transaction() as session:
        viewer = None if caller.holds(Role.ADMIN) else caller.tenant_id
        return ctx.ledger.export(session, viewer)
