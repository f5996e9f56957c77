"""pay-now requests: one per payer and idempotency key (invoicePay)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pay_now_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("billing_account_id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("PENDING", "PAID", "DECLINED", name="paynowstatus", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("charge_key", sa.String(length=128), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("decline_code", sa.String(length=64), nullable=True),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("processing_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["billing_account_id"],
            ["billing_account.id"],
            name=op.f("fk_pay_now_request_billing_account_id_billing_account"),
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoice.id"], name=op.f("fk_pay_now_request_invoice_id_invoice")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payment.id"], name=op.f("fk_pay_now_request_payment_id_payment")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pay_now_request")),
        sa.UniqueConstraint(
            "billing_account_id",
            "idempotency_key",
            name=op.f("uq_pay_now_request_billing_account_id"),
        ),
    )
    with op.batch_alter_table("pay_now_request", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pay_now_request_invoice_id"), ["invoice_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("pay_now_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pay_now_request_invoice_id"))
    op.drop_table("pay_now_request")
