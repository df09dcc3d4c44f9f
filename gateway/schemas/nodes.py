"""Nodes, enrolment challenges and Evidence on the wire (Evidence in the DESIGN §5 shape)."""

from datetime import datetime
from typing import Literal

from pydantic import Field

from attestation.evidence import CpuEvidence, EvidenceBundle, GpuArch, GpuEvidence, TeeType
from gateway.domain import NodeState
from gateway.schemas.identity import TokenOut
from gateway.schemas.wire_types import Base64, Name, RequestModel, ResponseModel

HardwareId = Field(pattern=r"^[0-9A-Za-z:._-]{1,256}$")


class NodeCreate(RequestModel):
    """Register a node: where it is, which CPU TEE, and its hardware identity."""

    name: Name
    region: Name
    tee_type: TeeType
    cpu_id: str = Field(pattern=r"^[0-9A-Za-z:._-]{1,256}$", description="SNP CHIP_ID or TDX PPID (hex)")
    gpu_serials: list[str] = Field(default_factory=list, max_length=64, description="GPU serials / UEIDs")
    gpu_count: int = Field(ge=0, le=64)


class NodeOut(ResponseModel):
    """A node."""

    id: str
    tenant_id: str
    name: str
    region: str
    tee_type: TeeType
    cpu_id: str
    gpu_serials: list[str]
    gpu_count: int
    state: NodeState
    state_reason: str | None
    evidence_digest: str | None
    created_at: datetime
    enrolled_at: datetime | None


class ChallengeOut(ResponseModel):
    """An enrolment challenge: ``report_data`` goes in the CPU report, its ``gpu_nonce`` in each GPU's."""

    node_id: str
    nonce: Base64
    report_data: Base64
    expires_at: datetime


class NodeRegisteredOut(ResponseModel):
    """A new node, its runner credential (show once) and its first challenge."""

    node: NodeOut
    credential: TokenOut
    challenge: ChallengeOut


class CpuEvidenceIn(RequestModel):
    """The CPU report (SNP report, TDX quote, simulated report) and any certificates sent with it."""

    type: TeeType
    report: Base64
    certificates: Base64 = b""


class GpuEvidenceIn(RequestModel):
    """One GPU's SPDM evidence and its certificate chain, NRAS-shaped."""

    arch: GpuArch
    evidence: Base64
    certificate: Base64


class EvidenceIn(RequestModel):
    """A CPU report and one report per GPU."""

    cpu: CpuEvidenceIn
    gpus: list[GpuEvidenceIn] = Field(default_factory=list, max_length=64)

    def to_bundle(self) -> EvidenceBundle:
        """The Verifier's frozen type."""
        return EvidenceBundle(
            cpu=CpuEvidence(self.cpu.type, self.cpu.report, self.cpu.certificates),
            gpus=tuple(GpuEvidence(gpu.arch, gpu.evidence, gpu.certificate) for gpu in self.gpus),
        )


class EnrollmentIn(RequestModel):
    """Enrolment Evidence answering a challenge nonce."""

    nonce: Base64
    evidence: EvidenceIn


class NodeStateUpdate(RequestModel):
    """Quarantine, reinstate or revoke a node."""

    state: Literal[NodeState.ACTIVE, NodeState.QUARANTINED, NodeState.REVOKED]
    reason: str = Field(min_length=1, max_length=256)
