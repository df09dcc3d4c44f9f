"""Jobs, releases and results on the wire (the runner's release-protocol messages are in
``enclave_runner.protocol.messages``)."""

from datetime import datetime
from typing import Literal

from pydantic import Field, field_validator

from enclave_runner.protocol.messages import FailureStage
from gateway.domain import JobState
from gateway.schemas.wire_types import Base64, RequestModel, ResponseModel


class JobCreate(RequestModel):
    """Submit a job: datasets and one model bundle of yours, what to run, who receives the result."""

    datasets: list[str] = Field(min_length=1, max_length=64)
    model: str
    entrypoint: str = Field(min_length=1, max_length=256)
    arguments: list[str] = Field(default_factory=list, max_length=256)
    result_recipient: Base64 = Field(description="Your X25519 public key (ccgate keygen)")
    tee_types: list[Literal["snp", "tdx", "simulated"]] = Field(min_length=1, max_length=3)
    gpu_count: int = Field(default=0, ge=0, le=64)
    gpu_arch: Literal["hopper", "blackwell"] | None = None
    max_runtime_seconds: int = Field(default=3600, ge=1, le=7 * 24 * 3600)
    purpose: str = Field(default="", max_length=256)
    target_provider: str | None = None
    target_node: str | None = None


class JobInputOut(ResponseModel):
    """One pinned input of a job."""

    artefact_id: str
    version: int
    kind: str
    ciphertext_digest: str


class JobOut(ResponseModel):
    """A job as its owner (or its node) sees it."""

    id: str
    state: JobState
    purpose: str
    manifest_digest: str
    node_id: str | None
    failure_code: str | None
    result_digest: str | None
    result_size: int | None
    created_at: datetime
    updated_at: datetime
    inputs: list[JobInputOut] = Field(default_factory=list)


class JobList(ResponseModel):
    """Jobs, newest first."""

    jobs: list[JobOut]


class OfferedJob(ResponseModel):
    """A job offered to the calling node."""

    job_id: str
    state: JobState


class OfferedJobs(ResponseModel):
    """What the runner polls."""

    jobs: list[OfferedJob]


class ClaimedJob(ResponseModel):
    """A claimed job and its manifest (canonical JSON as an object)."""

    job_id: str
    state: JobState
    manifest: dict[str, object]


class FailureReport(RequestModel):
    """The runner reports a failure after release, with a code only, at one of the wire contract's stages."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_.]{1,79}$")
    stage: FailureStage


class RuleFailureOut(ResponseModel):
    """One rule that failed: which, why, what it requires and what the Evidence showed."""

    policy: str
    rule: str
    code: str
    message: str
    requirement: str
    expected: str
    actual: str


class ReleaseOut(ResponseModel):
    """One release decision about an artefact: who, when, on which hardware, under which policies."""

    id: str
    job_id: str
    artefact_id: str
    version: int
    decision: str
    reasons: list[str]
    failures: list[RuleFailureOut] = Field(default_factory=list)
    node_id: str
    provider_id: str
    gpu_serials: list[str]
    policy_digests: list[str]
    token_id: str
    evidence_digest: str
    sealed_to: str | None
    ledger_index: int | None
    decided_at: datetime

    @field_validator("failures", mode="before")
    @classmethod
    def _none_is_empty(cls, value: object) -> object:
        # Decisions recorded before migration 0003 have no failures column value.
        return [] if value is None else value


class ReleaseList(ResponseModel):
    """An artefact's release decisions, newest first."""

    releases: list[ReleaseOut]


class ResultKey(ResponseModel):
    """The result's data key, sealed to the job's result recipient (open it with your private key)."""

    job_id: str
    sealed_key: str
    result_digest: str
