"""The institutions' ledger status, read by one process and shared through the database.

One process (the one that runs the anchoring worker, or a lone ``serve``) reads every
institution's status from the registry every 2 s and records it here with the time of the read;
every HTTP process refuses issuance by a suspended or removed institution from this table
instead of calling the ledger itself (N processes x M institutions calls every 2 s before).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 05:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``ledger_issuer_states``."""
    op.create_table(
        "ledger_issuer_states",
        sa.Column("chain_issuer_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("since_unix", sa.BigInteger(), nullable=True),
        sa.Column("checked_unix", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("chain_issuer_id"),
    )


def downgrade() -> None:
    """Drop ``ledger_issuer_states``."""
    op.drop_table("ledger_issuer_states")
