"""The release protocol (DESIGN §5): challenge, then Evidence, then keys — only to verified, bound,
allowed hardware, exactly once.

``issue_challenge`` gives the job's node a single-use nonce. ``attest`` then, in order:

1. consumes the nonce in its own committed transaction, whatever happens next (a replayed or
   retried nonce, an unknown or expired session is refused and recorded);
2. recomputes the report-data and GPU-nonce bindings from the nonce, the posted public keys and the
   job's manifest digest, and has every piece of Evidence verified against them at the gateway's
   ``now`` (the Verifier reads its Endorsements from the collateral store);
3. checks the attested CPU and GPUs are the hardware the provider registered for the node;
4. signs the Attestation Result as an attestation token bound to the keys and the manifest;
5. evaluates baseline AND artefact policy for every input;
6. in ONE transaction, under the ledger lock: re-checks the node and the job, records every decision,
   and — only if every input is allowed — counts each release against its artefact's maximum (once per
   job) and records the releases; a refusal releases nothing and rejects the job;
7. only after that commit, unwraps each data key under the KEK and seals it to the runner's attested
   X25519 key, and issues the session token.

A crash between 6 and 7 leaves a ledger that shows the release and a count that agrees with it; the
runner attests again with a fresh nonce and receives the keys without the job being counted twice.
"""

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from attestation.errors import AttestationError
from attestation.evidence import CpuEvidence, EvidenceBundle, GpuArch, GpuEvidence, TeeType
from attestation.result import AttestationResult
from attestation.token import BoundKeys, attestation_token_claims
from enclave_runner.protocol.binding import report_data as bind_report_data
from enclave_runner.protocol.messages import (
    AttestationRequest,
    AttestationResponse,
    JobManifest,
    ReleasedKey,
    b64decode,
)
from enclave_runner.protocol.sealing import SealContext
from gateway.auth.permissions import Caller
from gateway.domain import ArtefactState, JobState, NodeState, Role, new_id
from gateway.errors import (
    ArtefactExpiredError,
    AttestedHardwareMismatchError,
    GatewayError,
    JobStateError,
    NodeNotActiveError,
    NonceExpiredError,
    NonceReusedError,
    NotFoundError,
    PolicyDeniedError,
    ReleaseLimitError,
    ReleaseRefusedError,
    SessionUnknownError,
    SimulatedTeeRefusedError,
)
from gateway.keyvault import SigningPurpose
from gateway.ledger.records import EventKind
from gateway.services.context import ServiceContext
from gateway.services.job_states import transition
from gateway.services.jobs import active_node, manifest_of
from gateway.services.release_decisions import ArtefactDecision, decide, hardware_match
from gateway.storage.schema import (
    Artefact,
    ArtefactVersion,
    AttestationSession,
    Job,
    JobInput,
    Node,
    Release,
    ReleaseCount,
    Tenant,
)

CHALLENGE_STATES = frozenset({JobState.ASSIGNED, JobState.ATTESTED, JobState.RELEASED})


@dataclass(frozen=True)
class IssuedChallenge:
    """A nonce for one attestation attempt."""

    session_id: str
    nonce: bytes
    expires_at: datetime
    manifest: JobManifest


def issue_challenge(ctx: ServiceContext, caller: Caller, job_id: str) -> IssuedChallenge:
    """A fresh single-use nonce for the node that claimed ``job_id``.

    Raises:
        NodeNotActiveError: the node is not active.
        NotFoundError: no such job on this node.
        JobStateError: the job is not waiting for an attestation.
    """
    with ctx.db.transaction() as session:
        node, _provider = active_node(session, caller)
        job = session.get(Job, job_id)
        if job is None or job.node_id != node.id:
            raise NotFoundError("job", job_id)
        if job.state not in CHALLENGE_STATES:
            raise JobStateError(f"job {job_id} is {job.state}; it takes no attestation")
        nonce = secrets.token_bytes(32)
        now = ctx.clock.now()
        expires = now + timedelta(seconds=ctx.settings.attestation_nonce_ttl_seconds)
        row = AttestationSession(
            id=new_id("ses"),
            job_id=job.id,
            node_id=node.id,
            nonce=nonce.hex(),
            issued_at=now,
            expires_at=expires,
        )
        session.add(row)
        ctx.ledger.append(
            session,
            EventKind.SESSION_ISSUED,
            job.tenant_id,
            {"job": job.id, "node": node.id, "session": row.id, "expires_at": expires.isoformat()},
        )
        return IssuedChallenge(row.id, nonce, expires, manifest_of(job))


def bundle_from_wire(request: AttestationRequest) -> EvidenceBundle:
    """The Verifier's frozen Evidence from the wire message (base64 already validated)."""
    cpu = request.evidence.cpu
    return EvidenceBundle(
        cpu=CpuEvidence(TeeType(cpu.type), b64decode(cpu.report), b64decode(cpu.certificates)),
        gpus=tuple(
            GpuEvidence(GpuArch(gpu.arch), b64decode(gpu.evidence), b64decode(gpu.certificate))
            for gpu in request.evidence.gpus
        ),
    )


@dataclass(frozen=True)
class _Attempt:
    """What was established about one attestation before any key moves."""

    attestation: AttestationSession
    job: Job
    node: Node
    keys: BoundKeys
    report_data: bytes


def attest(
    ctx: ServiceContext, caller: Caller, job_id: str, request: AttestationRequest
) -> AttestationResponse:
    """Verify the runner's Evidence and, if everything allows it, release the job's data keys.

    Raises:
        SessionUnknownError, NonceReusedError, NonceExpiredError: the nonce is refused.
        NodeNotActiveError: the node is not active (now, or by the time the decision commits).
        NotFoundError: no such job on this node.
        JobStateError: the job is not waiting for an attestation.
        SimulatedTeeRefusedError: simulated Evidence on a gateway that refuses it.
        attestation.errors.AttestationError: the Evidence does not verify.
        AttestedHardwareMismatchError: the attested hardware is not the registered one.
        PolicyDeniedError, ReleaseLimitError, ArtefactExpiredError: nothing was released.
    """
    attempt = _consume(ctx, caller, job_id, request)
    now = ctx.clock.now()
    try:
        bundle = bundle_from_wire(request)
        if bundle.cpu.tee is TeeType.SIMULATED and not ctx.settings.allow_simulated_tee:
            raise SimulatedTeeRefusedError("this gateway does not accept simulated Evidence")
        result = ctx.evidence_verifier.verify(bundle, expected_report_data=attempt.report_data, now=now)
        match = hardware_match(attempt.node, result)
        if not (match.cpu_id_match and match.gpu_serials_match and match.gpu_count_match):
            raise AttestedHardwareMismatchError(
                "the attested CPU or GPUs are not the hardware registered for this node "
                f"(CPU id {match.cpu_id_match}, GPU serials {match.gpu_serials_match}, "
                f"GPU count {match.gpu_count_match})"
            )
    except (AttestationError, GatewayError) as exc:
        _record_rejection(ctx, attempt, exc)
        raise
    token_id = new_id("att")
    token = ctx.vault.sign_jwt(
        SigningPurpose.ATTESTATION_TOKEN,
        attestation_token_claims(
            result,
            issuer=ctx.settings.token_issuer,
            nonce=bytes.fromhex(attempt.attestation.nonce),
            report_data=attempt.report_data,
            bound_keys=attempt.keys,
            manifest_digest=bytes.fromhex(attempt.job.manifest_digest),
            now=now,
            lifetime=timedelta(seconds=ctx.settings.attestation_token_ttl_seconds),
            token_id=token_id,
        ),
    )
    released = _decide_and_record(ctx, attempt, result, token, token_id, now)
    if ctx.settings.crash_test_pause_after_release_seconds:
        # The window between the ledger commit and the response, held open for the crash test.
        time.sleep(ctx.settings.crash_test_pause_after_release_seconds)
    return _seal(ctx, attempt, released, token)


def _consume(ctx: ServiceContext, caller: Caller, job_id: str, request: AttestationRequest) -> _Attempt:
    """Spend the nonce (committed on its own) and gather what the attestation is bound to."""
    refusal: GatewayError | None = None
    with ctx.db.transaction() as session:
        node, _provider = active_node(session, caller)
        row = session.get(AttestationSession, request.session_id, with_for_update=True)
        if row is None or row.job_id != job_id or row.node_id != node.id:
            raise SessionUnknownError("the gateway issued no such session to this node for this job")
        job = session.get(Job, job_id)
        if job is None:
            raise NotFoundError("job", job_id)
        now = ctx.clock.now()
        if row.consumed_at is not None:
            refusal = NonceReusedError("this session's nonce was used already; ask for a new challenge")
        else:
            row.consumed_at = now
            if row.expires_at <= now:
                refusal = NonceExpiredError("this session's nonce expired; ask for a new challenge")
            elif job.state not in CHALLENGE_STATES:
                refusal = JobStateError(f"job {job_id} is {job.state}; it takes no attestation")
        if refusal is not None:
            row.outcome = row.outcome or refusal.code
            ctx.ledger.append(
                session,
                EventKind.EVIDENCE_REJECTED,
                job.tenant_id,
                {"job": job_id, "node": node.id, "session": row.id, "stage": "session", "code": refusal.code},
            )
        x25519, ed25519 = b64decode(request.keys.x25519), b64decode(request.keys.ed25519)
        attempt = _Attempt(row, job, node, BoundKeys(x25519=x25519, ed25519=ed25519), b"")
    if refusal is not None:
        raise refusal  # After the commit: the nonce stays spent and the refusal stays recorded.
    try:
        bound = bind_report_data(
            bytes.fromhex(attempt.attestation.nonce),
            x25519,
            ed25519,
            bytes.fromhex(attempt.job.manifest_digest),
        )
    except GatewayError:
        raise
    except Exception as exc:
        error = SessionUnknownError(f"the posted keys cannot be bound: {exc}")
        error.code = "session.keys_invalid"  # type: ignore[misc]  # a finer code for this one refusal.
        _record_rejection(ctx, attempt, error)
        raise error from exc
    return _Attempt(attempt.attestation, attempt.job, attempt.node, attempt.keys, bound)


def _record_rejection(ctx: ServiceContext, attempt: _Attempt, exc: AttestationError | GatewayError) -> None:
    """Ledger the refusal with its code; the Verifier's detail goes to the ledger, not to the runner."""
    with ctx.db.transaction() as session:
        row = session.get(AttestationSession, attempt.attestation.id)
        if row is not None:
            row.outcome = exc.code
        ctx.ledger.append(
            session,
            EventKind.EVIDENCE_REJECTED,
            attempt.job.tenant_id,
            {
                "job": attempt.job.id,
                "node": attempt.node.id,
                "session": attempt.attestation.id,
                "stage": "evidence",
                "code": exc.code,
                "detail": str(exc)[:500],
            },
        )


@dataclass(frozen=True)
class _Released:
    """What the committed transaction released: versions (for their sealed keys) and the session token."""

    versions: list[tuple[ArtefactVersion, Artefact]]
    session_token: str


def _decide_and_record(  # noqa: PLR0917 - the attempt, its result, its token and the time, as decided.
    ctx: ServiceContext,
    attempt: _Attempt,
    result: AttestationResult,
    token: str,
    token_id: str,
    now: datetime,
) -> _Released:
    with ctx.db.transaction() as session:
        ctx.ledger.lock(session)  # Every check below must hold at the moment the decision is recorded.
        job = session.get(Job, attempt.job.id, with_for_update=True)
        node = session.get(Node, attempt.node.id)
        provider = session.get(Tenant, attempt.node.tenant_id)
        attestation = session.get(AttestationSession, attempt.attestation.id)
        assert job is not None
        assert node is not None
        assert provider is not None
        assert attestation is not None
        stale: GatewayError | None = None
        if node.state != NodeState.ACTIVE:
            stale = NodeNotActiveError(f"node {node.id} became {node.state} before the release")
        elif job.state not in CHALLENGE_STATES:
            stale = JobStateError(f"job {job.id} became {job.state} before the release")
        if stale is None:
            refusal = _gateway_refusal(session, job, now)
            decisions = (
                []
                if refusal is not None
                else decide(ctx, session, job, node, provider, attestation, result, now)
            )
            refusal = refusal or _policy_refusal(decisions)
            _record_decisions(ctx, session, attempt, job, result, decisions, token_id, refusal)
            if refusal is None:
                return _release(ctx, session, attempt, job, attestation, decisions, token, token_id, now)
            attestation.outcome = refusal.code
            transition(ctx, session, job, JobState.REJECTED, "release refused", code=refusal.code)
            stale = refusal
        else:
            attestation.outcome = stale.code
            _append_rejection(ctx, session, attempt, "release", stale.code)
    raise stale


def _gateway_refusal(session: Session, job: Job, now: datetime) -> ReleaseRefusedError | None:
    """The relying party's own hard limits, before any policy: expiry, retirement, release maximum."""
    expired: dict[str, tuple[str, ...]] = {}
    limited: dict[str, tuple[str, ...]] = {}
    for job_input in session.scalars(select(JobInput).where(JobInput.job_id == job.id)):
        artefact = session.get(Artefact, job_input.artefact_id, with_for_update=True)
        assert artefact is not None
        if artefact.state == ArtefactState.RETIRED or (
            artefact.expires_at is not None and artefact.expires_at <= now
        ):
            expired[artefact.id] = (ArtefactExpiredError.code,)
            continue
        counted = session.get(ReleaseCount, (artefact.id, job.id)) is not None
        if (
            not counted
            and artefact.max_releases is not None
            and artefact.release_count >= artefact.max_releases
        ):
            limited[artefact.id] = (ReleaseLimitError.code,)
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


def _record_decisions(  # noqa: PLR0917 - one ledger entry per input, with everything it was decided on.
    ctx: ServiceContext,
    session: Session,
    attempt: _Attempt,
    job: Job,
    result: AttestationResult,
    decisions: list[ArtefactDecision],
    token_id: str,
    refusal: ReleaseRefusedError | None,
) -> None:
    gpu_serials = [gpu.ueid for gpu in result.gpus]
    by_artefact = {item.artefact.id: item for item in decisions}
    inputs = list(
        session.scalars(select(JobInput).where(JobInput.job_id == job.id).order_by(JobInput.artefact_id))
    )
    for job_input in inputs:
        item = by_artefact.get(job_input.artefact_id)
        if refusal is not None and item is None:
            reasons = refusal.denied.get(job_input.artefact_id, ())
        else:
            reasons = item.reasons if item is not None else ()
        allowed = refusal is None
        digests = list(item.policy_digests) if item is not None else []
        decision_json = item.decision.to_json() if item is not None and item.decision is not None else None
        entry = ctx.ledger.append(
            session,
            EventKind.RELEASE_DECIDED,
            job.tenant_id,
            {
                "job": job.id,
                "artefact": job_input.artefact_id,
                "version": job_input.version,
                "session": attempt.attestation.id,
                "node": attempt.node.id,
                "provider": attempt.node.tenant_id,
                "decision": "allow" if allowed else "deny",
                "reasons": list(reasons),
                "refusal": None if refusal is None else refusal.code,
                "policies": decision_json,
                "evidence_digest": result.evidence_digest,
                "token_id": token_id,
                "gpu_serials": gpu_serials,
            },
        )
        session.add(
            Release(
                id=new_id("rel"),
                job_id=job.id,
                artefact_id=job_input.artefact_id,
                version=job_input.version,
                session_id=attempt.attestation.id,
                node_id=attempt.node.id,
                provider_id=attempt.node.tenant_id,
                decision="allow" if allowed else "deny",
                reasons=list(reasons) or ([] if refusal is None else [refusal.code]),
                evidence_digest=result.evidence_digest,
                token_id=token_id,
                policy_digests=digests,
                sealed_to=None,
                gpu_serials=gpu_serials,
                ledger_index=entry.index,
                decided_at=ctx.clock.now(),
            )
        )
    session.flush()


def _release(  # noqa: PLR0917 - the committed release of every input, in one transaction.
    ctx: ServiceContext,
    session: Session,
    attempt: _Attempt,
    job: Job,
    attestation: AttestationSession,
    decisions: list[ArtefactDecision],
    token: str,
    token_id: str,
    now: datetime,
) -> _Released:
    thumbprint = hashlib.sha256(attempt.keys.x25519).hexdigest()
    versions: list[tuple[ArtefactVersion, Artefact]] = []
    for item in decisions:
        artefact = item.artefact
        if session.get(ReleaseCount, (artefact.id, job.id)) is None:
            session.add(ReleaseCount(artefact_id=artefact.id, job_id=job.id, counted_at=now))
            artefact.release_count += 1
        version = session.get(ArtefactVersion, (artefact.id, item.job_input.version))
        assert version is not None
        assert version.sealed_key is not None
        assert version.kek_id is not None
        versions.append((version, artefact))
        ctx.ledger.append(
            session,
            EventKind.KEY_RELEASED,
            job.tenant_id,
            {
                "job": job.id,
                "artefact": artefact.id,
                "version": version.version,
                "session": attestation.id,
                "node": attempt.node.id,
                "provider": attempt.node.tenant_id,
                "sealed_to": thumbprint,
                "token_id": token_id,
                "policy_digests": list(item.policy_digests),
                "release_count": artefact.release_count,
            },
        )
    for release in session.scalars(select(Release).where(Release.session_id == attestation.id)):
        release.sealed_to = thumbprint
    attestation.outcome = "released"
    attestation.x25519 = attempt.keys.x25519.hex()
    attestation.ed25519 = attempt.keys.ed25519.hex()
    attestation.token_id = token_id
    attestation.attestation_token = token
    if job.state != JobState.ATTESTED:
        transition(ctx, session, job, JobState.ATTESTED, f"Evidence verified in session {attestation.id}")
    transition(ctx, session, job, JobState.RELEASED, f"keys released in session {attestation.id}")
    ttl = timedelta(seconds=manifest_of(job).max_runtime_seconds + ctx.settings.session_grace_seconds)
    issued = ctx.tokens.issue(session, attestation.id, attempt.node.tenant_id, [Role.SESSION], ttl)
    return _Released(versions, issued.token)


def _append_rejection(
    ctx: ServiceContext, session: Session, attempt: _Attempt, stage: str, code: str
) -> None:
    ctx.ledger.append(
        session,
        EventKind.EVIDENCE_REJECTED,
        attempt.job.tenant_id,
        {
            "job": attempt.job.id,
            "node": attempt.node.id,
            "session": attempt.attestation.id,
            "stage": stage,
            "code": code,
        },
    )


def _seal(ctx: ServiceContext, attempt: _Attempt, released: _Released, token: str) -> AttestationResponse:
    """After the commit: each data key, unwrapped under the KEK, sealed to the runner's X25519 key."""
    keys = []
    for version, artefact in released.versions:
        assert version.sealed_key is not None
        assert version.kek_id is not None
        assert version.ciphertext_digest is not None
        sealed = ctx.vault.reseal(
            version.kek_id,
            version.sealed_key,
            SealContext.deposit(artefact.id, version.kek_id),
            attempt.keys.x25519,
            SealContext.release(artefact.id, attempt.job.id, attempt.attestation.id),
        )
        keys.append(
            ReleasedKey(
                artefact_id=artefact.id,
                version=version.version,
                sealed_key=base64.b64encode(sealed).decode("ascii"),
                content_url=f"/v1/jobs/{attempt.job.id}/inputs/{artefact.id}",
                ciphertext_digest=version.ciphertext_digest,
                ciphertext_size=int(version.size or 0),
            )
        )
    return AttestationResponse(
        attestation_token=token, releases=tuple(keys), denied=(), session_token=released.session_token
    )
