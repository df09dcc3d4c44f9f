"""The job state machine (DESIGN §4): every state change goes through ``transition``.

    submitted → assigned → attested → released → running → completed
    any live state → rejected | failed | cancelled (terminal)

``released → attested`` is allowed: a runner that crashed after its keys were released attests again
with a fresh nonce (its release is not counted twice). Each change is a ledger entry.
"""

from typing import Final

from sqlalchemy.orm import Session

from gateway.domain import JobState
from gateway.errors import JobStateError
from gateway.ledger.records import EventKind
from gateway.services.context import ServiceContext
from gateway.storage.release_rows import JobRow
from gateway.storage.schema import Job

ALLOWED: Final[dict[JobState, frozenset[JobState]]] = {
    JobState.SUBMITTED: frozenset({JobState.ASSIGNED, JobState.CANCELLED}),
    JobState.ASSIGNED: frozenset({JobState.ATTESTED, JobState.REJECTED, JobState.FAILED, JobState.CANCELLED}),
    JobState.ATTESTED: frozenset({JobState.RELEASED, JobState.REJECTED, JobState.FAILED, JobState.CANCELLED}),
    JobState.RELEASED: frozenset(
        {JobState.ATTESTED, JobState.RUNNING, JobState.REJECTED, JobState.FAILED, JobState.CANCELLED}
    ),
    JobState.RUNNING: frozenset({JobState.COMPLETED, JobState.FAILED, JobState.CANCELLED}),
    JobState.COMPLETED: frozenset(),
    JobState.REJECTED: frozenset(),
    JobState.FAILED: frozenset(),
    JobState.CANCELLED: frozenset(),
}


def transition(
    ctx: ServiceContext,
    session: Session,
    job: Job | JobRow,
    to: JobState,
    reason: str,
    *,
    code: str | None = None,
) -> None:
    """Move ``job`` to ``to`` and record it in the ledger, inside the caller's transaction.

    An ORM ``Job`` is written at the transaction's flush; the release path's ``JobRow`` by
    ``release_rows.save_job_state``, which its caller runs after the last transition.

    Raises:
        JobStateError: the state machine does not allow the change.
    """
    current = JobState(job.state)
    if to not in ALLOWED[current]:
        raise JobStateError(f"job {job.id} is {current}; it cannot become {to}")
    job.state = str(to)
    job.updated_at = ctx.clock.now()
    if code is not None:
        job.failure_code = code
    ctx.ledger.append(
        session,
        EventKind.JOB_STATE_CHANGED,
        job.tenant_id,
        {"job": job.id, "from": str(current), "to": str(to), "reason": reason, "code": code},
    )
