"""webhook events keep only what is used: the payload column is dropped

The worker reads an event's object from the provider; only the event's id, type and object
ref were ever read, while `payload` kept the vendor's whole event (customer names, e-mails,
addresses, card details) for as long as the row lived. Dropped with what it holds. A
downgrade brings the column back empty (`{}`): what was dropped is not recovered.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 13:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_event", schema=None) as batch_op:
        batch_op.drop_column("payload")


def downgrade() -> None:
    with op.batch_alter_table("webhook_event", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("payload", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )
