"""add-on assignments record who assigned the seat

`assigned_by` is the assigning principal's audit actor ("customer_user:<external id>",
"admin:<token id>"); the API shows it customer-safe (you, a colleague, staff). Nullable:
seats assigned before this revision have no recorded assigner.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 03:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Plain ALTER TABLE, as in 0017 (SQLite drops a column natively since 3.35).


def upgrade() -> None:
    op.add_column(
        "add_on_assignment", sa.Column("assigned_by", sa.String(length=100), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("add_on_assignment", "assigned_by")
