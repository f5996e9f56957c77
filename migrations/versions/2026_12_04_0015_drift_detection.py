"""drift detection: the local CRM's subscription mirrors, when each subscription is next
checked, what differed, and the admin tasks raised for differences in money

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 01:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "crm_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("account_ref", sa.String(length=64), nullable=False),
        sa.Column("plan", sa.String(length=64), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("term_start", sa.Date(), nullable=False),
        sa.Column("term_end", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_subscription")),
        sa.UniqueConstraint("ref", name=op.f("uq_crm_subscription_ref")),
    )
    with op.batch_alter_table("crm_subscription", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_crm_subscription_account_ref"), ["account_ref"], unique=False
        )

    op.create_table(
        "drift_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscription.id"],
            name=op.f("fk_drift_check_subscription_id_subscription"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drift_check")),
        sa.UniqueConstraint("subscription_id", name=op.f("uq_drift_check_subscription_id")),
    )
    with op.batch_alter_table("drift_check", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_drift_check_due_at"), ["due_at"], unique=False)

    op.create_table(
        "drift_finding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column(
            "system",
            sa.Enum("BILLING", "CRM", name="driftsystem", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("field", sa.String(length=100), nullable=False),
        sa.Column("local_value", sa.String(length=500), nullable=True),
        sa.Column("remote_value", sa.String(length=500), nullable=True),
        sa.Column(
            "repair",
            sa.Enum("REPUSH", "ADMIN_TASK", name="driftrepair", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("repaired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscription.id"],
            name=op.f("fk_drift_finding_subscription_id_subscription"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drift_finding")),
    )
    with op.batch_alter_table("drift_finding", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_drift_finding_subscription_id"), ["subscription_id"], unique=False
        )

    op.create_table(
        "admin_task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("finding_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum("MONEY_DRIFT", name="admintaskkind", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum("OPEN", "RESOLVED", name="admintaskstatus", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("detail", sa.String(length=1000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=200), nullable=True),
        sa.Column("resolution", sa.String(length=1000), nullable=True),
        sa.ForeignKeyConstraint(
            ["finding_id"],
            ["drift_finding.id"],
            name=op.f("fk_admin_task_finding_id_drift_finding"),
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscription.id"],
            name=op.f("fk_admin_task_subscription_id_subscription"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_task")),
        sa.UniqueConstraint("finding_id", name=op.f("uq_admin_task_finding_id")),
    )
    with op.batch_alter_table("admin_task", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_admin_task_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_admin_task_subscription_id"), ["subscription_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("admin_task", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_admin_task_subscription_id"))
        batch_op.drop_index(batch_op.f("ix_admin_task_status"))

    op.drop_table("admin_task")
    with op.batch_alter_table("drift_finding", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_drift_finding_subscription_id"))

    op.drop_table("drift_finding")
    with op.batch_alter_table("drift_check", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_drift_check_due_at"))

    op.drop_table("drift_check")
    with op.batch_alter_table("crm_subscription", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crm_subscription_account_ref"))

    op.drop_table("crm_subscription")
