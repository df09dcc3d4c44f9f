"""The database schema, declared once (SQLAlchemy 2 typed ORM). Alembic migrations reproduce it exactly.

Rows hold ids, names, digests, sealed keys and states — never a plaintext data key or a token.
Times are stored as aware UTC datetimes on both SQLite and PostgreSQL (``UtcDateTime``).
"""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

ID = String(40)
NAME = String(64)
DIGEST = String(64)

# Explicit constraint names, so migrations on SQLite and PostgreSQL name things the same way.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite drops the offset, so it is restored)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are refused: the gateway stores UTC only")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """The declarative base of every table."""

    metadata = MetaData(naming_convention=NAMING)


class Tenant(Base):
    """An organisation: a customer, a provider (with a KYC status) or the platform operator."""

    __tablename__ = "tenants"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME, unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    kyc_status: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Principal(Base):
    """A person or service account in a tenant, with roles."""

    __tablename__ = "principals"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(NAME)
    roles: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ApiToken(Base):
    """Every token the gateway issued, by ``jti``; ``revoked_at`` set means it is on the deny-list."""

    __tablename__ = "api_tokens"
    jti: Mapped[str] = mapped_column(ID, primary_key=True)
    subject: Mapped[str] = mapped_column(ID, index=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    roles: Mapped[list[str]] = mapped_column(JSON)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Kek(Base):
    """A key-encryption key's public half and state; the private half is in the key vault."""

    __tablename__ = "keks"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    state: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    retired_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Artefact(Base):
    """A dataset or model bundle (DESIGN §4); its bytes are in ``ArtefactVersion`` rows and blobs."""

    __tablename__ = "artefacts"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(NAME)
    labels: Mapped[list[str]] = mapped_column(JSON)
    policy_name: Mapped[str | None] = mapped_column(NAME)
    policy_version: Mapped[int | None] = mapped_column(Integer)
    policy_digest: Mapped[str | None] = mapped_column(DIGEST)
    max_releases: Mapped[int | None] = mapped_column(Integer)
    release_count: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    state: Mapped[str] = mapped_column(String(16))
    current_version: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(ID)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ArtefactVersion(Base):
    """One envelope of an artefact and the data key deposited for it, sealed exactly as the owner sent it."""

    __tablename__ = "artefact_versions"
    artefact_id: Mapped[str] = mapped_column(ForeignKey("artefacts.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    blob_name: Mapped[str | None] = mapped_column(String(80), unique=True)
    size: Mapped[int | None] = mapped_column(BigInteger)
    ciphertext_digest: Mapped[str | None] = mapped_column(DIGEST)
    segment_size: Mapped[int | None] = mapped_column(Integer)
    plaintext_length: Mapped[int | None] = mapped_column(BigInteger)
    sealed_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    kek_id: Mapped[str | None] = mapped_column(ForeignKey("keks.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    uploaded_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    deposited_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class PolicyDocument(Base):
    """An immutable version of a release policy or a reference-values set."""

    __tablename__ = "policy_documents"
    __table_args__ = (UniqueConstraint("tenant_id", "kind", "name", "version"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(NAME)
    version: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(DIGEST)
    source: Mapped[str] = mapped_column(Text)
    canonical: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(ID)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class TenantBaseline(Base):
    """Which release-policy version is a tenant's platform baseline (set by its security team)."""

    __tablename__ = "tenant_baselines"
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    policy_name: Mapped[str] = mapped_column(NAME)
    policy_version: Mapped[int] = mapped_column(Integer)
    policy_digest: Mapped[str] = mapped_column(DIGEST)
    set_by: Mapped[str] = mapped_column(ID)
    set_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Node(Base):
    """A provider's machine: region, CPU TEE type and the hardware identity it registered."""

    __tablename__ = "nodes"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(NAME)
    region: Mapped[str] = mapped_column(NAME)
    tee_type: Mapped[str] = mapped_column(String(16))
    cpu_id: Mapped[str] = mapped_column(String(256), index=True)
    gpu_serials: Mapped[list[str]] = mapped_column(JSON)
    gpu_count: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    state_reason: Mapped[str | None] = mapped_column(String(256))
    evidence_digest: Mapped[str | None] = mapped_column(DIGEST)
    created_by: Mapped[str] = mapped_column(ID)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    enrolled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class EnrollmentNonce(Base):
    """A single-use nonce a node's enrolment Evidence must be bound to."""

    __tablename__ = "enrollment_nonces"
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    node_id: Mapped[str] = mapped_column(ForeignKey("nodes.id"), index=True)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    consumed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class LedgerEntry(Base):
    """One ledger entry: canonical JSON, RFC 6962 leaf hash, and the tree head signed at its append."""

    __tablename__ = "ledger_entries"
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(40))
    tenant_id: Mapped[str | None] = mapped_column(ID, index=True)
    entry: Mapped[str] = mapped_column(Text)
    leaf_hash: Mapped[str] = mapped_column(DIGEST)
    tree_head: Mapped[str] = mapped_column(Text)


class LedgerState(Base):
    """The single row every append locks: the size and the compact range (Merkle peaks) after it."""

    __tablename__ = "ledger_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)
    peaks: Mapped[list[str]] = mapped_column(JSON)


class LedgerTreeHead(Base):
    """A tree head signed periodically or on demand, kept for auditors and exports."""

    __tablename__ = "ledger_tree_heads"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    size: Mapped[int] = mapped_column(BigInteger, index=True)
    tree_head: Mapped[str] = mapped_column(Text)


class Job(Base):
    """A submitted job: its canonical manifest (what the Evidence is bound to), state and result."""

    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    owner: Mapped[str] = mapped_column(ID)
    state: Mapped[str] = mapped_column(String(16), index=True)
    purpose: Mapped[str] = mapped_column(String(256))
    manifest: Mapped[str] = mapped_column(Text)
    manifest_digest: Mapped[str] = mapped_column(DIGEST)
    target_provider: Mapped[str | None] = mapped_column(ID, index=True)
    target_node: Mapped[str | None] = mapped_column(ID, index=True)
    node_id: Mapped[str | None] = mapped_column(ForeignKey("nodes.id"), index=True)
    failure_code: Mapped[str | None] = mapped_column(String(80))
    result_blob: Mapped[str | None] = mapped_column(String(80), unique=True)
    result_size: Mapped[int | None] = mapped_column(BigInteger)
    result_digest: Mapped[str | None] = mapped_column(DIGEST)
    result_sealed_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    receipt: Mapped[str | None] = mapped_column(Text)
    result_ledger_index: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class JobInput(Base):
    """One artefact version a job reads, pinned by the digest of its ciphertext."""

    __tablename__ = "job_inputs"
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), primary_key=True)
    artefact_id: Mapped[str] = mapped_column(ForeignKey("artefacts.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    ciphertext_digest: Mapped[str] = mapped_column(DIGEST)


class AttestationSession(Base):
    """A single-use nonce issued to one node for one job; consumed exactly once, whatever the outcome."""

    __tablename__ = "attestation_sessions"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), index=True)
    node_id: Mapped[str] = mapped_column(ForeignKey("nodes.id"), index=True)
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    consumed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    outcome: Mapped[str | None] = mapped_column(String(80))
    x25519: Mapped[str | None] = mapped_column(String(64))
    ed25519: Mapped[str | None] = mapped_column(String(64))
    token_id: Mapped[str | None] = mapped_column(ID)
    attestation_token: Mapped[str | None] = mapped_column(Text)


class Release(Base):
    """One release decision for one artefact of one attestation (allow or deny), with its reasons."""

    __tablename__ = "releases"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), index=True)
    artefact_id: Mapped[str] = mapped_column(ForeignKey("artefacts.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    session_id: Mapped[str] = mapped_column(ForeignKey("attestation_sessions.id"), index=True)
    node_id: Mapped[str] = mapped_column(ForeignKey("nodes.id"))
    provider_id: Mapped[str] = mapped_column(ID)
    decision: Mapped[str] = mapped_column(String(8))
    reasons: Mapped[list[str]] = mapped_column(JSON)
    # Every failed rule in full (policy, rule, message, requirement, expected, actual): for the owner.
    failures: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)
    evidence_digest: Mapped[str] = mapped_column(DIGEST)
    token_id: Mapped[str] = mapped_column(ID)
    policy_digests: Mapped[list[str]] = mapped_column(JSON)
    sealed_to: Mapped[str | None] = mapped_column(DIGEST)
    gpu_serials: Mapped[list[str]] = mapped_column(JSON)
    ledger_index: Mapped[int | None] = mapped_column(BigInteger)
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ReleaseCount(Base):
    """That an artefact's key went to a job: counted once per job against the artefact's maximum."""

    __tablename__ = "release_counts"
    artefact_id: Mapped[str] = mapped_column(ForeignKey("artefacts.id"), primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), primary_key=True)
    counted_at: Mapped[datetime] = mapped_column(UtcDateTime())


def core_table(model: type[Base]) -> Table:
    """The Core ``Table`` of a mapped class, for the hot paths that write with Core statements."""
    return Base.metadata.tables[str(model.__tablename__)]
