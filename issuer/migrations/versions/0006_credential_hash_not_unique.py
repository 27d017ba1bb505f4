"""``credentials.credential_hash`` is no longer indexed (issue 17.2).

Its unique index served no query: the service finds stored credentials by id, sequence number,
anchor batch or bulk job, never by hash (the ledger and the verifiers look hashes up on chain,
not here). And it made every insert write a random leaf page of it: a bulk chunk's 8,192
random hashes landed on most of its pages, so each commit rewrote most of the index (~45 MB
at 1,000,000 credentials) into the WAL, a cost per credential that grew with the table.
Stored credentials stay unique by ``id`` (its unique index kept), and a credential's hash
covers its id, so two stored credentials cannot share a hash short of a SHA-256 collision.

SQLite cannot drop the unnamed constraint of a ``CREATE TABLE`` (its automatic index): the
table is rebuilt (Alembic's batch mode: a copy, every row and the other indexes kept, then the
old table dropped). Measured at 1,000,000 credentials (a 2.7 GB file): 79 s at start-up, once;
the file grows to twice that (the old table's pages stay as free pages, reused by new rows) and
the WAL to the table's size until the last connection closes. PostgreSQL drops the constraint
in place.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 23:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite's constraint has no name: Alembic's batch mode names the reflected one by this rule
_NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}
_SQLITE_NAME = "uq_credentials_credential_hash"
# PostgreSQL's own name for the unnamed constraint of 0001, which the downgrade gives it back
_POSTGRES_NAME = "credentials_credential_hash_key"


def _hash_constraint() -> str:
    for constraint in sa.inspect(op.get_bind()).get_unique_constraints("credentials"):
        if constraint["column_names"] == ["credential_hash"] and constraint["name"]:
            return str(constraint["name"])
    raise RuntimeError("credentials: expected a unique constraint on credential_hash (0001)")


def upgrade() -> None:
    """Drop the unique constraint (and so the index) on ``credentials.credential_hash``."""
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table(
            "credentials", naming_convention=_NAMING, recreate="always"
        ) as batch_op:
            batch_op.drop_constraint(_SQLITE_NAME, type_="unique")
    else:
        op.drop_constraint(_hash_constraint(), "credentials", type_="unique")


def downgrade() -> None:
    """The unique constraint again (fails if two stored credentials share a hash)."""
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("credentials", naming_convention=_NAMING) as batch_op:
            batch_op.create_unique_constraint(_SQLITE_NAME, ["credential_hash"])
    else:
        op.create_unique_constraint(_POSTGRES_NAME, "credentials", ["credential_hash"])
