"""Wire messages of the release protocol (DESIGN §5) and the job manifest (DESIGN §4), version ``ccgate/v1``.

Pydantic models, frozen and closed (``extra="forbid"``): both sides parse at the boundary and reject
unknown fields. Binary values travel as standard base64 (keys, Evidence, sealed keys) or lowercase
hex (digests, nonces). The manifest's digest is SHA-256 over its canonical JSON, which carries the
``ccgate/v1/job-manifest`` label, so a manifest digest can never be confused with another hash.
"""

import base64
import binascii
import hashlib
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Final, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from enclave_runner.protocol import PROTOCOL_VERSION
from enclave_runner.protocol.canonical import canonical_json

MANIFEST_LABEL: Final = "ccgate/v1/job-manifest"


def _base64(value: str) -> str:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not standard base64") from exc
    return value


def _hex(size: int | None) -> AfterValidator:
    def check(value: str) -> str:
        if value != value.lower():
            raise ValueError("hex must be lowercase")
        try:
            raw = bytes.fromhex(value)
        except ValueError as exc:
            raise ValueError("not hex") from exc
        if size is not None and len(raw) != size:
            raise ValueError(f"must be {size} bytes")
        return value

    return AfterValidator(check)


Base64 = Annotated[str, AfterValidator(_base64), Field(max_length=16 * 1024 * 1024)]
Digest = Annotated[str, _hex(32)]
Nonce = Annotated[str, _hex(32)]
Identifier = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]


class WireModel(BaseModel):
    """Base of every wire message: immutable, closed to unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def b64decode(value: str) -> bytes:
    """Decode a field already validated as standard base64."""
    return base64.b64decode(value, validate=True)


def b64encode(value: bytes) -> str:
    """Encode bytes for a base64 wire field."""
    return base64.b64encode(value).decode("ascii")


# ------------------------------------------------------------------ job manifest


class ManifestArtefact(WireModel):
    """One input of a job, pinned by version and ciphertext digest."""

    artefact_id: Identifier
    version: int = Field(ge=1)
    kind: Literal["dataset", "model"]
    ciphertext_digest: Digest


class Requirements(WireModel):
    """What hardware the job needs."""

    tee_types: tuple[Literal["snp", "tdx", "simulated"], ...] = Field(min_length=1)
    gpu_count: int = Field(ge=0, le=64)
    gpu_arch: Literal["hopper", "blackwell"] | None = None


class JobManifest(WireModel):
    """The canonical description of a job; its digest is bound into the Evidence (report data)."""

    label: Literal["ccgate/v1/job-manifest"] = MANIFEST_LABEL
    job_id: Identifier
    tenant: Identifier
    datasets: tuple[ManifestArtefact, ...]
    model: ManifestArtefact
    entrypoint: str = Field(min_length=1, max_length=256)
    arguments: tuple[Annotated[str, Field(max_length=4096)], ...] = Field(default=(), max_length=256)
    result_recipient: Base64
    requirements: Requirements
    target_provider: Identifier | None = None
    target_node: Identifier | None = None
    max_runtime_seconds: int = Field(ge=1, le=7 * 24 * 3600)

    def canonical(self) -> bytes:
        """The manifest's canonical JSON: what is hashed and what the runner receives."""
        return canonical_json(self.model_dump(mode="json"))

    def digest(self) -> bytes:
        """SHA-256 of the canonical manifest (32 raw bytes, as the bindings take it)."""
        return hashlib.sha256(self.canonical()).digest()


# ------------------------------------------------------------------ challenge and attestation


class Challenge(WireModel):
    """``POST /v1/jobs/{id}/challenge`` → a single-use nonce for one attestation attempt."""

    protocol_version: Literal["ccgate/v1"] = PROTOCOL_VERSION
    session_id: Identifier
    nonce: Nonce
    expires_at: datetime
    manifest: JobManifest


class RunnerKeys(WireModel):
    """The runner's ephemeral public keys, generated in the TEE for this session."""

    x25519: Base64
    ed25519: Base64


class CpuEvidenceMessage(WireModel):
    """A CPU report: an SNP attestation report, a TDX quote, or a simulated report."""

    type: Literal["snp", "tdx", "simulated"]
    report: Base64
    certificates: Base64 = ""


class GpuEvidenceMessage(WireModel):
    """One GPU's Evidence in the NRAS / NVAT shape: base64 SPDM bytes and base64 PEM chain."""

    arch: Literal["hopper", "blackwell"]
    evidence: Base64
    certificate: Base64


class EvidenceMessage(WireModel):
    """All the Evidence of one attestation."""

    cpu: CpuEvidenceMessage
    gpus: tuple[GpuEvidenceMessage, ...] = Field(default=(), max_length=64)


class AttestationRequest(WireModel):
    """``POST /v1/jobs/{id}/attestation``."""

    protocol_version: Literal["ccgate/v1"] = PROTOCOL_VERSION
    session_id: Identifier
    keys: RunnerKeys
    evidence: EvidenceMessage


class ReleasedKey(WireModel):
    """One artefact's data key, sealed to the runner's attested X25519 key."""

    artefact_id: Identifier
    version: int
    sealed_key: Base64
    content_url: str
    ciphertext_digest: Digest
    ciphertext_size: int


class DeniedArtefact(WireModel):
    """An artefact the policies denied, with the failed rule codes (the owner sees the full reasons)."""

    artefact_id: Identifier
    reasons: tuple[str, ...]


class AttestationResponse(WireModel):
    """The gateway's answer: sealed keys (all artefacts allowed) or denials (nothing released)."""

    protocol_version: Literal["ccgate/v1"] = PROTOCOL_VERSION
    attestation_token: str
    releases: tuple[ReleasedKey, ...]
    denied: tuple[DeniedArtefact, ...]
    session_token: str | None


# ------------------------------------------------------------------ failure report


class FailureStage(StrEnum):
    """Where a job failed after its keys were released, as the runner reports it with the failure's code.

    ``POST /v1/jobs/{id}/failure`` carries ``{code, stage}``; the gateway accepts exactly these stages,
    listed in lifecycle order (DESIGN §9).
    """

    ATTEST = "attest"  # the answer to the attestation does not match the claimed job
    WORKSPACE = "workspace"  # the private workspace could not be created
    DOWNLOAD = "download"  # fetching a ciphertext, or its digest check
    DECRYPT = "decrypt"  # opening a sealed data key, or decrypting an input
    UNPACK = "unpack"  # checking and unpacking the model bundle
    EXECUTE = "execute"  # running the job: program, deadline, writes outside its output
    ENCRYPT = "encrypt"  # packaging and encrypting the outputs, signing the receipt
    UPLOAD = "upload"  # sending the result and receipt
