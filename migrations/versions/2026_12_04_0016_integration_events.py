"""integration events out: subscribers, events, deliveries and their attempts; ordered outbox
messages (outbox_message.ordering_key)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 01:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "integration_subscriber",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deactivated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deactivated_reason", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integration_subscriber")),
        sa.UniqueConstraint("public_id", name=op.f("uq_integration_subscriber_public_id")),
    )
    op.create_table(
        "integration_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscription.id"],
            name=op.f("fk_integration_event_subscription_id_subscription"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integration_event")),
        sa.UniqueConstraint("public_id", name=op.f("uq_integration_event_public_id")),
        sa.UniqueConstraint(
            "subscription_id", "sequence", name=op.f("uq_integration_event_subscription_id")
        ),
    )
    op.create_index(
        op.f("ix_integration_event_subscription_id"), "integration_event", ["subscription_id"]
    )
    op.create_table(
        "integration_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["integration_event.id"],
            name=op.f("fk_integration_delivery_event_id_integration_event"),
        ),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["integration_subscriber.id"],
            name=op.f("fk_integration_delivery_subscriber_id_integration_subscriber"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integration_delivery")),
        sa.UniqueConstraint(
            "event_id", "subscriber_id", name=op.f("uq_integration_delivery_event_id")
        ),
    )
    op.create_index(
        op.f("ix_integration_delivery_event_id"), "integration_delivery", ["event_id"]
    )
    op.create_index(
        op.f("ix_integration_delivery_subscriber_id"), "integration_delivery", ["subscriber_id"]
    )
    op.create_table(
        "integration_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered", sa.Boolean(), nullable=False),
        sa.Column("gave_up", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["integration_delivery.id"],
            name=op.f("fk_integration_attempt_delivery_id_integration_delivery"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integration_attempt")),
    )
    op.create_index(
        op.f("ix_integration_attempt_delivery_id"), "integration_attempt", ["delivery_id"]
    )
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ordering_key", sa.String(length=128), nullable=True))
        batch_op.create_index(
            "ix_outbox_message_ordering_key_status", ["ordering_key", "status"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_message_ordering_key_status")
        batch_op.drop_column("ordering_key")
    op.drop_index(op.f("ix_integration_attempt_delivery_id"), table_name="integration_attempt")
    op.drop_table("integration_attempt")
    op.drop_index(
        op.f("ix_integration_delivery_subscriber_id"), table_name="integration_delivery"
    )
    op.drop_index(op.f("ix_integration_delivery_event_id"), table_name="integration_delivery")
    op.drop_table("integration_delivery")
    op.drop_index(op.f("ix_integration_event_subscription_id"), table_name="integration_event")
    op.drop_table("integration_event")
    op.drop_table("integration_subscriber")
