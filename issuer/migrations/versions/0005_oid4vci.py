"""OpenID4VCI issuance (issue 15, docs/openid4vc.md): credential offers, access tokens, c_nonces
and deferred-credential transactions, persisted so that they survive a restart and are shared
by the service's processes. Secrets are kept as hashes only: the pre-authorized code and the
access token as SHA-256, the 6-digit transaction code as an HMAC under the vault key.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 14:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the four OpenID4VCI tables; bulk jobs may make offers (``offers``, with the
    API key that made the job)."""
    op.create_table(
        "oid4vci_offers",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("institution_id", sa.Integer(), sa.ForeignKey("institutions.id"), nullable=False),
        sa.Column("api_key_id", sa.String(32), nullable=False),
        sa.Column("configuration_id", sa.String(64), nullable=False),
        sa.Column("request", sa.LargeBinary(), nullable=False),
        sa.Column("code_hash", sa.LargeBinary(), nullable=False, unique=True),
        sa.Column("tx_code_hash", sa.String(80), nullable=False),
        sa.Column("tx_failures", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("expires_unix", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("bulk_job_id", sa.String(40), nullable=True),
        sa.Column("bulk_row", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_oid4vci_offers_institution_id", "oid4vci_offers", ["institution_id"])
    op.create_index("ix_oid4vci_offers_bulk", "oid4vci_offers", ["bulk_job_id", "bulk_row"])
    # plain ADD COLUMN (no table copy: on SQLite a batch copy of bulk_jobs would drop a table
    # that bulk_errors rows reference)
    op.add_column(
        "bulk_jobs",
        sa.Column("offers", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("bulk_jobs", sa.Column("api_key_id", sa.String(32), nullable=True))
    op.create_table(
        "oid4vci_tokens",
        sa.Column("token_hash", sa.LargeBinary(), primary_key=True),
        sa.Column(
            "offer_id",
            sa.String(64),
            sa.ForeignKey("oid4vci_offers.id"),
            nullable=False,
            unique=True,
        ),
        sa.Column("expires_unix", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "oid4vci_nonces",
        sa.Column("nonce", sa.String(64), primary_key=True),
        sa.Column("expires_unix", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_oid4vci_nonces_expires_unix", "oid4vci_nonces", ["expires_unix"])
    op.create_table(
        "oid4vci_transactions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column(
            "offer_id",
            sa.String(64),
            sa.ForeignKey("oid4vci_offers.id"),
            nullable=False,
            unique=True,
        ),
        sa.Column("credential_id", sa.String(64), nullable=False),
        sa.Column("holder", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    """Drop the OpenID4VCI tables."""
    op.drop_table("oid4vci_transactions")
    op.drop_index("ix_oid4vci_nonces_expires_unix", table_name="oid4vci_nonces")
    op.drop_table("oid4vci_nonces")
    op.drop_table("oid4vci_tokens")
    op.drop_column("bulk_jobs", "api_key_id")  # ALTER TABLE DROP COLUMN (SQLite 3.35+)
    op.drop_column("bulk_jobs", "offers")
    op.drop_index("ix_oid4vci_offers_bulk", table_name="oid4vci_offers")
    op.drop_index("ix_oid4vci_offers_institution_id", table_name="oid4vci_offers")
    op.drop_table("oid4vci_offers")
