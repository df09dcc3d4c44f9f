"""Recording a refusal in the ledger after the refused transaction rolled back.

A refusal is raised to the client with its stable code whatever happens here: the entry is appended in
a transaction of its own, and if that fails (the database is down, the disk is full) the failure is
logged — code and exception class only — and swallowed. A ledger that cannot be written thus never turns
a refusal into an acceptance, nor its stable code into an internal error; the ledger's own gap is
visible to the operator in the logs.
"""

import functools
import logging
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.orm import Session

from enclave_runner.protocol.canonical import JsonValue
from gateway.auth.permissions import Caller
from gateway.errors import GatewayError, NodeNotActiveError
from gateway.ledger.records import EventKind
from gateway.services.context import ServiceContext

log = logging.getLogger("ccgate.refusals")

T = TypeVar("T")

#: The longest refusal detail kept in the ledger; a Verifier's message is short, a hostile input is not.
MAX_DETAIL = 500

#: The longest id from a request that the ledger keeps (ids are validated on the way in; this bounds
#: what a refusal can write even so).
MAX_ID = 64

#: Given the recording transaction, the tenant whose ledger view gets the entry and the entry's data
#: (the refusal's code is added). It may also update rows, such as spending a session's nonce.
Describe = Callable[[Session], tuple[str | None, dict[str, JsonValue]]]


def record_refusal(
    ctx: ServiceContext,
    refusal: Exception,
    describe: Describe,
    kind: EventKind = EventKind.EVIDENCE_REJECTED,
) -> None:
    """Append a ``kind`` entry (``evidence.rejected`` unless told) for ``refusal`` in its own
    transaction; never raises."""
    code = str(getattr(refusal, "code", "gateway.error"))
    try:
        with ctx.db.transaction() as session:
            tenant, data = describe(session)
            ctx.ledger.append(session, kind, tenant, {**data, "code": code})
    except Exception as exc:  # noqa: BLE001 - whatever broke, the refusal itself must stand.
        log.error("could not record the refusal %s in the ledger: %s", code, type(exc).__name__)


def detail(refusal: Exception) -> str:
    """The refusal's message as the ledger keeps it."""
    return str(refusal)[:MAX_DETAIL]


NodeStep = Callable[[ServiceContext, Caller, str], T]


def recording_node_refusals(stage: str) -> Callable[[NodeStep[T]], NodeStep[T]]:
    """Make a node's step on a job (claim, challenge) ledger its refusal when the node is not active."""

    def decorate(step: NodeStep[T]) -> NodeStep[T]:
        @functools.wraps(step)
        def recorded(ctx: ServiceContext, caller: Caller, job_id: str) -> T:
            try:
                return step(ctx, caller, job_id)
            except NodeNotActiveError as exc:
                record_node_refusal(ctx, caller, job_id, stage, exc)
                raise

        return recorded

    return decorate


def record_node_refusal(
    ctx: ServiceContext, caller: Caller, job_id: str, stage: str, exc: GatewayError
) -> None:
    """Ledger a node's refused claim or challenge (a quarantined or revoked node) in its provider's view."""
    data: dict[str, JsonValue] = {"job": job_id[:MAX_ID], "node": caller.subject, "stage": stage}
    record_refusal(ctx, exc, lambda _session: (caller.tenant_id, data), EventKind.NODE_REFUSED)
