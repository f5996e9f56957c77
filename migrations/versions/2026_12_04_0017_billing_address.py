"""billing accounts carry the buyer's postal address (for the invoice PDF)

An invoice names the buyer with its address (EU VAT rules, and what accounts-payable teams
file by). All columns are nullable: accounts made before this revision have none until set.
`billing_country` is ISO 3166-1 alpha-2.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 01:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    ("billing_address_line1", 200),
    ("billing_address_line2", 200),
    ("billing_city", 100),
    ("billing_postal_code", 20),
    ("billing_region", 100),
    ("billing_country", 2),
)


# Plain ALTER TABLE, not a batch (which on SQLite copies and drops the table: refused while
# subscriptions and invoices point at its rows). SQLite drops a column natively since 3.35.


def upgrade() -> None:
    for name, length in _COLUMNS:
        op.add_column("billing_account", sa.Column(name, sa.String(length=length), nullable=True))


def downgrade() -> None:
    for name, _ in reversed(_COLUMNS):
        op.drop_column("billing_account", name)
