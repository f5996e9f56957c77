"""one payment row per provider payment: a unique index on payment.provider_ref

Rows a race recorded twice for one provider payment (a lifecycle charge and a webhook
refresh, before this index) are merged first: the oldest row of each ref is kept, the
pay-now requests naming a copy are pointed at it, and the copies are deleted (they carry the
same provider payment; nothing sums payment rows). Rows without a provider ref stay as they
are: a unique index allows any number of NULLs on SQLite and PostgreSQL alike.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 13:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The row kept for a ref: its oldest.
KEPT = """SELECT MIN(kept.id) FROM payment AS kept
  WHERE kept.provider_ref = (SELECT copy.provider_ref FROM payment AS copy
                             WHERE copy.id = pay_now_request.payment_id)"""
COPIES = """SELECT payment.id FROM payment WHERE payment.provider_ref IS NOT NULL
  AND payment.id NOT IN (SELECT MIN(first.id) FROM payment AS first
                         WHERE first.provider_ref IS NOT NULL GROUP BY first.provider_ref)"""


def upgrade() -> None:
    op.execute(
        sa.text(f"UPDATE pay_now_request SET payment_id = ({KEPT}) WHERE payment_id IN ({COPIES})")
    )
    op.execute(sa.text(f"DELETE FROM payment WHERE id IN ({COPIES})"))
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.create_index("ix_payment_provider_ref", ["provider_ref"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_provider_ref")
