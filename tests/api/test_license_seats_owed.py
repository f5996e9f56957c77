"""Seats owed from license syncs (docs/domain.md 5 and 6): the term maximum takes the instance's
own maximum users of the license term, so seats owed = max users - seats bought."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.domain.enums import DeploymentKind, MemberRole, ReconciliationMode
from app.services.licenses import ensure_license
from tests.api.test_licenses import activate, sync
from tests.support import factories as f
from tests.support.graphql import Api, user_token

SEATS = """query($n: String!) { subscription(number: $n) {
  seats seatsInUse maxSeatsUsed seatsOwed } }"""


async def test_seats_owed_are_the_max_users_above_the_seats_bought(
    api: Api, db: AsyncSession, settings: Settings
) -> None:
    customer = await f.customer(db)
    owner = user_token(settings, await f.user(db, member_of=customer, role=MemberRole.OWNER))
    where = await f.deployment(
        db, customer, kind=DeploymentKind.SELF_MANAGED, external_id="gitlab.owed.test"
    )
    sub = await f.subscription(
        db,
        customer,
        deployment=where,
        seats=50,
        seats_in_use=40,
        max_seats_used=40,
        reconciliation_mode=ReconciliationMode.ANNUAL_TRUE_UP,
    )
    license_ = await ensure_license(db, sub)
    assert license_ is not None
    key = (await activate(api, license_.activation_code))["licenseKey"]

    async def figures() -> dict[str, Any]:
        found: dict[str, Any] = (await api.data(SEATS, {"n": sub.number}, token=owner))[
            "subscription"
        ]
        return found

    await sync(api, key, 50, 52)  # 50 users now, 52 at the term's peak between syncs
    assert await figures() == {"seats": 50, "seatsInUse": 50, "maxSeatsUsed": 52, "seatsOwed": 2}
    await sync(api, key, 48, 55)
    assert await figures() == {"seats": 50, "seatsInUse": 48, "maxSeatsUsed": 55, "seatsOwed": 5}
    await sync(api, key, 53, 53)  # the maximum never falls within a term
    assert await figures() == {"seats": 50, "seatsInUse": 53, "maxSeatsUsed": 55, "seatsOwed": 5}

    # Renewed: a key of the old term says nothing about the new term's maximum.
    sub.term_start, sub.term_end, sub.max_seats_used = date(2027, 1, 1), date(2028, 1, 1), 48
    await db.flush()
    await sync(api, key, 49, 70)
    assert await figures() == {"seats": 50, "seatsInUse": 49, "maxSeatsUsed": 49, "seatsOwed": 0}
