"""Status changes queued durably and applied in order by the worker.

A revoke, suspend or reinstate is accepted (202) and recorded ``pending``; the anchoring worker
sends it (``sent``, with the ledger's pending transaction in ``tx_record`` so a restart resumes
it), then records ``applied`` (``confirmed`` before this revision) or ``failed``. ``attempts``
counts the sends; the index on ``state`` serves the worker's queue query.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 03:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``tx_record`` and ``attempts``, index ``state``; ``confirmed`` becomes ``applied``."""
    with op.batch_alter_table("status_changes") as batch:
        batch.add_column(sa.Column("tx_record", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
    op.create_index("ix_status_changes_state", "status_changes", ["state"])
    op.execute("UPDATE status_changes SET state = 'applied' WHERE state = 'confirmed'")


def downgrade() -> None:
    """Back to the synchronous form (``applied`` is ``confirmed`` again)."""
    op.execute("UPDATE status_changes SET state = 'confirmed' WHERE state = 'applied'")
    op.drop_index("ix_status_changes_state", table_name="status_changes")
    with op.batch_alter_table("status_changes") as batch:
        batch.drop_column("attempts")
        batch.drop_column("tx_record")
