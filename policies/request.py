"""What a policy judges: the Attestation Result, the context of the release, and ``now``.

The context is everything the relying party knows about the release that the Evidence cannot say:
the artefact, the job, the node and whether its hardware matches what the provider registered, the
provider's KYC status, the tenant, how often the artefact was released, and when the attestation
session was issued. The gateway builds it; policies only read it. Claim names are the field names
unless a field says otherwise (``release.max``), exactly as for the Attestation Result's claims.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from attestation.claims import claim
from attestation.result import AttestationResult


class ArtefactKind(StrEnum):
    """What an artefact holds (DESIGN §4)."""

    DATASET = "dataset"
    MODEL = "model"


class KycStatus(StrEnum):
    """The provider's know-your-customer status, set by an admin."""

    APPROVED = "approved"
    PENDING = "pending"
    REJECTED = "rejected"
    SUSPENDED = "suspended"


@dataclass(frozen=True, slots=True)
class ArtefactContext:
    """``artefact.*``: the artefact whose data key would be released."""

    id: str
    kind: ArtefactKind
    labels: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class JobContext:
    """``job.*``: the job the runner claimed."""

    id: str
    manifest_digest: str
    purpose: str


@dataclass(frozen=True, slots=True)
class RegisteredHardware:
    """``node.registered_hardware.*``: the gateway's comparison of the Evidence with the registered node."""

    cpu_id_match: bool
    gpu_serials_match: bool
    gpu_count_match: bool


@dataclass(frozen=True, slots=True)
class NodeContext:
    """``node.*``: the provider's node the runner runs on."""

    id: str
    region: str
    registered_hardware: RegisteredHardware


@dataclass(frozen=True, slots=True)
class ProviderContext:
    """``provider.*``: the provider that registered the node."""

    id: str
    kyc_status: KycStatus


@dataclass(frozen=True, slots=True)
class TenantContext:
    """``tenant.*``: the tenant that owns the artefact."""

    id: str


@dataclass(frozen=True, slots=True)
class ReleaseCounter:
    """``release.*``: releases of this artefact so far, and its maximum (None: no maximum)."""

    count: int
    maximum: int | None = claim("max", default=None)


@dataclass(frozen=True, slots=True)
class SessionContext:
    """``session.*``: the attestation session whose nonce the Evidence answers."""

    id: str
    issued_at: datetime


@dataclass(frozen=True, slots=True)
class ReleaseContext:
    """Everything about a release that is not Evidence."""

    artefact: ArtefactContext
    job: JobContext
    node: NodeContext
    provider: ProviderContext
    tenant: TenantContext
    release: ReleaseCounter
    session: SessionContext


@dataclass(frozen=True, slots=True)
class PolicyInput:
    """The input of one policy decision. ``now`` is passed in: evaluation never reads a clock."""

    result: AttestationResult
    context: ReleaseContext
    now: datetime
