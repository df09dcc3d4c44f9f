"""Artefacts, versions, key deposits and the KEK on the wire."""

from datetime import datetime

from pydantic import Field

from gateway.domain import ArtefactKind, ArtefactState, VersionState
from gateway.schemas.wire_types import (
    AwareDatetime,
    Base64,
    HexDigest,
    Label,
    Name,
    RequestModel,
    ResponseModel,
)


class PolicyRef(RequestModel):
    """A release policy by name and version (the gateway pins its digest)."""

    name: Name
    version: int = Field(ge=1)


class ArtefactCreate(RequestModel):
    """Create a dataset or model artefact."""

    kind: ArtefactKind
    name: Name
    labels: list[Label] = Field(default_factory=list, max_length=32)
    policy: PolicyRef | None = None
    max_releases: int | None = Field(default=None, ge=1)
    expires_at: AwareDatetime | None = None


class PinnedPolicy(ResponseModel):
    """The release policy an artefact answers to, pinned by digest."""

    name: str
    version: int
    digest: str


class VersionOut(ResponseModel):
    """One version of an artefact."""

    version: int
    state: VersionState
    size: int | None
    ciphertext_digest: str | None
    segment_size: int | None
    plaintext_length: int | None
    kek_id: str | None
    created_at: datetime
    uploaded_at: datetime | None
    deposited_at: datetime | None


class ArtefactOut(ResponseModel):
    """An artefact and (when shown alone) its versions."""

    id: str
    tenant_id: str
    kind: ArtefactKind
    name: str
    labels: list[str]
    policy: PinnedPolicy | None
    max_releases: int | None
    release_count: int
    expires_at: datetime | None
    state: ArtefactState
    current_version: int | None
    created_at: datetime
    versions: list[VersionOut] = Field(default_factory=list)


class KeyDeposit(RequestModel):
    """A data key sealed by the owner's client to the current KEK, and the envelope digest it belongs to."""

    kek_id: str = Field(pattern=r"^kek_[0-9a-f]{32}$")
    sealed_key: Base64 = Field(description="libsodium sealed box of the ccgate sealed-data-key payload")
    ciphertext_digest: HexDigest


class KekOut(ResponseModel):
    """The current key-encryption public key: seal data keys to it (libsodium sealed box, X25519)."""

    kek_id: str
    public_key: Base64
    algorithm: str = "x25519-libsodium-sealed-box"


class KekRotationOut(ResponseModel):
    """What a KEK rotation did."""

    old_kek_id: str
    new_kek_id: str
    resealed: int


class ArtefactPolicyUpdate(RequestModel):
    """Point an artefact at a release-policy version."""

    policy: PolicyRef
