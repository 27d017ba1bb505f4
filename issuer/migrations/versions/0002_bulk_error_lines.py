"""Bulk errors name the line of the upload where the row starts; rows are numbered from 1.

Rows of bulk jobs were numbered from 0; they are now numbered from 1 as a user counts them
(data rows, the CSV header excluded), in ``bulk_errors.row`` and ``credentials.bulk_row`` alike,
so existing rows move up by one. Errors recorded before this revision have no line (NULL).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 04:45:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``bulk_errors.line``; renumber existing bulk rows from 1."""
    with op.batch_alter_table("bulk_errors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("line", sa.BigInteger(), nullable=True))
    # (job_id, row) is the primary key: go through negative numbers so that no intermediate
    # state of the UPDATE holds a duplicate
    op.execute('UPDATE bulk_errors SET "row" = -"row" - 1')
    op.execute('UPDATE bulk_errors SET "row" = -"row"')
    op.execute("UPDATE credentials SET bulk_row = bulk_row + 1 WHERE bulk_row IS NOT NULL")


def downgrade() -> None:
    """Drop ``bulk_errors.line``; renumber bulk rows from 0."""
    op.execute("UPDATE credentials SET bulk_row = bulk_row - 1 WHERE bulk_row IS NOT NULL")
    op.execute('UPDATE bulk_errors SET "row" = -"row"')
    op.execute('UPDATE bulk_errors SET "row" = -"row" - 1')
    with op.batch_alter_table("bulk_errors", schema=None) as batch_op:
        batch_op.drop_column("line")
