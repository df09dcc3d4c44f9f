"""Jobs (DESIGN §4): submission into a canonical manifest, listing, cancellation, and claiming by nodes.

Submitting pins every input to the version and ciphertext digest current at that moment; the
manifest's canonical JSON is what the runner's Evidence will be bound to. A node sees the jobs
offered to it — open ones whose requirements it meets and whose target (provider or node) allows it —
and claims one atomically: the first node wins, a second gets ``job.already_claimed``.
"""

import base64
import functools
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from attestation.result import AttestationResult
from enclave_runner.protocol.messages import JobManifest, ManifestArtefact, Requirements
from gateway.auth.permissions import Caller
from gateway.domain import ArtefactKind, ArtefactState, JobState, NodeState, TenantKind, VersionState, new_id
from gateway.errors import (
    JobAlreadyClaimedError,
    JobInputError,
    NodeNotActiveError,
    NotFoundError,
    RequirementsUnmetError,
)
from gateway.ledger.records import EventKind
from gateway.services.context import ServiceContext
from gateway.services.job_states import transition
from gateway.services.refusals import recording_node_refusals
from gateway.storage import release_rows
from gateway.storage.lookups import get_owned
from gateway.storage.release_rows import JobRow, NodeRow, ProviderRow
from gateway.storage.schema import Artefact, ArtefactVersion, Job, JobInput, Node, Tenant

TeeName = Literal["snp", "tdx", "simulated"]
GpuArchName = Literal["hopper", "blackwell"]


@dataclass(frozen=True, slots=True)
class NewJob:
    """What an owner submits."""

    datasets: tuple[str, ...]
    model: str
    entrypoint: str
    arguments: tuple[str, ...]
    result_recipient: bytes
    tee_types: tuple[TeeName, ...]
    gpu_count: int
    gpu_arch: GpuArchName | None
    max_runtime_seconds: int
    purpose: str = ""
    target_provider: str | None = None
    target_node: str | None = None


def manifest_of(job: Job | JobRow) -> JobManifest:
    """The job's manifest, parsed from the canonical JSON stored at submission."""
    return _parsed_manifest(job.manifest)


@functools.lru_cache(maxsize=1024)
def _parsed_manifest(text: str) -> JobManifest:
    # A release parses its job's manifest three times (challenge, attestation, commit); the text is
    # the cache key, so what is returned is always the stored manifest, and the model is frozen.
    return JobManifest.model_validate_json(text)


def submit_job(ctx: ServiceContext, caller: Caller, request: NewJob) -> Job:
    """Create a job over the caller's artefacts and record its manifest digest.

    Raises:
        NotFoundError: an artefact, the target provider or the target node does not exist (for you).
        JobInputError: an input is of the wrong kind, retired, expired, or has no ready version; the
            result recipient is not an X25519 public key.
    """
    if len(request.result_recipient) != 32:
        raise JobInputError("the result recipient must be a 32-byte X25519 public key (ccgate keygen)")
    if request.model in request.datasets or len(set(request.datasets)) != len(request.datasets):
        raise JobInputError("each input may appear once")
    now = ctx.clock.now()
    job_id = new_id("job")
    with ctx.db.transaction() as session:
        datasets = tuple(
            _pin(session, caller, ident, ArtefactKind.DATASET, ctx) for ident in request.datasets
        )
        model = _pin(session, caller, request.model, ArtefactKind.MODEL, ctx)
        _check_target(session, request)
        manifest = JobManifest(
            job_id=job_id,
            tenant=caller.tenant_id,
            datasets=datasets,
            model=model,
            entrypoint=request.entrypoint,
            arguments=request.arguments,
            result_recipient=base64.b64encode(request.result_recipient).decode("ascii"),
            requirements=Requirements(
                tee_types=request.tee_types, gpu_count=request.gpu_count, gpu_arch=request.gpu_arch
            ),
            target_provider=request.target_provider,
            target_node=request.target_node,
            max_runtime_seconds=request.max_runtime_seconds,
        )
        job = Job(
            id=job_id,
            tenant_id=caller.tenant_id,
            owner=caller.subject,
            state=str(JobState.SUBMITTED),
            purpose=request.purpose,
            manifest=manifest.canonical().decode("utf-8"),
            manifest_digest=manifest.digest().hex(),
            target_provider=request.target_provider,
            target_node=request.target_node,
            created_at=now,
            updated_at=now,
        )
        session.add(job)
        session.flush()
        for item in (*datasets, model):
            session.add(
                JobInput(
                    job_id=job_id,
                    artefact_id=item.artefact_id,
                    version=item.version,
                    kind=item.kind,
                    ciphertext_digest=item.ciphertext_digest,
                )
            )
        ctx.ledger.append(
            session,
            EventKind.JOB_SUBMITTED,
            caller.tenant_id,
            {
                "job": job_id,
                "manifest_digest": job.manifest_digest,
                "inputs": [f"{i.artefact_id}@{i.version}" for i in (*datasets, model)],
                "by": caller.subject,
            },
        )
        return job


def _pin(
    session: Session, caller: Caller, ident: str, kind: ArtefactKind, ctx: ServiceContext
) -> ManifestArtefact:
    artefact = get_owned(session, Artefact, ident, caller.tenant_id, "artefact")
    if artefact.kind != kind:
        raise JobInputError(f"artefact {ident} is a {artefact.kind}, not a {kind}")
    if artefact.state == ArtefactState.RETIRED:
        raise JobInputError(f"artefact {ident} is retired")
    if artefact.expires_at is not None and artefact.expires_at <= ctx.clock.now():
        raise JobInputError(f"artefact {ident} expired")
    version = (
        None
        if artefact.current_version is None
        else session.get(ArtefactVersion, (artefact.id, artefact.current_version))
    )
    if version is None or version.state != VersionState.READY or version.ciphertext_digest is None:
        raise JobInputError(f"artefact {ident} has no version with both its content and its key")
    return ManifestArtefact(
        artefact_id=artefact.id,
        version=version.version,
        kind="dataset" if kind is ArtefactKind.DATASET else "model",
        ciphertext_digest=version.ciphertext_digest,
    )


def _check_target(session: Session, request: NewJob) -> None:
    if request.target_provider is not None:
        tenant = session.get(Tenant, request.target_provider)
        if tenant is None or tenant.kind != TenantKind.PROVIDER:
            raise NotFoundError("provider", request.target_provider)
    if request.target_node is not None:
        node = session.get(Node, request.target_node)
        if node is None or (
            request.target_provider is not None and node.tenant_id != request.target_provider
        ):
            raise NotFoundError("node", request.target_node)


def list_jobs(ctx: ServiceContext, caller: Caller) -> list[Job]:
    """The jobs of the caller's tenant, newest first."""
    with ctx.db.transaction() as session:
        query = select(Job).where(Job.tenant_id == caller.tenant_id).order_by(Job.created_at.desc())
        return list(session.scalars(query))


def get_job(ctx: ServiceContext, caller: Caller, job_id: str) -> tuple[Job, list[JobInput]]:
    """One job of the caller's tenant and its inputs.

    Raises:
        NotFoundError: no such job in the caller's tenant.
    """
    with ctx.db.transaction() as session:
        job = get_owned(session, Job, job_id, caller.tenant_id, "job")
        return job, list(session.scalars(select(JobInput).where(JobInput.job_id == job_id)))


def cancel_job(ctx: ServiceContext, caller: Caller, job_id: str) -> Job:
    """Cancel a job that has not finished; a runner holding its session can no longer upload a result.

    Raises:
        NotFoundError: no such job in the caller's tenant.
        JobStateError: the job finished already.
    """
    with ctx.db.transaction() as session:
        job = get_owned(session, Job, job_id, caller.tenant_id, "job", lock=True)
        transition(ctx, session, job, JobState.CANCELLED, f"cancelled by {caller.subject}")
        return job


def _offered_to(node: NodeRow, provider: ProviderRow, job: Job) -> bool:
    manifest = manifest_of(job)
    requirements = manifest.requirements
    if job.target_node is not None and job.target_node != node.id:
        return False
    if job.target_provider is not None and job.target_provider != node.tenant_id:
        return False
    return (
        node.tee_type in requirements.tee_types
        and node.gpu_count >= requirements.gpu_count
        and provider.kyc_status == "approved"
    )


def check_attested_requirements(requirements: Requirements, result: AttestationResult) -> None:
    """Check the Attestation Result against the job's requirements, as attested rather than as registered.

    A job is offered on what its node registered (and the GPU architecture is not registered at all);
    what receives its keys is what the Evidence showed, so every requirement is checked again here.
    A GPU whose architecture the Verifier could not confirm against its certificates meets no
    architecture requirement.

    Raises:
        RequirementsUnmetError: the attested TEE type, GPU count or GPU architecture is not the required one.
    """
    if str(result.cpu.tee) not in requirements.tee_types:
        raise RequirementsUnmetError(
            f"the job needs a TEE of {', '.join(requirements.tee_types)}; the Evidence is {result.cpu.tee}"
        )
    if len(result.gpus) < requirements.gpu_count:
        raise RequirementsUnmetError(
            f"the job needs {requirements.gpu_count} GPU(s); the Evidence shows {len(result.gpus)}"
        )
    wanted = requirements.gpu_arch
    if wanted is not None and any(str(gpu.arch) != wanted or not gpu.arch_check for gpu in result.gpus):
        raise RequirementsUnmetError(
            f"the job needs {wanted} GPUs; the Evidence shows other or unconfirmed ones"
        )


def offered_jobs(ctx: ServiceContext, caller: Caller) -> list[Job]:
    """Jobs a node may run: assigned to it and not finished, or open and matching its hardware.

    Raises:
        NodeNotActiveError: the node is not active.
    """
    with ctx.db.transaction() as session:
        node, provider = active_node(session, caller)
        assigned = select(Job).where(
            Job.node_id == node.id, Job.state.in_([JobState.ASSIGNED, JobState.RELEASED, JobState.ATTESTED])
        )
        open_jobs = select(Job).where(Job.state == JobState.SUBMITTED).order_by(Job.created_at)
        mine = list(session.scalars(assigned))
        return mine + [job for job in session.scalars(open_jobs) if _offered_to(node, provider, job)]


@recording_node_refusals("claim")
def claim_job(ctx: ServiceContext, caller: Caller, job_id: str) -> Job:
    """Assign an open job to the calling node (idempotent for the node that holds it).

    Raises:
        NodeNotActiveError: the node is not active (recorded in the provider's ledger view).
        NotFoundError: no such job, or it is not offered to this node.
        JobAlreadyClaimedError: another node claimed it first.
    """
    with ctx.db.transaction() as session:
        node, provider = active_node(session, caller)
        job = session.get(Job, job_id, with_for_update=True)
        if job is None:
            raise NotFoundError("job", job_id)
        if job.node_id == node.id and job.state != JobState.SUBMITTED:
            return job
        if job.node_id is not None or job.state != JobState.SUBMITTED:
            raise JobAlreadyClaimedError(f"job {job_id} is {job.state} on another node")
        if not _offered_to(node, provider, job):
            raise NotFoundError("job", job_id)
        # The row is locked (FOR UPDATE on PostgreSQL, the write transaction on SQLite): with two
        # nodes racing, the second one reads the first one's node id above and is refused.
        job.node_id = node.id
        transition(ctx, session, job, JobState.ASSIGNED, f"claimed by node {node.id}")
        return job


def active_node(session: Session, caller: Caller) -> tuple[NodeRow, ProviderRow]:
    """The calling node and its provider, refusing a node that is not active.

    Raises:
        NotFoundError: the caller is not a node credential of an existing node.
        NodeNotActiveError: the node is pending, quarantined or revoked.
    """
    connection = session.connection()
    node = release_rows.node(connection, caller.subject)
    if not caller.is_node or node is None or node.tenant_id != caller.tenant_id:
        raise NotFoundError("node", caller.subject)
    if node.state != NodeState.ACTIVE:
        raise NodeNotActiveError(f"node {node.id} is {node.state}")
    provider = release_rows.provider(connection, node.tenant_id)
    if provider is None:
        raise NotFoundError("provider", node.tenant_id)
    return node, provider
