"""promotions order leases number sequences

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 08:19:04.477977
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('number_sequence',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_number_sequence'))
    )
    op.create_table('promotion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('percent_off', sa.Integer(), nullable=True),
    sa.Column('amount_off', sa.Integer(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('max_redemptions', sa.Integer(), nullable=True),
    sa.Column('redemptions', sa.Integer(), nullable=False),
    sa.Column('plan_codes', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.CheckConstraint('(percent_off IS NULL) <> (amount_off IS NULL)', name=op.f('ck_promotion_one_kind_of_discount')),
    sa.CheckConstraint('amount_off IS NULL OR amount_off > 0', name=op.f('ck_promotion_amount')),
    sa.CheckConstraint('max_redemptions IS NULL OR redemptions <= max_redemptions', name=op.f('ck_promotion_redemptions')),
    sa.CheckConstraint('percent_off IS NULL OR percent_off BETWEEN 1 AND 100', name=op.f('ck_promotion_percent')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promotion')),
    sa.UniqueConstraint('code', name=op.f('uq_promotion_code'))
    )
    with op.batch_alter_table('order', schema=None) as batch_op:
        batch_op.add_column(sa.Column('processing_until', sa.DateTime(timezone=True), nullable=True))

    op.create_table('order_lease',
    sa.Column('resource', sa.String(length=64), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['order.id'], name=op.f('fk_order_lease_order_id_order')),
    sa.PrimaryKeyConstraint('resource', name=op.f('pk_order_lease'))
    )


def downgrade() -> None:
    op.drop_table('order_lease')
    with op.batch_alter_table('order', schema=None) as batch_op:
        batch_op.drop_column('processing_until')

    op.drop_table('promotion')
    op.drop_table('number_sequence')

