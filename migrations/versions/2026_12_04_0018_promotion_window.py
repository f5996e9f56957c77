"""promotions have a first valid day (`starts_on`), for codes admins create ahead of time

Nullable: a promotion without one is valid from its creation, as before this revision.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 03:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE, like 0017 (SQLite drops a column natively since 3.35).


def upgrade() -> None:
    op.add_column("promotion", sa.Column("starts_on", sa.Date(), nullable=True))


def downgrade() -> None:
    op.drop_column("promotion", "starts_on")
