"""Subscription.dunning, derived from the renewal and payment rows: a declined renewal in
grace shows its attempts, next retry and last day of grace; an open invoice past due shows
PAST_DUE; a paid subscription shows null. Voiding a declined renewal's invoice lapses the
renewal (its retries stop) and the dunning clears."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.clock import FixedClock
from app.config import Settings
from app.db.tables import Invoice, Membership, PortalUser, Renewal
from app.domain.enums import InvoiceStatus, TokenKind
from app.domain.lifecycle import RenewalStatus
from app.runtime import Runtime
from resolvers.ids import to_global_id
from tests.api.payments_support import counted_runtime, pay, payer, rows
from tests.api.test_money_back import void
from tests.services.lifecycle_support import at, reload, run_at, subscribed
from tests.support.graphql import Api, api_token, user_token

DUNNING = """query($id: ID!) { subscription(id: $id) { status dunning {
  status amountDue { amount currency } dueOn attempts lastFailureCode nextRetryOn graceEndsOn
  invoice { number status } } } }"""


@pytest.fixture
def calls() -> Counter[str]:
    return Counter()


@pytest.fixture
def runtime(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    calls: Counter[str],
) -> Runtime:
    return counted_runtime(settings, session_factory, clock, calls)


async def _dunning(api: Api, token: str, subscription_id: int) -> dict[str, object]:
    data = await api.data(DUNNING, {"id": to_global_id("Subscription", subscription_id)}, token)
    found: dict[str, object] = data["subscription"]
    return found


async def test_a_declined_renewal_shows_its_attempts_next_retry_and_grace_end(
    api: Api, db: AsyncSession, runtime: Runtime, clock: FixedClock, settings: Settings
) -> None:
    sub = await subscribed(db, seats=10, payment_method="pm_card_declined")
    await run_at(runtime, clock, at(date(2027, 1, 1)))
    sub = await reload(db, sub)
    owner_id = await db.scalar(
        sa.select(col(Membership.user_id)).where(col(Membership.customer_id) == sub.customer_id)
    )
    owner = await db.get(PortalUser, owner_id)
    assert owner is not None
    token = user_token(settings, owner)
    [invoice] = await rows(db, Invoice, col(Invoice.subscription_id) == sub.id)

    shown = await _dunning(api, token, sub.id or 0)

    assert shown == {
        "status": "GRACE",
        "dunning": {
            "status": "PAYMENT_FAILED",
            "amountDue": {"amount": "348000", "currency": "USD"},
            "dueOn": invoice.due_on.isoformat(),
            "attempts": 1,
            "lastFailureCode": "card_declined",
            "nextRetryOn": "2027-01-04",
            "graceEndsOn": "2027-01-14",
            "invoice": {"number": invoice.number, "status": "OPEN"},
        },
    }

    admin = await api_token(db, TokenKind.ADMIN)
    voided = await void(api, admin, to_global_id("Invoice", invoice.id or 0))

    assert voided["invoice"]["status"] == "VOID"  # type: ignore[index]
    [renewal] = await rows(db, Renewal)
    assert (renewal.status, renewal.next_attempt_on) == (RenewalStatus.LAPSED, None)
    assert (await _dunning(api, token, sub.id or 0))["dunning"] is None
    await run_at(runtime, clock, at(date(2027, 1, 4)))  # the retry day: nothing is charged
    [invoice] = await rows(db, Invoice, col(Invoice.subscription_id) == sub.id)
    assert invoice.status is InvoiceStatus.VOID
    assert (await reload(db, sub)).status == "GRACE"  # it still expires at the grace end


async def test_an_open_invoice_past_due_then_declined_then_paid(
    api: Api, db: AsyncSession, clock: FixedClock, settings: Settings
) -> None:
    p = await payer(db, settings, payment_method="pm_card_declined", due_on=date(2026, 6, 15))
    sid = p.subscription.id or 0
    clock.set(at(date(2026, 6, 15)))
    assert (await _dunning(api, p.owner, sid))["dunning"] is None  # due today: not late

    clock.set(at(date(2026, 6, 16)))
    late = (await _dunning(api, p.owner, sid))["dunning"]
    assert late == {
        "status": "PAST_DUE",
        "amountDue": {"amount": "348000", "currency": "USD"},
        "dueOn": "2026-06-15",
        "attempts": 0,
        "lastFailureCode": None,
        "nextRetryOn": None,
        "graceEndsOn": None,
        "invoice": {"number": p.invoice.number, "status": "OPEN"},
    }

    assert (await pay(api, p.owner, p.invoice_id, "pay-1"))["code"] == "PAYMENT_DECLINED"
    failed = (await _dunning(api, p.owner, sid))["dunning"]
    assert failed == late | {  # type: ignore[operator]
        "status": "PAYMENT_FAILED",
        "attempts": 1,
        "lastFailureCode": "card_declined",
    }
