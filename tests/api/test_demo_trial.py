"""Trials do not auto-renew (docs/domain.md 2 and 6: a trial ends at its term end, back to Free,
unless an order converts it). trialStart's own rule is in test_subscription_changes.py; this is
the seeded demo trial."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.clock import FixedClock
from app.config import Settings
from app.db.tables import LedgerSubscription
from app.domain.enums import TokenKind
from app.services.demo import seed_demo
from app.services.demo.specs import subscription_ref
from tests.support.graphql import Api, api_token

SUBSCRIPTION = """query($n: String!) { subscription(number: $n) { status autoRenew } }"""


async def test_the_seeded_trial_does_not_auto_renew(
    api: Api, db: AsyncSession, settings: Settings, clock: FixedClock
) -> None:
    summary = await seed_demo(db, settings, clock)
    number = summary.subscription_numbers["acme_trial"]
    admin = await api_token(db, TokenKind.ADMIN)

    data = await api.data(SUBSCRIPTION, {"n": number}, token=admin)

    assert data["subscription"] == {"status": "TRIAL", "autoRenew": False}
    at_provider = await db.scalars(
        sa.select(LedgerSubscription).where(
            col(LedgerSubscription.ref) == subscription_ref("acme_trial")
        )
    )
    assert [row.auto_renew for row in at_provider] in ([], [False])
