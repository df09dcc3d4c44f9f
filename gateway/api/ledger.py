"""Routes: signed tree heads, inclusion and consistency proofs, and exports."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from gateway.api.dependencies import Services, require
from gateway.api.problems import OBJECT_PROBLEMS
from gateway.auth.permissions import Caller, Permission
from gateway.schemas.ledger import ConsistencyOut, InclusionOut, LedgerExport, TreeHeadOut
from gateway.services import ledger_views

router = APIRouter(
    prefix="/v1/ledger", tags=["ledger"], responses={**OBJECT_PROBLEMS, 400: OBJECT_PROBLEMS[422]}
)


@router.get("/tree-head")
def tree_head(services: Services, _: Annotated[Caller, require(Permission.LEDGER_READ)]) -> TreeHeadOut:
    """A tree head of the current ledger, signed now."""
    return TreeHeadOut.of(ledger_views.current_tree_head(services))


@router.post("/tree-heads", status_code=status.HTTP_201_CREATED)
def record_tree_head(
    services: Services, _: Annotated[Caller, require(Permission.LEDGER_READ)]
) -> TreeHeadOut:
    """Sign a tree head now and keep it (it appears in every later export)."""
    return TreeHeadOut.of(ledger_views.record_tree_head(services))


@router.get("/entries/{index}/inclusion")
def inclusion(
    index: Annotated[int, Path(ge=0)],
    services: Services,
    _: Annotated[Caller, require(Permission.LEDGER_READ)],
    size: Annotated[int | None, Query(ge=1)] = None,
) -> InclusionOut:
    """The audit path of entry ``index`` in the tree of ``size`` entries (default: the latest)."""
    proof = ledger_views.inclusion(services, index, size)
    return InclusionOut(
        index=proof.index,
        leaf_hash=proof.leaf_hash.hex(),
        path=[node.hex() for node in proof.path],
        tree_head=TreeHeadOut.of(proof.tree_head),
    )


@router.get("/consistency")
def consistency(
    services: Services,
    _: Annotated[Caller, require(Permission.LEDGER_READ)],
    old: Annotated[int, Query(ge=1)],
    new: Annotated[int | None, Query(ge=1)] = None,
) -> ConsistencyOut:
    """The consistency proof from the tree of ``old`` entries to the tree of ``new`` (default: the latest)."""
    proof = ledger_views.consistency(services, old, new)
    return ConsistencyOut(
        old=TreeHeadOut.of(proof.old_head),
        new=TreeHeadOut.of(proof.new_head),
        path=[n.hex() for n in proof.path],
    )


@router.get("/export")
def export(services: Services, caller: Annotated[Caller, require(Permission.LEDGER_READ)]) -> LedgerExport:
    """The ledger for offline verification; other tenants' entries are redacted to leaf hashes."""
    return LedgerExport.model_validate(ledger_views.export(services, caller))
