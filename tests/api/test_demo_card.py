"""`fulfillment demo-card`: a test card set on the account that pays for a subscription, in
the provider first and then in our copy, audited; the next charge uses it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.config import Settings
from app.db.tables import AuditEvent, BillingAccount, LedgerAccount, LedgerIdempotency
from app.domain.errors import DomainError, ErrorCode
from app.runtime import Runtime
from app.services.demo import demo_tokens, seed_demo
from app.services.demo.cards import CardChange, set_demo_card
from tests.api.test_production_profile import LICENSE_KEY, SECRET
from tests.support.graphql import Api
from tests.support.snapshots import table_counts

QUOTE = """mutation($n: ID!) { subscription: orderQuote(input: {
  subscriptionId: $n, actions: [{ addSeats: { seats: 1 } }] }) { ... on Quote { token } } }"""
PLACE = """mutation($t: String!) { orderPlace(quoteToken: $t, idempotencyKey: "card-1") {
  ... on OrderPlacePayload { order { status } }
  ... on PaymentDeclinedError { code declineCode } } }"""


async def _acme_account(db: AsyncSession) -> BillingAccount:
    stmt = sa.select(BillingAccount).where(col(BillingAccount.name) == "Acme Corp")
    return (await db.scalars(stmt)).one()


async def test_the_card_is_set_in_the_provider_then_here_and_audited(
    db: AsyncSession, settings: Settings, runtime: Runtime
) -> None:
    await seed_demo(db, settings, runtime.clock)
    keys_before = await db.scalar(sa.select(sa.func.count()).select_from(LedgerIdempotency))

    change = await set_demo_card(runtime, "a-s00000001", "pm_card_declined")

    assert change == CardChange("Acme Corp", "pm_card_visa", "pm_card_declined")
    account = await _acme_account(db)
    await db.refresh(account)
    ledger = (await db.scalars(sa.select(LedgerAccount).where(
        col(LedgerAccount.ref) == account.provider_ref))).one()  # fmt: skip
    await db.refresh(ledger)
    assert (account.payment_method, ledger.payment_method) == ("pm_card_declined",) * 2
    keys = await db.scalar(sa.select(sa.func.count()).select_from(LedgerIdempotency))
    assert keys == (keys_before or 0) + 1  # one provider write
    (event,) = await db.scalars(
        sa.select(AuditEvent).where(col(AuditEvent.action) == "billing_account.payment_method_set")
    )
    assert (event.actor_kind, event.actor_id, event.target_id) == (
        "SERVICE",
        "demo-card",
        str(account.id),
    )
    assert (event.before, event.after) == (
        {"payment_method": "pm_card_visa"},
        {"payment_method": "pm_card_declined"},
    )


async def test_the_next_charge_declines_with_the_card_set(
    api: Api, db: AsyncSession, settings: Settings, runtime: Runtime
) -> None:
    await seed_demo(db, settings, runtime.clock)
    owner = demo_tokens(settings, datetime.now(UTC))["owner"]
    await set_demo_card(runtime, "A-S00000001", "pm_card_declined")
    premium = await api.data('{ subscription(number: "A-S00000001") { id } }', token=owner)
    quote = await api.data(QUOTE, {"n": premium["subscription"]["id"]}, token=owner)

    placed = await api.data(PLACE, {"t": quote["subscription"]["token"]}, token=owner)

    assert placed["orderPlace"] == {"code": "PAYMENT_DECLINED", "declineCode": "card_declined"}


@pytest.mark.parametrize(
    ("number", "card", "code"),
    [
        ("A-S00000001", "pm_card_amex", ErrorCode.VALIDATION),
        ("A-S00000001", "", ErrorCode.VALIDATION),
        ("A-S00000001", "pm_card_chargeDeclined", ErrorCode.VALIDATION),  # the provider's no
        ("A-S09999999", "pm_card_declined", ErrorCode.NOT_FOUND),
    ],
)
async def test_refusals_change_nothing(
    db: AsyncSession, settings: Settings, runtime: Runtime, number: str, card: str, code: ErrorCode
) -> None:
    await seed_demo(db, settings, runtime.clock)
    before = await table_counts(db)

    with pytest.raises(DomainError) as refused:
        await set_demo_card(runtime, number, card)

    assert refused.value.code is code
    assert await table_counts(db) == before
    assert (await _acme_account(db)).payment_method == "pm_card_visa"


async def test_production_has_no_demo_cards(runtime: Runtime, database_url: str) -> None:
    production = Settings(
        environment="production",
        jwt_secret=SECRET,
        license_signing_key=LICENSE_KEY,
        database_url=database_url,
    )
    with pytest.raises(RuntimeError, match="development only"):
        await set_demo_card(replace(runtime, settings=production), "A-S00000001", "pm_card_visa")
