"""staff tools: complimentary seats, trial and grace extensions, revoked licenses

- `subscription.comp_seats`: seats staff granted free of charge (never billed, provisioned
  and licensed on top of the paid `seats`).
- `subscription.grace_extended_until`: a grace period extended by staff ends on this day
  instead of 14 days after the term end.
- `license.revoked_at`: a reissued license's old row; its key is refused.
- `subscription_extension`: one row per trial or grace extension, unique per subscription,
  kind and term (the term's start), so a term is extended at most once of each kind.

Revision ID: 0022_staff_tools
Revises: 0019
Create Date: 2026-12-04 19:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022_staff_tools"
down_revision: str | None = "0021_money_back"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "subscription",
        sa.Column("comp_seats", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column("subscription", sa.Column("grace_extended_until", sa.Date(), nullable=True))
    op.add_column("license", sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "subscription_extension",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("term_start", sa.Date(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("previous_end", sa.Date(), nullable=False),
        sa.Column("new_end", sa.Date(), nullable=False),
        sa.Column("granted_by", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("days > 0", name=op.f("ck_subscription_extension_days")),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscription.id"],
            name=op.f("fk_subscription_extension_subscription_id_subscription"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscription_extension")),
        sa.UniqueConstraint(
            "subscription_id",
            "kind",
            "term_start",
            name=op.f("uq_subscription_extension_subscription_id"),
        ),
    )
    op.create_index(
        op.f("ix_subscription_extension_subscription_id"),
        "subscription_extension",
        ["subscription_id"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_subscription_extension_subscription_id"), table_name="subscription_extension"
    )
    op.drop_table("subscription_extension")
    op.drop_column("license", "revoked_at")
    op.drop_column("subscription", "grace_extended_until")
    op.drop_column("subscription", "comp_seats")
