"""billingAccountSetPaymentMethod: a provider token set at the billing provider (its account
created first when it has none), then on the local account, audited; card numbers refused
before anything is called; a token the provider refuses changes nothing."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.principals import Principal, PrincipalKind
from app.clock import FixedClock
from app.config import Settings
from app.db.tables import BillingAccount, LedgerAccount
from app.domain.enums import MemberRole, TokenKind
from app.domain.errors import ErrorCode
from app.providers.errors import ProviderRejected
from app.runtime import Runtime
from app.services.payments.errors import PaymentMethodRejected
from app.services.payments.payment_methods import set_payment_method
from tests.api.payments_support import (
    CountingBilling,
    audit_of,
    counted_runtime,
    money_rows,
    payer,
    rows,
    set_method,
)
from tests.support.graphql import Api, api_token


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


async def test_the_owner_sets_a_card_at_the_provider_then_here(
    api: Api, db: AsyncSession, settings: Settings, calls: Counter[str]
) -> None:
    p = await payer(db, settings, payment_method="pm_card_declined")

    answer = await set_method(api, p.owner, p.account_id, "pm_card_visa")

    assert answer == {
        "__typename": "BillingAccountSetPaymentMethodPayload",
        "billingAccount": {"id": p.account_id, "paymentMethod": "pm_card_visa"},
    }
    await db.refresh(p.account)
    assert p.account.payment_method == "pm_card_visa"
    [ledger] = await rows(db, LedgerAccount)
    assert (ledger.ref, ledger.payment_method) == (p.account.provider_ref, "pm_card_visa")
    assert calls == Counter({"create_account": 1, "set_payment_method": 1})
    [event] = await audit_of(db, "BillingAccount", p.account.id)
    assert (event.action, event.actor_kind, event.before, event.after) == (
        "billing_account.payment_method_set",
        "CUSTOMER_USER",
        {"payment_method": "pm_card_declined"},
        {"payment_method": "pm_card_visa"},
    )


async def test_a_retry_with_the_key_sets_it_once(
    api: Api, db: AsyncSession, settings: Settings, calls: Counter[str]
) -> None:
    p = await payer(db, settings)
    first = await set_method(api, p.billing_admin, p.account_id, "pm_card_mastercard", "k")
    again = await set_method(api, p.billing_admin, p.account_id, "pm_card_mastercard", "k")

    assert first == again
    assert len(await audit_of(db, "BillingAccount", p.account.id)) == 1
    other = await set_method(api, p.billing_admin, p.account_id, "pm_card_visa", "k")
    assert other["code"] == "IDEMPOTENCY_KEY_REUSED"
    await db.refresh(p.account)
    assert p.account.payment_method == "pm_card_mastercard"


@pytest.mark.parametrize(
    "card",
    ["4242424242424242", "4242 4242 4242 4242", "4000-0566-5566-5556", "tok_4242424242424242"],
)
async def test_a_card_number_is_refused_before_anything_is_called(
    api: Api, db: AsyncSession, settings: Settings, calls: Counter[str], card: str
) -> None:
    p = await payer(db, settings)
    before = await money_rows(db)

    answer = await set_method(api, p.owner, p.account_id, card)

    assert (answer["__typename"], answer["code"]) == ("ValidationError", "VALIDATION")
    assert "card number" in answer["message"]
    assert await money_rows(db) == before
    assert calls == Counter()


async def test_a_token_the_provider_refuses_changes_nothing(
    api: Api, db: AsyncSession, settings: Settings, calls: Counter[str]
) -> None:
    p = await payer(db, settings)
    await set_method(api, p.owner, p.account_id, "pm_card_visa", "first")  # provider account
    before = await money_rows(db)

    answer = await set_method(api, p.owner, p.account_id, "pm_card_unknown", "second")

    assert answer == {
        "__typename": "PaymentMethodRejectedError",
        "providerCode": "invalid_payment_method",
        "code": "PAYMENT_METHOD_REJECTED",
        "message": "The billing provider refused this payment method (invalid_payment_method); "
        "nothing was changed.",
    }
    assert await money_rows(db) == before
    [ledger] = await rows(db, LedgerAccount)
    assert ledger.payment_method == "pm_card_visa"


async def test_a_card_declined_when_attached_is_rejected_with_its_code(
    api: Api, runtime: Runtime, db: AsyncSession, settings: Settings
) -> None:
    """A provider that verifies a card when it is attached (Stripe's SetupIntent) declines it
    there: the provider's code comes back, nothing changes here."""

    class Declining(CountingBilling):
        async def set_payment_method(self, *args: object, **kwargs: object) -> object:
            raise ProviderRejected("stripe", "card_declined", "Your card was declined.")

    billing = Declining(runtime.providers.billing, Counter())
    declining = replace(runtime, providers=replace(runtime.providers, billing=billing))  # type: ignore[arg-type]
    p = await payer(db, settings)
    await set_method(api, p.owner, p.account_id, "pm_card_visa")  # its provider account
    before = await money_rows(db)
    owner = Principal(
        kind=PrincipalKind.CUSTOMER_USER, id="owner", roles={p.customer.id or 0: MemberRole.OWNER}
    )

    with pytest.raises(PaymentMethodRejected) as refused:
        await set_payment_method(declining, owner, p.account.id or 0, "pm_1Nx", "k")

    assert (refused.value.code, refused.value.provider_code) == (
        ErrorCode.PAYMENT_METHOD_REJECTED,
        "card_declined",
    )
    assert await money_rows(db) == before


async def test_an_admin_gives_a_reason(
    api: Api, db: AsyncSession, settings: Settings, calls: Counter[str]
) -> None:
    p = await payer(db, settings)
    admin = await api_token(db, TokenKind.ADMIN)
    before = await money_rows(db)

    refused = await set_method(api, admin, p.account_id, "pm_card_mastercard")
    assert refused["code"] == "VALIDATION"
    assert await money_rows(db) == before and calls == Counter()

    done = await set_method(api, admin, p.account_id, "pm_card_mastercard", reason="ticket 42")
    assert done["billingAccount"]["paymentMethod"] == "pm_card_mastercard"
    [event] = await audit_of(db, "BillingAccount", p.account.id)
    assert (event.actor_kind, event.reason) == ("ADMIN", "ticket 42")


async def test_a_malformed_token_is_refused(
    api: Api, db: AsyncSession, settings: Settings, calls: Counter[str]
) -> None:
    p = await payer(db, settings)
    for token in ("", "pm card", "x" * 65, "pm_card_visa; DROP"):
        answer = await set_method(api, p.owner, p.account_id, token)
        assert answer["code"] == "VALIDATION", token
    assert calls == Counter()


@pytest.mark.parametrize("key", ["card\r\nX-Injected: 1", "card\t1", "carte-€"])
async def test_a_key_the_provider_could_not_send_is_refused(
    api: Api, db: AsyncSession, settings: Settings, calls: Counter[str], key: str
) -> None:
    """The client's key becomes part of the provider's Idempotency-Key header: control or
    non-ASCII characters are a typed error here, not a crash in the provider's HTTP client."""
    p = await payer(db, settings)
    before = await money_rows(db)

    answer = await set_method(api, p.owner, p.account_id, "pm_card_mastercard", key)

    assert (answer["__typename"], answer["code"]) == ("ValidationError", "VALIDATION")
    assert await money_rows(db) == before
    assert calls == Counter()


async def test_a_webhook_refresh_racing_the_change_does_not_lose_its_audit_row(
    runtime: Runtime, db: AsyncSession, settings: Settings
) -> None:
    """The provider's payment_method.attached event can be processed between the provider
    call and our write, putting the new method on the local row first: the change is still
    audited (before: the method the caller replaced)."""

    class RefreshedMeanwhile(CountingBilling):
        async def set_payment_method(self, *args: Any, **kwargs: Any) -> Any:
            record = await self._inner.set_payment_method(*args, **kwargs)
            async with runtime.sessions() as session, session.begin():
                account = await session.get(BillingAccount, p.account.id)
                assert account is not None
                account.payment_method = record.payment_method
            return record

    racing = replace(
        runtime,
        providers=replace(
            runtime.providers, billing=RefreshedMeanwhile(runtime.providers.billing, Counter())
        ),  # type: ignore[arg-type]
    )
    p = await payer(db, settings, payment_method="pm_card_declined")
    owner = Principal(
        kind=PrincipalKind.CUSTOMER_USER, id="owner", roles={p.customer.id or 0: MemberRole.OWNER}
    )

    await set_payment_method(racing, owner, p.account.id or 0, "pm_card_visa", "card-1")
    await set_payment_method(racing, owner, p.account.id or 0, "pm_card_visa", "card-1")

    [event] = await audit_of(db, "BillingAccount", p.account.id)
    assert (event.action, event.before, event.after) == (
        "billing_account.payment_method_set",
        {"payment_method": "pm_card_declined"},
        {"payment_method": "pm_card_visa"},
    )


async def test_a_late_retry_of_an_older_change_keeps_the_newer_card(
    api: Api, db: AsyncSession, settings: Settings
) -> None:
    """Card A (key k1), then card B (key k2), then a late retry of k1: the provider replays
    k1's first answer and still has B; our copy keeps B (what would be charged) too."""
    p = await payer(db, settings)
    await set_method(api, p.owner, p.account_id, "pm_card_mastercard", "k1")
    await set_method(api, p.owner, p.account_id, "pm_card_visa", "k2")

    late = await set_method(api, p.owner, p.account_id, "pm_card_mastercard", "k1")

    assert late["billingAccount"]["paymentMethod"] == "pm_card_visa"
    await db.refresh(p.account)
    [ledger] = await rows(db, LedgerAccount)
    assert p.account.payment_method == ledger.payment_method == "pm_card_visa"
    assert len(await audit_of(db, "BillingAccount", p.account.id)) == 2
