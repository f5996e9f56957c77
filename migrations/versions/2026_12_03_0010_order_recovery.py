"""order recovery: what a worker needs to finish an order, its refund, the ledger's refunds

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# Amounts in minor units are 64-bit (0009); SQLite's INTEGER already is.
MINOR_UNITS = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("order", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resume", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("recovery_failures", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("refunded", MINOR_UNITS, nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("refund_ref", sa.String(length=64), nullable=True))
        batch_op.create_index(
            "ix_order_status_processing_until", ["status", "processing_until"], unique=False
        )

    op.create_table(
        "ledger_refund",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("payment_ref", sa.String(length=64), nullable=False),
        sa.Column("invoice_ref", sa.String(length=64), nullable=False),
        sa.Column("amount", MINOR_UNITS, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_refund")),
        sa.UniqueConstraint("ref", name=op.f("uq_ledger_refund_ref")),
    )
    with op.batch_alter_table("ledger_refund", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ledger_refund_payment_ref"), ["payment_ref"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("ledger_refund", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_refund_payment_ref"))
    op.drop_table("ledger_refund")
    with op.batch_alter_table("order", schema=None) as batch_op:
        batch_op.drop_index("ix_order_status_processing_until")
        batch_op.drop_column("refund_ref")
        batch_op.drop_column("refunded")
        batch_op.drop_column("recovery_failures")
        batch_op.drop_column("resume")
