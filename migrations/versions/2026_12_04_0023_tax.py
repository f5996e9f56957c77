"""invoice lines carry their tax (treatment, rate, amount, note)

Each line keeps how it was taxed (docs/tax.md): `tax_treatment` (NOT_TAXED, VAT,
REVERSE_CHARGE, SALES_TAX), `tax_rate_ppm` (parts per million: 19 % is 190 000),
`tax_amount` (minor units; the invoice's `tax` is the sum over its lines) and `tax_note`
(the words printed with it, e.g. the reverse-charge statement). Lines written before this
revision were untaxed: NOT_TAXED, 0, 0, no note, which the server defaults fill in.

Revision ID: 0023_tax
Revises: 0019
Create Date: 2026-12-04 19:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023_tax"
down_revision: str | None = "0022_staff_tools"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MINOR_UNITS = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# Plain ALTER TABLE, as in 0017 (SQLite adds a NOT NULL column with a default natively, and
# drops a column natively since 3.35).


def upgrade() -> None:
    op.add_column(
        "invoice_line",
        sa.Column(
            "tax_treatment", sa.String(length=32), nullable=False, server_default="NOT_TAXED"
        ),
    )
    op.add_column(
        "invoice_line", sa.Column("tax_rate_ppm", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column(
        "invoice_line", sa.Column("tax_amount", MINOR_UNITS, nullable=False, server_default="0")
    )
    op.add_column("invoice_line", sa.Column("tax_note", sa.String(length=300), nullable=True))


def downgrade() -> None:
    for name in ("tax_note", "tax_amount", "tax_rate_ppm", "tax_treatment"):
        op.drop_column("invoice_line", name)
