"""``status_changes.api_key_id``: the API key that asked for a status change.

A revoke, suspend or reinstate waits in the queue while the ledger is down or slow; a stolen
key's changes were sent after the operator revoked the key or suspended the institution's API
access. The worker now drops (``failed``, saying why) a change not sent yet whose key was
revoked since, or whose institution's API access is suspended. Changes queued before this
revision have no key (None): only the institution's access is checked for them.

Adding a nullable column rewrites nothing, on SQLite as on PostgreSQL.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 08:15:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``status_changes.api_key_id`` (empty for the changes recorded before)."""
    op.add_column("status_changes", sa.Column("api_key_id", sa.String(32), nullable=True))


def downgrade() -> None:
    """Drop the column (the queued changes are sent as before, whoever asked)."""
    if op.get_bind().dialect.name == "sqlite":  # in place (SQLite >= 3.35), as 0007
        op.execute("ALTER TABLE status_changes DROP COLUMN api_key_id")
    else:
        op.drop_column("status_changes", "api_key_id")
