"""Release decisions keep every failed rule in full (message, requirement, what was found).

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("releases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failures", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("releases", schema=None) as batch_op:
        batch_op.drop_column("failures")
