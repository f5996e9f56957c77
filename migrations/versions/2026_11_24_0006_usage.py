"""usage: compute-minute usage events (idempotent by event id) and monthly totals; the day's
greatest seat report beside its latest one (seat_usage.max_billable_users, backfilled)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("seat_usage", schema=None) as batch_op:
        batch_op.add_column(sa.Column("max_billable_users", sa.Integer(), nullable=True))
    op.execute("UPDATE seat_usage SET max_billable_users = billable_users")
    with op.batch_alter_table("seat_usage", schema=None) as batch_op:
        batch_op.alter_column("max_billable_users", existing_type=sa.Integer(), nullable=False)
    op.create_table(
        "compute_usage_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("deployment_id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=True),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("from_quota", sa.Integer(), nullable=False),
        sa.Column("from_purchased", sa.Integer(), nullable=False),
        sa.Column("uncovered", sa.Integer(), nullable=False),
        sa.Column("packs", sa.JSON(), nullable=False),
        sa.Column("reported_by", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("minutes > 0", name=op.f("ck_compute_usage_event_minutes")),
        sa.CheckConstraint(
            "from_quota + from_purchased + uncovered = minutes",
            name=op.f("ck_compute_usage_event_split"),
        ),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployment.id"],
            name=op.f("fk_compute_usage_event_deployment_id_deployment"),
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscription.id"],
            name=op.f("fk_compute_usage_event_subscription_id_subscription"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compute_usage_event")),
        sa.UniqueConstraint("event_id", name=op.f("uq_compute_usage_event_event_id")),
    )
    with op.batch_alter_table("compute_usage_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_compute_usage_event_deployment_id_month", ["deployment_id", "month"], unique=False
        )
    op.create_table(
        "compute_usage_month",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deployment_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("quota_used", sa.Integer(), nullable=False),
        sa.Column("purchased_used", sa.Integer(), nullable=False),
        sa.Column("uncovered", sa.Integer(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "quota_used >= 0 AND purchased_used >= 0 AND uncovered >= 0",
            name=op.f("ck_compute_usage_month_sums"),
        ),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployment.id"],
            name=op.f("fk_compute_usage_month_deployment_id_deployment"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compute_usage_month")),
        sa.UniqueConstraint(
            "deployment_id", "month", name=op.f("uq_compute_usage_month_deployment_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("compute_usage_month")
    with op.batch_alter_table("compute_usage_event", schema=None) as batch_op:
        batch_op.drop_index("ix_compute_usage_event_deployment_id_month")
    op.drop_table("compute_usage_event")
    with op.batch_alter_table("seat_usage", schema=None) as batch_op:
        batch_op.drop_column("max_billable_users")
