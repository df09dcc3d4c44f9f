"""Jobs, attestation sessions, release decisions and per-job release counts (issue 7).

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("owner", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("purpose", sa.String(length=256), nullable=False),
        sa.Column("manifest", sa.Text(), nullable=False),
        sa.Column("manifest_digest", sa.String(length=64), nullable=False),
        sa.Column("target_provider", sa.String(length=40), nullable=True),
        sa.Column("target_node", sa.String(length=40), nullable=True),
        sa.Column("node_id", sa.String(length=40), nullable=True),
        sa.Column("failure_code", sa.String(length=80), nullable=True),
        sa.Column("result_blob", sa.String(length=80), nullable=True),
        sa.Column("result_size", sa.BigInteger(), nullable=True),
        sa.Column("result_digest", sa.String(length=64), nullable=True),
        sa.Column("result_sealed_key", sa.LargeBinary(), nullable=True),
        sa.Column("receipt", sa.Text(), nullable=True),
        sa.Column("result_ledger_index", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["node_id"], ["nodes.id"], name=op.f("fk_jobs_node_id_nodes")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_jobs_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.UniqueConstraint("result_blob", name=op.f("uq_jobs_result_blob")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_jobs_node_id"), ["node_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_jobs_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_jobs_target_node"), ["target_node"], unique=False)
        batch_op.create_index(batch_op.f("ix_jobs_target_provider"), ["target_provider"], unique=False)
        batch_op.create_index(batch_op.f("ix_jobs_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "attestation_sessions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("job_id", sa.String(length=40), nullable=False),
        sa.Column("node_id", sa.String(length=40), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consumed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=80), nullable=True),
        sa.Column("x25519", sa.String(length=64), nullable=True),
        sa.Column("ed25519", sa.String(length=64), nullable=True),
        sa.Column("token_id", sa.String(length=40), nullable=True),
        sa.Column("attestation_token", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_attestation_sessions_job_id_jobs")),
        sa.ForeignKeyConstraint(
            ["node_id"], ["nodes.id"], name=op.f("fk_attestation_sessions_node_id_nodes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attestation_sessions")),
        sa.UniqueConstraint("nonce", name=op.f("uq_attestation_sessions_nonce")),
    )
    with op.batch_alter_table("attestation_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attestation_sessions_job_id"), ["job_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_attestation_sessions_node_id"), ["node_id"], unique=False)

    op.create_table(
        "job_inputs",
        sa.Column("job_id", sa.String(length=40), nullable=False),
        sa.Column("artefact_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ciphertext_digest", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["artefact_id"], ["artefacts.id"], name=op.f("fk_job_inputs_artefact_id_artefacts")
        ),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_job_inputs_job_id_jobs")),
        sa.PrimaryKeyConstraint("job_id", "artefact_id", name=op.f("pk_job_inputs")),
    )
    op.create_table(
        "release_counts",
        sa.Column("artefact_id", sa.String(length=40), nullable=False),
        sa.Column("job_id", sa.String(length=40), nullable=False),
        sa.Column("counted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["artefact_id"], ["artefacts.id"], name=op.f("fk_release_counts_artefact_id_artefacts")
        ),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_release_counts_job_id_jobs")),
        sa.PrimaryKeyConstraint("artefact_id", "job_id", name=op.f("pk_release_counts")),
    )
    op.create_table(
        "releases",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("job_id", sa.String(length=40), nullable=False),
        sa.Column("artefact_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(length=40), nullable=False),
        sa.Column("node_id", sa.String(length=40), nullable=False),
        sa.Column("provider_id", sa.String(length=40), nullable=False),
        sa.Column("decision", sa.String(length=8), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("evidence_digest", sa.String(length=64), nullable=False),
        sa.Column("token_id", sa.String(length=40), nullable=False),
        sa.Column("policy_digests", sa.JSON(), nullable=False),
        sa.Column("sealed_to", sa.String(length=64), nullable=True),
        sa.Column("gpu_serials", sa.JSON(), nullable=False),
        sa.Column("ledger_index", sa.BigInteger(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["artefact_id"], ["artefacts.id"], name=op.f("fk_releases_artefact_id_artefacts")
        ),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_releases_job_id_jobs")),
        sa.ForeignKeyConstraint(["node_id"], ["nodes.id"], name=op.f("fk_releases_node_id_nodes")),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["attestation_sessions.id"],
            name=op.f("fk_releases_session_id_attestation_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_releases")),
    )
    with op.batch_alter_table("releases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_releases_artefact_id"), ["artefact_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_releases_job_id"), ["job_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_releases_session_id"), ["session_id"], unique=False)


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("releases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_releases_session_id"))
        batch_op.drop_index(batch_op.f("ix_releases_job_id"))
        batch_op.drop_index(batch_op.f("ix_releases_artefact_id"))

    op.drop_table("releases")
    op.drop_table("release_counts")
    op.drop_table("job_inputs")
    with op.batch_alter_table("attestation_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attestation_sessions_node_id"))
        batch_op.drop_index(batch_op.f("ix_attestation_sessions_job_id"))

    op.drop_table("attestation_sessions")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jobs_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_jobs_target_provider"))
        batch_op.drop_index(batch_op.f("ix_jobs_target_node"))
        batch_op.drop_index(batch_op.f("ix_jobs_state"))
        batch_op.drop_index(batch_op.f("ix_jobs_node_id"))

    op.drop_table("jobs")
