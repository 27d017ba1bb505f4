"""``anchor_batches.leaves``: a batch's credential hashes in leaf order, one value (issue 17).

A bulk chunk's rows no longer store their own audit path (``credentials.proof_path``, 416
bytes a row at 8,192 leaves: 13 hashes), written for every credential and copied again by the
WAL checkpoint; the batch stores its leaves instead (32 bytes a row, in one value), and a
credential's path is derived from them when it is read (``GET /credentials/{id}``, its QR
code, a job's results), the tree cached per batch. Rows stored before keep their path and are
read as before; the readers answer byte for byte the same either way
(tests/issuer/test_bulk_storage.py).

Adding a nullable column rewrites nothing, on SQLite as on PostgreSQL.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 07:20:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``anchor_batches.leaves`` (empty for the batches stored before)."""
    op.add_column("anchor_batches", sa.Column("leaves", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    """Give every row of a batch with leaves its path back, then drop the column."""
    from talentproof.credential.merkle import MerkleTree  # noqa: PLC0415 (only when downgrading)

    bind = op.get_bind()
    batches = sa.table(
        "anchor_batches", sa.column("id", sa.Integer), sa.column("leaves", sa.LargeBinary)
    )
    creds = sa.table(
        "credentials",
        sa.column("seq", sa.Integer),
        sa.column("batch_id", sa.Integer),
        sa.column("leaf_index", sa.Integer),
        sa.column("proof_path", sa.LargeBinary),
    )
    for batch_id, leaves in bind.execute(
        sa.select(batches.c.id, batches.c.leaves).where(batches.c.leaves.is_not(None))
    ).all():
        hashes = [bytes(leaves[i : i + 32]) for i in range(0, len(leaves), 32)]
        paths = MerkleTree(hashes).joined_paths()
        rows = bind.execute(
            sa.select(creds.c.seq, creds.c.leaf_index).where(
                creds.c.batch_id == batch_id, creds.c.proof_path.is_(None)
            )
        ).all()
        if rows:
            bind.execute(
                sa.update(creds)
                .where(creds.c.seq == sa.bindparam("s"))
                .values(proof_path=sa.bindparam("p")),
                [{"s": seq, "p": paths[leaf]} for seq, leaf in rows],
            )
    if bind.dialect.name == "sqlite":  # in place (SQLite >= 3.35): a rebuilt table would have
        op.execute("ALTER TABLE anchor_batches DROP COLUMN leaves")  # to drop the referenced one
    else:
        op.drop_column("anchor_batches", "leaves")
