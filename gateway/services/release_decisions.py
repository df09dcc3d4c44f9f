"""What the policies see for one release, and the decisions they reach (DESIGN §8).

For every artefact of a job the effective decision is the tenant baseline AND the artefact's pinned
policy, both evaluated on the same Attestation Result and a context the gateway builds from its own
records: the artefact, the job, the node and whether the attested hardware is the registered one,
the provider's KYC status, the release count (other jobs' releases: a job re-attesting after a crash
is not counted twice) and the session's issue time. An artefact without a release policy is denied:
"the artefact's policy allows it" cannot hold for a policy that does not exist.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from attestation.result import AttestationResult
from gateway.services.context import ServiceContext
from gateway.storage import release_rows as rows
from gateway.storage.release_rows import ArtefactRow, InputRow, JobRow, NodeRow, ProviderRow, SessionRow
from policies import (
    ArtefactContext,
    ArtefactKind,
    Decision,
    JobContext,
    KycStatus,
    NodeContext,
    PolicyInput,
    ProviderContext,
    RegisteredHardware,
    ReleaseContext,
    ReleaseCounter,
    SessionContext,
    TenantContext,
    effective_decision,
    evaluate,
)

MISSING_POLICY = "policy.artefact_policy_missing"


@dataclass(frozen=True)
class ArtefactDecision:
    """The effective decision for one input of the job."""

    artefact: ArtefactRow
    job_input: InputRow
    decision: Decision | None
    reasons: tuple[str, ...]

    @property
    def allowed(self) -> bool:
        """Whether both the baseline and the artefact's policy allow the release."""
        return self.decision is not None and self.decision.allowed

    @property
    def policy_digests(self) -> tuple[str, ...]:
        """The digests of the policies that decided."""
        return () if self.decision is None else tuple(policy.digest for policy in self.decision.policies)


def hardware_match(node: NodeRow, result: AttestationResult) -> RegisteredHardware:
    """Compare the attested CPU and GPUs with the node's registration."""
    attested = sorted(gpu.ueid.lower() for gpu in result.gpus)
    registered = sorted(serial.lower() for serial in node.gpu_serials)
    return RegisteredHardware(
        cpu_id_match=result.cpu.hardware_id.lower() == node.cpu_id.lower(),
        gpu_serials_match=attested == registered,
        gpu_count_match=len(result.gpus) == node.gpu_count,
    )


def _kyc(provider: ProviderRow) -> KycStatus:
    try:
        return KycStatus(provider.kyc_status or "pending")
    except ValueError:
        return KycStatus.PENDING


def decide(  # noqa: PLR0917 - everything a release decision is about, in one call.
    ctx: ServiceContext,
    session: Session,
    job: JobRow,
    node: NodeRow,
    provider: ProviderRow,
    attestation: SessionRow,
    result: AttestationResult,
    now: datetime,
    stored: tuple[list[InputRow], dict[str, ArtefactRow]],
) -> list[ArtefactDecision]:
    """Evaluate baseline AND artefact policy for every input of ``job``.

    ``stored`` is the job's inputs and their artefacts as the caller's transaction read them.
    """
    inputs, artefacts = stored
    sets = ctx.policy_library.reference_sets(session, job.tenant_id)
    baseline = ctx.policy_library.baseline(session, job.tenant_id, sets)
    registered = hardware_match(node, result)
    decisions = []
    ids = [job_input.artefact_id for job_input in inputs]
    other_jobs = rows.releases_to_other_jobs(session.connection(), ids, job.id)
    for job_input in inputs:
        artefact = artefacts[job_input.artefact_id]  # JobInput has a foreign key to it.
        others = other_jobs.get(artefact.id, 0)
        context = ReleaseContext(
            artefact=ArtefactContext(artefact.id, ArtefactKind(artefact.kind), tuple(artefact.labels)),
            job=JobContext(job.id, job.manifest_digest, job.purpose),
            node=NodeContext(node.id, node.region, registered),
            provider=ProviderContext(provider.id, _kyc(provider)),
            tenant=TenantContext(job.tenant_id),
            release=ReleaseCounter(others, artefact.max_releases),
            session=SessionContext(attestation.id, attestation.issued_at),
        )
        request = PolicyInput(result, context, now)
        artefact_policy = ctx.policy_library.artefact_policy(session, artefact, sets)
        if artefact_policy is None:
            decisions.append(ArtefactDecision(artefact, job_input, None, (MISSING_POLICY,)))
            continue
        decision = effective_decision(evaluate(baseline, request), evaluate(artefact_policy, request))
        decisions.append(ArtefactDecision(artefact, job_input, decision, decision.failed_rules()))
    return decisions
