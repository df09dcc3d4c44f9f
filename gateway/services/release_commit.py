"""The one transaction in which a release is decided for good (DESIGN §5 step 5, §11).

It runs under the ledger lock (a row lock on PostgreSQL, the write lock on SQLite), so every check in
it holds at the moment the decision is recorded: the node is still active, the job still waits for
its keys, no input expired or was retired, and no input reached its maximum number of releases
(counted once per job). The policies are evaluated here too, on the rows as this transaction read
and locked them, so the decision recorded is the one the committed state allows (their evaluation
costs microseconds; the Evidence was verified before the lock was taken). Only if everything allows
it are the releases counted and recorded — and only after this commit does any key leave the
gateway. The section is kept short on purpose: it is what serialises releases across every replica.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from attestation.result import AttestationResult
from attestation.token import BoundKeys
from gateway.domain import ArtefactState, JobState, NodeState, Role, new_id
from gateway.errors import (
    ArtefactExpiredError,
    GatewayError,
    JobStateError,
    NodeNotActiveError,
    NotFoundError,
    PolicyDeniedError,
    ReleaseLimitError,
    ReleaseRefusedError,
)
from gateway.ledger.records import EventKind
from gateway.services.context import ServiceContext
from gateway.services.job_states import transition
from gateway.services.jobs import manifest_of
from gateway.services.release_decisions import ArtefactDecision, decide
from gateway.storage import release_rows as rows
from gateway.storage.release_rows import (
    ArtefactRow,
    InputRow,
    JobRow,
    NodeRow,
    ProviderRow,
    SessionRow,
    VersionRow,
)

CHALLENGE_STATES = frozenset({JobState.ASSIGNED, JobState.ATTESTED, JobState.RELEASED})


@dataclass(frozen=True)
class ReleaseAttempt:
    """Who is being released to: ids only, and the runner's bound public keys."""

    session_id: str
    job_id: str
    tenant_id: str
    node_id: str
    provider_id: str
    keys: BoundKeys


@dataclass(frozen=True)
class Released:
    """What the committed transaction released: versions (for their sealed keys) and the session token."""

    versions: list[tuple[VersionRow, str]]
    session_token: str


def reload(
    connection: Connection, job_id: str, node_id: str, session_id: str
) -> tuple[JobRow, NodeRow, SessionRow]:
    """The rows a release is about, read in the transaction of ``connection``.

    Raises:
        NotFoundError: one of them is gone (cannot happen while foreign keys hold).
    """
    job = rows.job(connection, job_id)
    node = rows.node(connection, node_id)
    attestation = rows.attestation_session(connection, session_id)
    if job is None or node is None or attestation is None:
        raise NotFoundError("attestation", session_id)
    return job, node, attestation


def commit_release(  # noqa: PLR0917 - the attempt, its provider, result, token and time, to decide on.
    ctx: ServiceContext,
    attempt: ReleaseAttempt,
    provider: ProviderRow,
    result: AttestationResult,
    token: tuple[str, str],
    now: datetime,
) -> Released:
    """Re-check, decide, record and (when everything allows it) count the release, in one transaction.

    Raises:
        NodeNotActiveError, JobStateError: the node or the job changed since the attestation began.
        ArtefactExpiredError, ReleaseLimitError, PolicyDeniedError: nothing was released (recorded).
    """
    refusal: GatewayError
    # The ledger lock is taken first and held to the commit; the block's entries are written together.
    with ctx.db.transaction() as session, ctx.ledger.batched(session):
        connection = session.connection()
        job, node, attestation = reload(connection, attempt.job_id, attempt.node_id, attempt.session_id)
        if node.state != NodeState.ACTIVE:
            refusal = NodeNotActiveError(f"node {node.id} became {node.state} before the release")
        elif job.state not in CHALLENGE_STATES:
            refusal = JobStateError(f"job {job.id} became {job.state} before the release")
        else:
            inputs = rows.job_inputs(connection, job.id)
            artefacts = rows.artefacts(connection, [i.artefact_id for i in inputs], lock=True)
            counted = rows.counted_artefacts(connection, job.id)
            versions = rows.input_versions(connection, job.id)
            decisions = decide(
                ctx, session, job, node, provider, attestation, result, now, (inputs, artefacts)
            )
            hard = _hard_limits(inputs, artefacts, counted, now)
            denied = hard or _policy_refusal(decisions)
            thumbprint = hashlib.sha256(attempt.keys.x25519).hexdigest()
            _record_decisions(ctx, session, attempt, inputs, result, decisions, token[1], denied, thumbprint)
            if denied is None:
                return _release(
                    ctx,
                    session,
                    attempt,
                    job,
                    (inputs, artefacts, versions),
                    counted,
                    decisions,
                    token,
                    now,
                )
            rows.update_session(connection, attempt.session_id, {"outcome": denied.code})
            transition(ctx, session, job, JobState.REJECTED, "release refused", code=denied.code)
            rows.save_job_state(connection, job)
            refusal = denied
        if not isinstance(refusal, ReleaseRefusedError):
            rows.update_session(connection, attempt.session_id, {"outcome": refusal.code})
            ctx.ledger.append(
                session,
                EventKind.EVIDENCE_REJECTED,
                attempt.tenant_id,
                {
                    "job": attempt.job_id,
                    "node": attempt.node_id,
                    "session": attempt.session_id,
                    "stage": "release",
                    "code": refusal.code,
                },
            )
    raise refusal


def _hard_limits(
    inputs: list[InputRow], artefacts: dict[str, ArtefactRow], counted: set[str], now: datetime
) -> ReleaseRefusedError | None:
    """The relying party's own limits, before any policy: expiry, retirement, release maximum."""
    expired: dict[str, tuple[str, ...]] = {}
    limited: dict[str, tuple[str, ...]] = {}
    for job_input in inputs:
        artefact = artefacts.get(job_input.artefact_id)
        if (
            artefact is None
            or artefact.state == ArtefactState.RETIRED
            or (artefact.expires_at is not None and artefact.expires_at <= now)
        ):
            expired[job_input.artefact_id] = (ArtefactExpiredError.code,)
        elif (
            job_input.artefact_id not in counted
            and artefact.max_releases is not None
            and artefact.release_count >= artefact.max_releases
        ):
            limited[job_input.artefact_id] = (ReleaseLimitError.code,)
    if expired:
        return ArtefactExpiredError("an input is retired or past its expiry; nothing was released", expired)
    if limited:
        return ReleaseLimitError(
            "an input reached its maximum number of releases; nothing was released", limited
        )
    return None


def _policy_refusal(decisions: list[ArtefactDecision]) -> PolicyDeniedError | None:
    denied = {item.artefact.id: item.reasons for item in decisions if not item.allowed}
    if not denied:
        return None
    return PolicyDeniedError("a policy denied the release of an input; nothing was released", denied)


def _failures(item: ArtefactDecision | None) -> list[dict[str, str]]:
    if item is None or item.decision is None:
        return []
    return [
        {name: str(value) for name, value in failure.to_json().items()} for failure in item.decision.failures
    ]


def _record_decisions(  # noqa: PLR0917 - one ledger entry per input, with everything it was decided on.
    ctx: ServiceContext,
    session: Session,
    attempt: ReleaseAttempt,
    inputs: list[InputRow],
    result: AttestationResult,
    decisions: list[ArtefactDecision],
    token_id: str,
    refusal: ReleaseRefusedError | None,
    thumbprint: str,
) -> None:
    gpu_serials = [gpu.ueid for gpu in result.gpus]
    by_artefact = {item.artefact.id: item for item in decisions}
    allowed = refusal is None
    releases = []
    for job_input in inputs:
        item = by_artefact.get(job_input.artefact_id)
        if refusal is not None and job_input.artefact_id in refusal.denied:
            reasons: tuple[str, ...] = refusal.denied[job_input.artefact_id]
        else:
            reasons = item.reasons if item is not None else ()
        digests = list(item.policy_digests) if item is not None else []
        entry = ctx.ledger.append(
            session,
            EventKind.RELEASE_DECIDED,
            attempt.tenant_id,
            {
                "job": attempt.job_id,
                "artefact": job_input.artefact_id,
                "version": job_input.version,
                "session": attempt.session_id,
                "node": attempt.node_id,
                "provider": attempt.provider_id,
                "decision": "allow" if allowed else "deny",
                "reasons": list(reasons),
                "refusal": None if refusal is None else refusal.code,
                "policies": item.decision.to_json()
                if item is not None and item.decision is not None
                else None,
                "evidence_digest": result.evidence_digest,
                "token_id": token_id,
                "gpu_serials": gpu_serials,
            },
        )
        releases.append(
            {
                "id": new_id("rel"),
                "job_id": attempt.job_id,
                "artefact_id": job_input.artefact_id,
                "version": job_input.version,
                "session_id": attempt.session_id,
                "node_id": attempt.node_id,
                "provider_id": attempt.provider_id,
                "decision": "allow" if allowed else "deny",
                "reasons": list(reasons) or ([] if refusal is None else [refusal.code]),
                "failures": _failures(item),
                "evidence_digest": result.evidence_digest,
                "token_id": token_id,
                "policy_digests": digests,
                "sealed_to": thumbprint if allowed else None,
                "gpu_serials": gpu_serials,
                "ledger_index": entry.index,
                "decided_at": ctx.clock.now(),
            }
        )
    rows.insert_releases(session.connection(), releases)


def _release(  # noqa: PLR0917 - the committed release of every input, in one transaction.
    ctx: ServiceContext,
    session: Session,
    attempt: ReleaseAttempt,
    job: JobRow,
    stored: tuple[list[InputRow], dict[str, ArtefactRow], dict[str, VersionRow]],
    counted: set[str],
    decisions: list[ArtefactDecision],
    token: tuple[str, str],
    now: datetime,
) -> Released:
    inputs, artefacts, stored_versions = stored
    attestation_token, token_id = token
    connection = session.connection()
    thumbprint = hashlib.sha256(attempt.keys.x25519).hexdigest()
    digests = {item.artefact.id: list(item.policy_digests) for item in decisions}
    versions: list[tuple[VersionRow, str]] = []
    to_count = [job_input.artefact_id for job_input in inputs if job_input.artefact_id not in counted]
    # In the same transaction as the ledger entries below, which state the counts after it.
    rows.count_releases(connection, to_count, job.id, now)
    for job_input in inputs:
        artefact = artefacts[job_input.artefact_id]  # _hard_limits refused a missing artefact.
        release_count = artefact.release_count + (1 if artefact.id in to_count else 0)
        version = stored_versions.get(artefact.id)
        if version is None or version.sealed_key is None or version.kek_id is None:
            raise NotFoundError("artefact version", f"{artefact.id}/{job_input.version}")
        versions.append((version, artefact.id))
        ctx.ledger.append(
            session,
            EventKind.KEY_RELEASED,
            attempt.tenant_id,
            {
                "job": job.id,
                "artefact": artefact.id,
                "version": version.version,
                "session": attempt.session_id,
                "node": attempt.node_id,
                "provider": attempt.provider_id,
                "sealed_to": thumbprint,
                "token_id": token_id,
                "policy_digests": digests.get(artefact.id, []),
                "release_count": release_count,
            },
        )
    rows.update_session(
        connection,
        attempt.session_id,
        {
            "outcome": "released",
            "x25519": attempt.keys.x25519.hex(),
            "ed25519": attempt.keys.ed25519.hex(),
            "token_id": token_id,
            "attestation_token": attestation_token,
        },
    )
    if job.state != JobState.ATTESTED:
        transition(ctx, session, job, JobState.ATTESTED, f"Evidence verified in session {attempt.session_id}")
    transition(ctx, session, job, JobState.RELEASED, f"keys released in session {attempt.session_id}")
    rows.save_job_state(connection, job)
    ttl = timedelta(seconds=manifest_of(job).max_runtime_seconds + ctx.settings.session_grace_seconds)
    issued = ctx.tokens.issue(session, attempt.session_id, attempt.provider_id, [Role.SESSION], ttl)
    return Released(versions, issued.token)
