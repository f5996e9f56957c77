"""worker: outbox claims (lease), attempt times, the subscription a message is about

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-24 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Existing messages get their subscription from the payload, as `enqueue` now does.
_BACKFILL = {
    'sqlite': (
        "UPDATE outbox_message SET subscription_id = "
        "json_extract(payload, '$.subscription_id') "
        "WHERE json_type(payload, '$.subscription_id') = 'integer'"
    ),
    'postgresql': (
        "UPDATE outbox_message SET subscription_id = (payload->>'subscription_id')::integer "
        "WHERE (payload->>'subscription_id') ~ '^[0-9]{1,9}$'"
    ),
}


def upgrade() -> None:
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subscription_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('locked_by', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            'ix_outbox_message_subscription_id_topic', ['subscription_id', 'topic'], unique=False
        )
    backfill = _BACKFILL.get(op.get_bind().dialect.name)
    if backfill is not None:
        op.execute(backfill)


def downgrade() -> None:
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_message_subscription_id_topic')
        batch_op.drop_column('last_attempt_at')
        batch_op.drop_column('locked_until')
        batch_op.drop_column('locked_by')
        batch_op.drop_column('subscription_id')
