"""money in 64 bits: every column of minor units becomes BIGINT on PostgreSQL

A large account's totals pass 2^31 cents (18,077 Ultimate seats a year). SQLite's INTEGER
already holds 64 bits, so nothing changes there (the models declare INTEGER for SQLite).
On PostgreSQL each ALTER rewrites its table under an exclusive lock: run it in a quiet hour.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> its columns of minor units
MONEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "order": ("subtotal", "discount", "total"),
    "invoice": ("subtotal", "discount", "tax", "total", "amount_paid"),
    "invoice_line": ("unit_amount", "amount"),
    "payment": ("amount",),
    "price": ("amount",),
    "promotion": ("amount_off",),
    "reconciliation": ("amount",),
    "consumable_purchase": ("amount",),
    "ledger_invoice": ("total", "balance"),
    "ledger_payment": ("amount",),
    "crm_opportunity": ("amount",),
}


def _retype(old: sa.types.TypeEngine[int], new: sa.types.TypeEngine[int]) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in MONEY_COLUMNS.items():
        for column in columns:
            op.alter_column(table, column, type_=new, existing_type=old)


def upgrade() -> None:
    _retype(sa.Integer(), sa.BigInteger())


def downgrade() -> None:
    # Fails (and changes nothing) while any amount is beyond 32 bits, as it must.
    _retype(sa.BigInteger(), sa.Integer())
