"""customers created by a first purchase remember who created them, under which key

A signed-in user's first order creates its customer. `created_by` (the user's external id)
and `creation_key` (the order's idempotency key) find that customer again when the order is
retried, so a retry never creates a second one: the pair is unique (NULLs, the customers
made otherwise, are not constrained). A unique index, not a constraint, so SQLite needs no
table copy.

Revision ID: 0020_customers_people
Revises: 0019
Create Date: 2026-12-04 19:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_customers_people"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("customer", sa.Column("created_by", sa.String(length=64), nullable=True))
    op.add_column("customer", sa.Column("creation_key", sa.String(length=128), nullable=True))
    op.create_index(
        "ix_customer_created_by_creation_key",
        "customer",
        ["created_by", "creation_key"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("ix_customer_created_by_creation_key", table_name="customer")
    op.drop_column("customer", "creation_key")
    op.drop_column("customer", "created_by")
