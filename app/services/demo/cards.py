"""`fulfillment demo-card`: put one of the local billing provider's test cards on the billing
account that pays for a subscription (development only), to watch a charge succeed or
decline. Like a card change in the provider's own page: the provider first, then our copy,
audited."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from app.auth.principals import Principal, PrincipalKind
from app.db.repositories.subscriptions import subscription_by_number
from app.db.scope import EVERYTHING
from app.db.tables import BillingAccount
from app.db.unit_of_work import unit_of_work
from app.domain.errors import DomainError, ErrorCode
from app.providers.billing import TEST_PAYMENT_METHODS
from app.runtime import Runtime
from app.services import audit
from app.services.billing import accounts, keys

OPERATOR = Principal(kind=PrincipalKind.SERVICE, id="demo-card", name="fulfillment demo-card")
_REASON = audit.Attribution("fulfillment demo-card (development)")


@dataclass(frozen=True, slots=True)
class CardChange:
    account: str  # the billing account's name
    before: str | None
    after: str


async def set_demo_card(runtime: Runtime, number: str, card: str) -> CardChange:
    """VALIDATION for a card the local provider does not know, NOT_FOUND for no such
    subscription; the provider's copy is set before ours, under a key of its own."""
    if runtime.settings.is_production:
        raise RuntimeError("demo cards are for development only, never for production")
    if card not in TEST_PAYMENT_METHODS:
        cards = ", ".join(TEST_PAYMENT_METHODS)
        raise DomainError(ErrorCode.VALIDATION, f"Unknown test card {card!r}; one of: {cards}.")
    account = await _paying_account(runtime, number)
    key = keys.demo_card(account.id, uuid.uuid4().hex)
    await accounts.change_payment_method(runtime.providers.billing, account, card, key=key)
    async with unit_of_work(runtime.sessions) as session:
        row = await session.get(BillingAccount, account.id)
        assert row is not None
        before, row.payment_method = row.payment_method, card
        await audit.record(
            session,
            OPERATOR,
            "billing_account.payment_method_set",
            ("BillingAccount", account.id or 0),
            before={"payment_method": before},
            after={"payment_method": card},
            attributed=_REASON,
            now=runtime.clock.now(),
        )
    return CardChange(account.name, before, card)


async def _paying_account(runtime: Runtime, number: str) -> BillingAccount:
    account = None
    async with runtime.sessions() as session:
        subscription = await subscription_by_number(session, EVERYTHING, number)
        if subscription is not None:
            account = await session.get(BillingAccount, subscription.billing_account_id)
    if account is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"There is no subscription {number!r}.")
    return account
