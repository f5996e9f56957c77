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
from app.domain.errors import DomainError, ErrorCode
from app.providers.billing import TEST_PAYMENT_METHODS
from app.providers.errors import ProviderRejected
from app.runtime import Runtime
from app.services import audit
from app.services.billing import accounts, keys
from app.services.payments import payment_methods

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
    try:
        method = await accounts.attach_payment_method(
            runtime.sessions, runtime.providers.billing, account, card, key=key
        )
    except ProviderRejected as error:  # pm_card_chargeDeclined: its card check fails
        raise DomainError(
            ErrorCode.VALIDATION, f"The billing provider refused {card!r} ({error.code})."
        ) from error
    await payment_methods.record_payment_method(
        runtime, OPERATOR, _REASON, account.id or 0, method, replaced=account.payment_method
    )
    return CardChange(account.name, account.payment_method, method)


async def _paying_account(runtime: Runtime, number: str) -> BillingAccount:
    account = None
    async with runtime.sessions() as session:
        subscription = await subscription_by_number(session, EVERYTHING, number)
        if subscription is not None:
            account = await session.get(BillingAccount, subscription.billing_account_id)
    if account is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"There is no subscription {number!r}.")
    return account
