"""``api_keys.rotated_at``: a key rotated out is told apart from a key revoked.

Rotation and revocation both set ``revoked_at``, and the worker dropped every queued status
change of such a key: a routine rotation while the ledger was down or slow dropped the
institution's queued revocations and suspensions, so credentials it had revoked stayed valid on
the chain (a verifier said VALID). A rotation now records when here; the worker keeps such a
key's revocations and suspensions and drops only its reinstatements (a dropped reinstatement is
a false INVALID at worst). A key revoked (believed stolen) keeps ``rotated_at`` empty, and a
revocation of a rotated key empties it: all its queued changes stop, as before.

Keys retired before this revision have no ``rotated_at``: they count as revoked (as before).

Adding a nullable column rewrites nothing, on SQLite as on PostgreSQL.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 17:20:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``api_keys.rotated_at`` (empty for the keys recorded before)."""
    op.add_column(
        "api_keys",
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    """Drop the column (a rotated key's queued changes are then all dropped, as before)."""
    if op.get_bind().dialect.name == "sqlite":  # in place (SQLite >= 3.35), as 0007
        op.execute("ALTER TABLE api_keys DROP COLUMN rotated_at")
    else:
        op.drop_column("api_keys", "rotated_at")
