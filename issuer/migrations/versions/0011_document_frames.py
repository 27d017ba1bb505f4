"""``document_frames`` and ``credentials.frame_id``: a bulk chunk's shared document bytes stored
once (issue 17.3).

A bulk chunk's signed documents are one template's splice: ~1 KB of each ~1.7 KB document is
the same in all of them (the contexts, the status entries around their index, the issuer, the
proof's options, the type and validFrom). The runner now stores those parts once a chunk (a
``document_frames`` row, `credential.frames.pack`) and in each credential row only the bytes
between them (``document`` with ``frame_id`` set, `credential.frames.split`); readers join them
again byte for byte (`usecases.credentials.CredentialService.document_bytes`). Rows stored
before keep their whole document and no frame, and are read as before.

Adding a table and a nullable column rewrites nothing, on SQLite as on PostgreSQL.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 23:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``document_frames`` and ``credentials.frame_id`` (empty for the rows stored before)."""
    op.create_table(
        "document_frames",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("parts", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.add_column("credentials", sa.Column("frame_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    """Give every framed row its whole document back, then drop the column and the table."""
    from talentproof.credential import frames  # noqa: PLC0415 (only when downgrading)

    bind = op.get_bind()
    table = sa.table("document_frames", sa.column("id", sa.Integer), sa.column("parts"))
    creds = sa.table(
        "credentials",
        sa.column("seq", sa.Integer),
        sa.column("document", sa.LargeBinary),
        sa.column("frame_id", sa.Integer),
    )
    for frame_id, packed in bind.execute(sa.select(table.c.id, table.c.parts)).all():
        parts = frames.unpack(packed)
        rows = bind.execute(
            sa.select(creds.c.seq, creds.c.document).where(creds.c.frame_id == frame_id)
        ).all()
        if rows:
            bind.execute(
                sa.update(creds)
                .where(creds.c.seq == sa.bindparam("s"))
                .values(document=sa.bindparam("d"), frame_id=None),
                [{"s": seq, "d": frames.join(parts, doc)} for seq, doc in rows],
            )
    if bind.dialect.name == "sqlite":  # in place (SQLite >= 3.35), as 0007
        op.execute("ALTER TABLE credentials DROP COLUMN frame_id")
    else:
        op.drop_column("credentials", "frame_id")
    op.drop_table("document_frames")
