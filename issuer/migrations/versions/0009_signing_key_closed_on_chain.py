"""``signing_keys.closed_on_chain_at``: when the service learnt that the registry no longer
holds the key valid (governance revoked it, or its window ended).

Governance revokes a key with its CLI (``revokeSigningKey``: a key it believes stolen), which
this service never hears of; it went on signing with the key, and every credential it issued
then failed check 7. The ledger watch now retires such a key (``active`` false) and records
when here, so issuance names the cause and a bulk job signing with the key stops (a key the
operator rotated out is retired too, but stays valid on chain: its jobs go on).

Adding a nullable column rewrites nothing, on SQLite as on PostgreSQL.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 14:50:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``signing_keys.closed_on_chain_at`` (empty for the keys recorded before)."""
    op.add_column(
        "signing_keys",
        sa.Column("closed_on_chain_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    """Drop the column (a retired key's reason is then unknown, as before)."""
    if op.get_bind().dialect.name == "sqlite":  # in place (SQLite >= 3.35), as 0007
        op.execute("ALTER TABLE signing_keys DROP COLUMN closed_on_chain_at")
    else:
        op.drop_column("signing_keys", "closed_on_chain_at")
