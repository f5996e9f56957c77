"""billing lifecycle: quarterly reconciliations, renewals, reminders; order leases a job
can hold (order_id NULL)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lifecycle_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "RENEWAL_REMINDER",
                "TRIAL_ENDING",
                name="lifecycleeventkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscription.id"],
            name=op.f("fk_lifecycle_event_subscription_id_subscription"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lifecycle_event")),
        sa.UniqueConstraint(
            "subscription_id", "kind", "due_on", name=op.f("uq_lifecycle_event_subscription_id")
        ),
    )
    op.create_table(
        "reconciliation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("term_start", sa.Date(), nullable=False),
        sa.Column("quarter", sa.Integer(), nullable=False),
        sa.Column("quarter_start", sa.Date(), nullable=False),
        sa.Column("quarter_end", sa.Date(), nullable=False),
        sa.Column("invoice_on", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "SCHEDULED",
                "NOTHING_DUE",
                "NOTICED",
                "INVOICING",
                "SETTLED",
                "PAID",
                "DECLINED",
                "SKIPPED",
                name="reconciliationstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("paid_seats", sa.Integer(), nullable=True),
        sa.Column("max_seats_used", sa.Integer(), nullable=True),
        sa.Column("overage_seats", sa.Integer(), nullable=True),
        sa.Column("amount", sa.Integer(), nullable=True),
        sa.Column("billed_seats", sa.Integer(), nullable=True),
        sa.Column("invoice_id", sa.Integer(), nullable=True),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("noticed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoice.id"], name=op.f("fk_reconciliation_invoice_id_invoice")
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscription.id"],
            name=op.f("fk_reconciliation_subscription_id_subscription"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation")),
        sa.UniqueConstraint(
            "subscription_id", "quarter_end", name=op.f("uq_reconciliation_subscription_id")
        ),
    )
    with op.batch_alter_table("reconciliation", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reconciliation_status_quarter_end", ["status", "quarter_end"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_reconciliation_subscription_id"), ["subscription_id"], unique=False
        )

    op.create_table(
        "renewal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("term_start", sa.Date(), nullable=False),
        sa.Column("term_end", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "PENDING",
                "PAID",
                "DECLINED",
                "LAPSED",
                name="renewalstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("storage", sa.JSON(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_on", sa.Date(), nullable=True),
        sa.Column("failure_code", sa.String(length=64), nullable=True),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoice.id"], name=op.f("fk_renewal_invoice_id_invoice")
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["product.id"], name=op.f("fk_renewal_plan_id_product")
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscription.id"],
            name=op.f("fk_renewal_subscription_id_subscription"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_renewal")),
        sa.UniqueConstraint(
            "subscription_id", "term_start", name=op.f("uq_renewal_subscription_id")
        ),
    )
    with op.batch_alter_table("renewal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_renewal_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_renewal_subscription_id"), ["subscription_id"], unique=False
        )

    with op.batch_alter_table("order_lease", schema=None) as batch_op:
        batch_op.alter_column("order_id", existing_type=sa.INTEGER(), nullable=True)


def downgrade() -> None:
    # Leases held by lifecycle jobs have no order; they are short-lived, drop them.
    op.execute("DELETE FROM order_lease WHERE order_id IS NULL")
    with op.batch_alter_table("order_lease", schema=None) as batch_op:
        batch_op.alter_column("order_id", existing_type=sa.INTEGER(), nullable=False)

    with op.batch_alter_table("renewal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_renewal_subscription_id"))
        batch_op.drop_index(batch_op.f("ix_renewal_status"))

    op.drop_table("renewal")
    with op.batch_alter_table("reconciliation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reconciliation_subscription_id"))
        batch_op.drop_index("ix_reconciliation_status_quarter_end")

    op.drop_table("reconciliation")
    op.drop_table("lifecycle_event")
