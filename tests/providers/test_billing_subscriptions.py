from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from app.clock import FixedClock
from app.db.tables.local_providers import LedgerIdempotency, LedgerSubscription
from app.providers.billing import (
    BillingSubscriptionRecord,
    LocalBillingProvider,
    SubscriptionItem,
    SubscriptionStatus,
)
from app.providers.errors import ProviderNotFound, ProviderRejected
from tests.providers.conftest import RowCounter
from tests.providers.factories import PREMIUM, TERM_END, TERM_START, new_account

DUO = SubscriptionItem(product_code="duo_pro", quantity=5, unit_amount=22_800)


async def _subscription(billing: LocalBillingProvider) -> BillingSubscriptionRecord:
    account = await billing.create_account(new_account(), idempotency_key="acct-1")
    return await billing.create_subscription(
        account.ref, TERM_START, TERM_END, [PREMIUM], idempotency_key="sub-1"
    )


async def test_create_subscription(billing: LocalBillingProvider) -> None:
    subscription = await _subscription(billing)

    assert re.fullmatch(r"sub_\d{6}", subscription.ref)
    assert subscription.status == SubscriptionStatus.ACTIVE == "ACTIVE"
    assert subscription.auto_renew is True
    assert (subscription.term_start, subscription.term_end) == (TERM_START, TERM_END)
    assert subscription.items == (PREMIUM,)


async def test_create_subscription_replays(
    billing: LocalBillingProvider, count_rows: RowCounter
) -> None:
    first = await _subscription(billing)
    again = await billing.create_subscription(
        first.account_ref, TERM_START, TERM_END, [PREMIUM], idempotency_key="sub-1"
    )

    assert again == first
    assert await count_rows(LedgerSubscription) == 1


async def test_create_subscription_for_an_unknown_account(billing: LocalBillingProvider) -> None:
    with pytest.raises(ProviderNotFound):
        await billing.create_subscription(
            "acct_999999", TERM_START, TERM_END, [PREMIUM], idempotency_key="sub-1"
        )


@pytest.mark.parametrize(
    "items",
    [
        [],
        [PREMIUM, PREMIUM],
        [SubscriptionItem(product_code="premium", quantity=-1, unit_amount=34_800)],
        [SubscriptionItem(product_code="premium", quantity=1, unit_amount=348.0)],  # type: ignore[arg-type]
    ],
)
async def test_malformed_items_are_rejected(
    billing: LocalBillingProvider, items: list[SubscriptionItem]
) -> None:
    account = await billing.create_account(new_account(), idempotency_key="acct-1")

    with pytest.raises(ProviderRejected) as caught:
        await billing.create_subscription(
            account.ref, TERM_START, TERM_END, items, idempotency_key="sub-1"
        )

    assert caught.value.code == "invalid_request"


async def test_a_term_must_end_after_it_starts(billing: LocalBillingProvider) -> None:
    account = await billing.create_account(new_account(), idempotency_key="acct-1")

    with pytest.raises(ProviderRejected) as caught:
        await billing.create_subscription(
            account.ref, TERM_END, TERM_START, [PREMIUM], idempotency_key="sub-1"
        )

    assert caught.value.code == "invalid_request"


async def test_amend_replaces_the_items_once(
    billing: LocalBillingProvider, count_rows: RowCounter
) -> None:
    subscription = await _subscription(billing)
    more = SubscriptionItem(product_code="premium", quantity=15, unit_amount=34_800)

    amended = await billing.amend_subscription(
        subscription.ref, [more, DUO], date(2026, 7, 2), idempotency_key="amend-1"
    )
    again = await billing.amend_subscription(
        subscription.ref, [more, DUO], date(2026, 7, 2), idempotency_key="amend-1"
    )

    assert again == amended
    assert amended.items == (more, DUO)
    assert (await billing.get_subscriptions([subscription.ref]))[subscription.ref] == amended
    assert await count_rows(LedgerIdempotency) == 3


@pytest.mark.parametrize("effective", [date(2025, 12, 31), TERM_END])
async def test_amend_outside_the_term_is_rejected(
    billing: LocalBillingProvider, effective: date
) -> None:
    subscription = await _subscription(billing)

    with pytest.raises(ProviderRejected) as caught:
        await billing.amend_subscription(
            subscription.ref, [PREMIUM, DUO], effective, idempotency_key="amend-1"
        )

    assert caught.value.code == "invalid_request"
    assert (await billing.get_subscriptions([subscription.ref]))[subscription.ref] == subscription


async def test_renew_starts_the_next_term(billing: LocalBillingProvider) -> None:
    subscription = await _subscription(billing)
    next_end = date(2028, 1, 1)

    renewed = await billing.renew_subscription(
        subscription.ref, TERM_END, next_end, [PREMIUM], idempotency_key="renew-1"
    )
    again = await billing.renew_subscription(
        subscription.ref, TERM_END, next_end, [PREMIUM], idempotency_key="renew-1"
    )

    assert again == renewed
    assert (renewed.term_start, renewed.term_end) == (TERM_END, next_end)
    assert renewed.status == "ACTIVE"


async def test_renew_must_follow_the_current_term(billing: LocalBillingProvider) -> None:
    subscription = await _subscription(billing)

    with pytest.raises(ProviderRejected) as caught:
        await billing.renew_subscription(
            subscription.ref,
            TERM_END + timedelta(days=1),
            date(2028, 1, 1),
            [PREMIUM],
            idempotency_key="renew-1",
        )

    assert caught.value.code == "invalid_request"


async def test_a_cancelled_subscription_is_not_renewed(billing: LocalBillingProvider) -> None:
    subscription = await _subscription(billing)
    await billing.cancel_subscription(subscription.ref, idempotency_key="cancel-1")

    with pytest.raises(ProviderRejected) as caught:
        await billing.renew_subscription(
            subscription.ref, TERM_END, date(2028, 1, 1), [PREMIUM], idempotency_key="renew-1"
        )

    assert caught.value.code == "subscription_not_active"


async def test_cancel_turns_auto_renew_off_and_keeps_the_term(
    billing: LocalBillingProvider,
) -> None:
    subscription = await _subscription(billing)

    cancelled = await billing.cancel_subscription(subscription.ref, idempotency_key="cancel-1")
    again = await billing.cancel_subscription(subscription.ref, idempotency_key="cancel-1")

    assert again == cancelled
    assert cancelled.status == SubscriptionStatus.CANCELLED
    assert cancelled.auto_renew is False
    assert cancelled.term_end == TERM_END
    assert cancelled.items == subscription.items


async def test_reactivate_turns_auto_renew_back_on(billing: LocalBillingProvider) -> None:
    subscription = await _subscription(billing)
    await billing.cancel_subscription(subscription.ref, idempotency_key="cancel-1")

    reactivated = await billing.reactivate_subscription(
        subscription.ref, idempotency_key="reactivate-1"
    )

    assert reactivated.status == SubscriptionStatus.ACTIVE
    assert reactivated.auto_renew is True


async def test_reactivate_after_the_term_ended_is_rejected(
    billing: LocalBillingProvider, clock: FixedClock
) -> None:
    subscription = await _subscription(billing)
    await billing.cancel_subscription(subscription.ref, idempotency_key="cancel-1")
    clock.advance(timedelta(days=365))

    with pytest.raises(ProviderRejected) as caught:
        await billing.reactivate_subscription(subscription.ref, idempotency_key="reactivate-1")

    assert caught.value.code == "subscription_ended"


async def test_a_cancel_key_cannot_be_reused_to_reactivate(billing: LocalBillingProvider) -> None:
    subscription = await _subscription(billing)
    await billing.cancel_subscription(subscription.ref, idempotency_key="toggle-1")

    with pytest.raises(ProviderRejected) as caught:
        await billing.reactivate_subscription(subscription.ref, idempotency_key="toggle-1")

    assert caught.value.code == "idempotency_key_reused"


async def test_writes_to_an_unknown_subscription(billing: LocalBillingProvider) -> None:
    with pytest.raises(ProviderNotFound):
        await billing.cancel_subscription("sub_999999", idempotency_key="cancel-1")


async def test_get_subscriptions_omits_unknown_refs(billing: LocalBillingProvider) -> None:
    subscription = await _subscription(billing)

    found = await billing.get_subscriptions([subscription.ref, "sub_999999"])

    assert dict(found) == {subscription.ref: subscription}
