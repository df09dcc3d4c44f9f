"""The release protocol (DESIGN §5): challenge, then Evidence, then keys — only to verified, bound,
allowed hardware, exactly once.

``issue_challenge`` gives the job's node a single-use nonce. ``attest`` then, in order:

1. consumes the nonce in its own committed transaction, whatever happens next (a replayed or
   retried nonce, an unknown or expired session is refused and recorded; so is a node that is no
   longer active, before any Evidence is read);
2. recomputes the report-data and GPU-nonce bindings from the nonce, the posted public keys and the
   job's manifest digest, and has every piece of Evidence verified against them at the gateway's
   ``now`` (the Verifier reads its Endorsements from the collateral store);
3. checks the attested CPU and GPUs are the hardware the provider registered for the node, and that
   they meet the job's requirements (TEE type, GPU count and architecture) as attested;
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
import dataclasses
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from attestation.errors import AttestationError
from attestation.evidence import CpuEvidence, EvidenceBundle, GpuArch, GpuEvidence, TeeType
from attestation.token import BoundKeys, attestation_token_claims
from enclave_runner.protocol.binding import report_data as bind_report_data
from enclave_runner.protocol.canonical import JsonValue
from enclave_runner.protocol.messages import (
    AttestationRequest,
    AttestationResponse,
    JobManifest,
    ReleasedKey,
    b64decode,
)
from enclave_runner.protocol.sealing import SealContext
from gateway.auth.permissions import Caller
from gateway.domain import new_id
from gateway.errors import (
    AttestationSimulatedRefusedError,
    AttestedHardwareMismatchError,
    GatewayError,
    JobStateError,
    NodeNotActiveError,
    NonceExpiredError,
    NonceReusedError,
    NotFoundError,
    SessionKeysInvalidError,
    SessionUnknownError,
)
from gateway.keyvault import SigningPurpose
from gateway.ledger.records import EventKind
from gateway.services.context import ServiceContext
from gateway.services.evidence_verification import refuse_simulated
from gateway.services.jobs import active_node, check_attested_requirements, manifest_of
from gateway.services.refusals import MAX_ID, detail, record_refusal, recording_node_refusals
from gateway.services.release_commit import CHALLENGE_STATES, ReleaseAttempt, Released, commit_release
from gateway.services.release_decisions import hardware_match
from gateway.storage import release_rows as rows
from gateway.storage.schema import AttestationSession, Job

#: The size of an X25519 and of an Ed25519 public key.
PUBLIC_KEY_SIZE = 32


@dataclass(frozen=True)
class IssuedChallenge:
    """A nonce for one attestation attempt."""

    session_id: str
    nonce: bytes
    expires_at: datetime
    manifest: JobManifest


@recording_node_refusals("challenge")
def issue_challenge(ctx: ServiceContext, caller: Caller, job_id: str) -> IssuedChallenge:
    """A fresh single-use nonce for the node that claimed ``job_id``.

    Raises:
        NodeNotActiveError: the node is not active (recorded in the provider's ledger view).
        NotFoundError: no such job on this node.
        JobStateError: the job is not waiting for an attestation.
    """
    with ctx.db.transaction() as session:
        node, _provider = active_node(session, caller)
        connection = session.connection()
        job = rows.job(connection, job_id)
        if job is None or job.node_id != node.id:
            raise NotFoundError("job", job_id)
        if job.state not in CHALLENGE_STATES:
            raise JobStateError(f"job {job_id} is {job.state}; it takes no attestation")
        nonce = secrets.token_bytes(32)
        now = ctx.clock.now()
        expires = now + timedelta(seconds=ctx.settings.attestation_nonce_ttl_seconds)
        session_id = new_id("ses")
        rows.insert_session(
            connection,
            {
                "id": session_id,
                "job_id": job.id,
                "node_id": node.id,
                "nonce": nonce.hex(),
                "issued_at": now,
                "expires_at": expires,
            },
        )
        ctx.ledger.append(
            session,
            EventKind.SESSION_ISSUED,
            job.tenant_id,
            {"job": job.id, "node": node.id, "session": session_id, "expires_at": expires.isoformat()},
        )
        return IssuedChallenge(session_id, nonce, expires, manifest_of(job))


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

    attestation: rows.SessionRow
    job: rows.JobRow
    node: rows.NodeRow
    provider: rows.ProviderRow
    keys: BoundKeys
    report_data: bytes

    def as_release(self) -> ReleaseAttempt:
        """The identifiers and keys the release transaction needs."""
        return ReleaseAttempt(
            self.attestation.id, self.job.id, self.job.tenant_id, self.node.id, self.node.tenant_id, self.keys
        )


def attest(
    ctx: ServiceContext, caller: Caller, job_id: str, request: AttestationRequest
) -> AttestationResponse:
    """Verify the runner's Evidence and, if everything allows it, release the job's data keys.

    Raises:
        SessionUnknownError, NonceReusedError, NonceExpiredError: the nonce is refused.
        NodeNotActiveError: the node is not active (now, or by the time the decision commits).
        NotFoundError: no such job on this node.
        JobStateError: the job is not waiting for an attestation.
        AttestationSimulatedRefusedError: simulated Evidence on a gateway that refuses it.
        attestation.errors.AttestationError: the Evidence does not verify.
        AttestedHardwareMismatchError: the attested hardware is not the registered one.
        RequirementsUnmetError: the attested TEE type or GPUs are not what the job requires.
        PolicyDeniedError, ReleaseLimitError, ArtefactExpiredError: nothing was released.
    """
    try:
        attempt = _consume(ctx, caller, job_id, request)
    except (NodeNotActiveError, SessionUnknownError) as exc:
        _record_session_refusal(ctx, caller, job_id, request.session_id, exc)
        raise
    now = ctx.clock.now()
    try:
        bundle = bundle_from_wire(request)
        # Before the Verifier runs, for Evidence that says it is simulated; after it, for a report in a
        # vendor's format that the simulated vendor signed.
        refuse_simulated(
            bundle.cpu.tee is TeeType.SIMULATED, ctx.settings, refusal=AttestationSimulatedRefusedError
        )
        result = ctx.evidence_verifier.verify(bundle, expected_report_data=attempt.report_data, now=now)
        refuse_simulated(result.cpu.simulated, ctx.settings, refusal=AttestationSimulatedRefusedError)
        match = hardware_match(attempt.node, result)
        if not (match.cpu_id_match and match.gpu_serials_match and match.gpu_count_match):
            raise AttestedHardwareMismatchError(
                "the attested CPU or GPUs are not the hardware registered for this node "
                f"(CPU id {match.cpu_id_match}, GPU serials {match.gpu_serials_match}, "
                f"GPU count {match.gpu_count_match})"
            )
        check_attested_requirements(manifest_of(attempt.job).requirements, result)
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
    # The policies are evaluated inside the release transaction, on the rows it locks.
    released = commit_release(ctx, attempt.as_release(), attempt.provider, result, (token, token_id), now)
    if ctx.settings.crash_test_pause_after_release_seconds:
        # The window between the ledger commit and the response, held open for the crash test.
        time.sleep(ctx.settings.crash_test_pause_after_release_seconds)
    return _seal(ctx, attempt, released, token)


def _consume(ctx: ServiceContext, caller: Caller, job_id: str, request: AttestationRequest) -> _Attempt:
    """Spend the nonce (committed on its own) and gather what the attestation is bound to."""
    refusal: GatewayError | None = None
    with ctx.db.transaction() as session:
        node, provider = active_node(session, caller)
        connection = session.connection()
        row = rows.attestation_session(connection, request.session_id, lock=True)
        if row is None or row.job_id != job_id or row.node_id != node.id:
            raise SessionUnknownError("the gateway issued no such session to this node for this job")
        job = rows.job(connection, job_id)
        if job is None:
            raise NotFoundError("job", job_id)
        now = ctx.clock.now()
        changes: dict[str, object] = {}
        if row.consumed_at is not None:
            refusal = NonceReusedError("this session's nonce was used already; ask for a new challenge")
        else:
            changes["consumed_at"] = now
            if row.expires_at <= now:
                refusal = NonceExpiredError("this session's nonce expired; ask for a new challenge")
            elif job.state not in CHALLENGE_STATES:
                refusal = JobStateError(f"job {job_id} is {job.state}; it takes no attestation")
        x25519, ed25519 = b64decode(request.keys.x25519), b64decode(request.keys.ed25519)
        if refusal is None and (len(x25519) != PUBLIC_KEY_SIZE or len(ed25519) != PUBLIC_KEY_SIZE):
            # Refused here, nonce spent: no Evidence can be bound to, nor a key sealed to, such keys.
            refusal = SessionKeysInvalidError(
                f"public keys are {PUBLIC_KEY_SIZE} bytes; got X25519 {len(x25519)}, Ed25519 {len(ed25519)}"
            )
        if refusal is not None:
            changes["outcome"] = row.outcome or refusal.code
            ctx.ledger.append(
                session,
                EventKind.EVIDENCE_REJECTED,
                job.tenant_id,
                {"job": job_id, "node": node.id, "session": row.id, "stage": "session", "code": refusal.code},
            )
        if changes:
            rows.update_session(connection, row.id, changes)
        outcome = refusal or _Attempt(
            row, job, node, provider, BoundKeys(x25519=x25519, ed25519=ed25519), b""
        )
    if isinstance(outcome, GatewayError):
        raise outcome  # After the commit: the nonce stays spent and the refusal stays recorded.
    attempt = outcome
    bound = bind_report_data(
        bytes.fromhex(attempt.attestation.nonce), x25519, ed25519, bytes.fromhex(attempt.job.manifest_digest)
    )
    return dataclasses.replace(attempt, report_data=bound)


def _record_session_refusal(
    ctx: ServiceContext,
    caller: Caller,
    job_id: str,
    session_id: str,
    exc: NodeNotActiveError | SessionUnknownError,
) -> None:
    """Spend the session's nonce if it is this node's for this job, and ledger the refusal.

    This runs before any Evidence is read or any key is touched. The entry goes to the job owner's
    ledger view when the session is this node's for this job, else to the provider's (an unknown
    session names nothing of another tenant).
    """

    def describe(session: Session) -> tuple[str | None, dict[str, JsonValue]]:
        row = session.get(AttestationSession, session_id, with_for_update=True)
        job = session.get(Job, job_id)
        ours = row is not None and job is not None and row.job_id == job_id and row.node_id == caller.subject
        if ours and row is not None:
            row.consumed_at = row.consumed_at or ctx.clock.now()
            row.outcome = row.outcome or exc.code
        return job.tenant_id if job is not None and ours else caller.tenant_id, {
            "job": job_id[:MAX_ID],
            "node": caller.subject,
            "session": session_id[:MAX_ID] if ours else None,
            "stage": "session",
        }

    record_refusal(ctx, exc, describe)


def _record_rejection(ctx: ServiceContext, attempt: _Attempt, exc: AttestationError | GatewayError) -> None:
    """Ledger the refusal with its code; the Verifier's detail goes to the ledger, not to the runner."""

    def describe(session: Session) -> tuple[str | None, dict[str, JsonValue]]:
        row = session.get(AttestationSession, attempt.attestation.id)
        if row is not None:
            row.outcome = str(exc.code)
        return attempt.job.tenant_id, {
            "job": attempt.job.id,
            "node": attempt.node.id,
            "session": attempt.attestation.id,
            "stage": "evidence",
            "detail": detail(exc),
        }

    record_refusal(ctx, exc, describe)


def _seal(ctx: ServiceContext, attempt: _Attempt, released: Released, token: str) -> AttestationResponse:
    """After the commit: each data key, unwrapped under the KEK, sealed to the runner's X25519 key."""
    keys = []
    for version, artefact_id in released.versions:
        assert version.sealed_key is not None
        assert version.kek_id is not None
        sealed = ctx.vault.reseal(
            version.kek_id,
            version.sealed_key,
            SealContext.deposit(artefact_id, version.kek_id),
            attempt.keys.x25519,
            SealContext.release(artefact_id, attempt.job.id, attempt.attestation.id),
        )
        keys.append(
            ReleasedKey(
                artefact_id=artefact_id,
                version=version.version,
                sealed_key=base64.b64encode(sealed).decode("ascii"),
                content_url=f"/v1/jobs/{attempt.job.id}/inputs/{artefact_id}",
                ciphertext_digest=version.ciphertext_digest or "",
                ciphertext_size=int(version.size or 0),
            )
        )
    return AttestationResponse(
        attestation_token=token, releases=tuple(keys), denied=(), session_token=released.session_token
    )
