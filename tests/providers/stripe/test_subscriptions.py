"""Subscriptions over real HTTP to the fake: items from catalog prices, a subscription that
never charges on its own, the term kept readable, replays from the first snapshot."""

from __future__ import annotations

from datetime import date

import pytest

from app.clock import FixedClock
from app.providers.billing import BillingAccountRecord, SubscriptionItem, SubscriptionStatus
from app.providers.billing.stripe import StripeBillingProvider
from app.providers.billing.stripe.mapping import timestamp
from app.providers.errors import ProviderNotFound, ProviderRejected
from tests.fakes.stripe import StripeFake
from tests.providers.factories import PREMIUM, TERM_END, TERM_START, new_account

DUO = SubscriptionItem(product_code="duo_pro", quantity=5, unit_amount=22_800)
NEXT_END = date(2028, 1, 1)


@pytest.fixture
async def account(stripe_billing: StripeBillingProvider) -> BillingAccountRecord:
    return await stripe_billing.create_account(new_account(), idempotency_key="acct-1")


async def test_create_subscription_never_charges_on_its_own(
    stripe_billing: StripeBillingProvider, fake: StripeFake, account: BillingAccountRecord
) -> None:
    sub = await stripe_billing.create_subscription(
        account.ref, TERM_START, TERM_END, [PREMIUM, DUO], idempotency_key="sub-1"
    )

    assert (sub.account_ref, sub.status, sub.auto_renew) == (account.ref, "ACTIVE", True)
    assert (sub.term_start, sub.term_end, sub.items) == (TERM_START, TERM_END, (PREMIUM, DUO))
    (stored,) = fake.objects("subscription")
    assert stored["billing_cycle_anchor"] == timestamp(TERM_END)
    assert stored["pause_collection"] == {"behavior": "void", "resumes_at": None}
    assert fake.store.prorations == ["none", "none"]
    assert fake.objects("invoice") == []
    assert (await stripe_billing.get_subscriptions([sub.ref]))[sub.ref] == sub


async def test_prices_are_yearly_per_code_currency_and_amount_and_found_again(
    stripe_billing: StripeBillingProvider, fake: StripeFake, account: BillingAccountRecord
) -> None:
    await stripe_billing.create_subscription(
        account.ref, TERM_START, TERM_END, [PREMIUM], idempotency_key="sub-1"
    )
    await stripe_billing.create_subscription(
        account.ref, TERM_START, TERM_END, [PREMIUM], idempotency_key="sub-2"
    )

    (price,) = fake.objects("price")
    assert (price["lookup_key"], price["unit_amount"], price["currency"]) == (
        "premium:usd:34800:year",
        34_800,
        "usd",
    )
    assert price["recurring"]["interval"] == "year"
    assert [p["id"] for p in fake.objects("product")] == ["fulfillment_premium"]


async def test_amend_replaces_the_items_without_proration(
    stripe_billing: StripeBillingProvider, fake: StripeFake, account: BillingAccountRecord
) -> None:
    sub = await stripe_billing.create_subscription(
        account.ref, TERM_START, TERM_END, [PREMIUM, DUO], idempotency_key="sub-1"
    )
    ultimate = SubscriptionItem(product_code="ultimate", quantity=12, unit_amount=118_800)

    amended = await stripe_billing.amend_subscription(
        sub.ref,
        [ultimate, SubscriptionItem("duo_pro", 7, 22_800)],
        date(2026, 7, 2),
        idempotency_key="amend-1",
    )

    assert amended.items == (ultimate, SubscriptionItem("duo_pro", 7, 22_800))
    assert (amended.term_start, amended.term_end) == (TERM_START, TERM_END)
    assert len(fake.objects("subscription_item")) == 2
    assert set(fake.store.prorations) == {"none"}
    assert (await stripe_billing.get_subscriptions([sub.ref]))[sub.ref] == amended


async def test_an_amend_outside_the_term_is_refused(
    stripe_billing: StripeBillingProvider, account: BillingAccountRecord
) -> None:
    sub = await stripe_billing.create_subscription(
        account.ref, TERM_START, TERM_END, [PREMIUM], idempotency_key="sub-1"
    )

    with pytest.raises(ProviderRejected) as refused:
        await stripe_billing.amend_subscription(sub.ref, [DUO], TERM_END, idempotency_key="amend-1")

    assert refused.value.code == "invalid_request"
    assert (await stripe_billing.get_subscriptions([sub.ref]))[sub.ref].items == (PREMIUM,)


async def test_a_replayed_amend_returns_the_first_result_after_later_changes(
    stripe_billing: StripeBillingProvider, fake: StripeFake, account: BillingAccountRecord
) -> None:
    sub = await stripe_billing.create_subscription(
        account.ref, TERM_START, TERM_END, [PREMIUM], idempotency_key="sub-1"
    )
    first = await stripe_billing.amend_subscription(
        sub.ref, [PREMIUM, DUO], date(2026, 3, 1), idempotency_key="amend-1"
    )
    later = await stripe_billing.amend_subscription(
        sub.ref, [DUO], date(2026, 4, 1), idempotency_key="amend-2"
    )

    again = await stripe_billing.amend_subscription(
        sub.ref, [PREMIUM, DUO], date(2026, 3, 1), idempotency_key="amend-1"
    )

    assert again == first
    # the pause after create, then a claim and an items update per amend: none replayed
    assert fake.executed("POST", f"/v1/subscriptions/{sub.ref}") == 1 + 2 * 2
    assert (await stripe_billing.get_subscriptions([sub.ref]))[sub.ref] == later


async def test_renew_starts_the_next_term(
    stripe_billing: StripeBillingProvider, account: BillingAccountRecord
) -> None:
    sub = await stripe_billing.create_subscription(
        account.ref, TERM_START, TERM_END, [PREMIUM], idempotency_key="sub-1"
    )

    renewed = await stripe_billing.renew_subscription(
        sub.ref, TERM_END, NEXT_END, [PREMIUM, DUO], idempotency_key="renew-1"
    )

    assert (renewed.term_start, renewed.term_end) == (TERM_END, NEXT_END)
    assert renewed.items == (PREMIUM, DUO)
    assert renewed.status == SubscriptionStatus.ACTIVE


async def test_renew_must_start_at_the_term_end_and_needs_auto_renew(
    stripe_billing: StripeBillingProvider, account: BillingAccountRecord
) -> None:
    sub = await stripe_billing.create_subscription(
        account.ref, TERM_START, TERM_END, [PREMIUM], idempotency_key="sub-1"
    )
    with pytest.raises(ProviderRejected) as gap:
        await stripe_billing.renew_subscription(
            sub.ref, date(2027, 2, 1), NEXT_END, [PREMIUM], idempotency_key="renew-1"
        )
    await stripe_billing.cancel_subscription(sub.ref, idempotency_key="cancel-1")

    with pytest.raises(ProviderRejected) as cancelled:
        await stripe_billing.renew_subscription(
            sub.ref, TERM_END, NEXT_END, [PREMIUM], idempotency_key="renew-2"
        )

    assert (gap.value.code, cancelled.value.code) == ("invalid_request", "subscription_not_active")
    assert (await stripe_billing.get_subscriptions([sub.ref]))[sub.ref].term_end == TERM_END


async def test_cancel_turns_auto_renew_off_and_reactivate_back_on(
    stripe_billing: StripeBillingProvider, fake: StripeFake, account: BillingAccountRecord
) -> None:
    sub = await stripe_billing.create_subscription(
        account.ref, TERM_START, TERM_END, [PREMIUM], idempotency_key="sub-1"
    )

    cancelled = await stripe_billing.cancel_subscription(sub.ref, idempotency_key="cancel-1")
    assert (cancelled.status, cancelled.auto_renew) == ("CANCELLED", False)
    assert fake.objects("subscription")[0]["cancel_at_period_end"] is True

    reactivated = await stripe_billing.reactivate_subscription(sub.ref, idempotency_key="re-1")
    assert reactivated == sub
    assert fake.objects("subscription")[0]["cancel_at_period_end"] is False


async def test_reactivate_after_the_term_is_refused(
    stripe_billing: StripeBillingProvider, account: BillingAccountRecord, clock: FixedClock
) -> None:
    sub = await stripe_billing.create_subscription(
        account.ref, TERM_START, TERM_END, [PREMIUM], idempotency_key="sub-1"
    )
    await stripe_billing.cancel_subscription(sub.ref, idempotency_key="cancel-1")
    clock.current = clock.current.replace(year=2027, month=1, day=2)

    with pytest.raises(ProviderRejected) as refused:
        await stripe_billing.reactivate_subscription(sub.ref, idempotency_key="re-1")

    assert refused.value.code == "subscription_ended"


async def test_the_key_of_a_cancel_reused_to_reactivate_is_refused(
    stripe_billing: StripeBillingProvider, account: BillingAccountRecord
) -> None:
    sub = await stripe_billing.create_subscription(
        account.ref, TERM_START, TERM_END, [PREMIUM], idempotency_key="sub-1"
    )
    await stripe_billing.cancel_subscription(sub.ref, idempotency_key="key-1")

    with pytest.raises(ProviderRejected) as refused:
        await stripe_billing.reactivate_subscription(sub.ref, idempotency_key="key-1")

    assert refused.value.code == "idempotency_key_reused"
    assert (await stripe_billing.get_subscriptions([sub.ref]))[sub.ref].auto_renew is False


async def test_create_for_an_unknown_account_is_not_found_and_bad_items_refused(
    stripe_billing: StripeBillingProvider, fake: StripeFake
) -> None:
    with pytest.raises(ProviderNotFound):
        await stripe_billing.create_subscription(
            "cus_missing", TERM_START, TERM_END, [PREMIUM], idempotency_key="sub-1"
        )
    with pytest.raises(ProviderRejected) as twice:
        await stripe_billing.create_subscription(
            "cus_missing", TERM_START, TERM_END, [PREMIUM, PREMIUM], idempotency_key="sub-2"
        )

    assert twice.value.code == "invalid_request"
    assert fake.objects("subscription") == []


async def test_a_term_that_has_ended_is_refused_before_any_write(
    stripe_billing: StripeBillingProvider, fake: StripeFake, account: BillingAccountRecord
) -> None:
    with pytest.raises(ProviderRejected) as refused:
        await stripe_billing.create_subscription(
            account.ref, date(2025, 1, 1), TERM_START, [PREMIUM], idempotency_key="sub-1"
        )

    assert refused.value.code == "invalid_request"
    assert fake.executed("POST", "/v1/subscriptions") == 0


async def test_get_subscriptions_omits_unknown_refs(
    stripe_billing: StripeBillingProvider, account: BillingAccountRecord
) -> None:
    sub = await stripe_billing.create_subscription(
        account.ref, TERM_START, TERM_END, [PREMIUM], idempotency_key="sub-1"
    )

    assert await stripe_billing.get_subscriptions(["sub_missing", sub.ref]) == {sub.ref: sub}


async def test_more_than_ten_items_are_read_page_by_page(
    stripe_billing: StripeBillingProvider, account: BillingAccountRecord
) -> None:
    items = [SubscriptionItem(f"pack_{n:02d}", n, 1_000 + n) for n in range(12)]

    sub = await stripe_billing.create_subscription(
        account.ref, TERM_START, TERM_END, items, idempotency_key="sub-1"
    )

    assert sub.items == tuple(items)


async def test_a_subscription_stripe_has_ended_is_neither_renewed_nor_reactivated(
    stripe_billing: StripeBillingProvider, fake: StripeFake, account: BillingAccountRecord
) -> None:
    sub = await stripe_billing.create_subscription(
        account.ref, TERM_START, TERM_END, [PREMIUM], idempotency_key="sub-1"
    )
    await stripe_billing.cancel_subscription(sub.ref, idempotency_key="cancel-1")
    fake.objects("subscription")[0]["status"] = "canceled"  # the period ran out at Stripe

    with pytest.raises(ProviderRejected) as renewed:
        await stripe_billing.renew_subscription(
            sub.ref, TERM_END, NEXT_END, [PREMIUM], idempotency_key="renew-1"
        )
    with pytest.raises(ProviderRejected) as reactivated:
        await stripe_billing.reactivate_subscription(sub.ref, idempotency_key="re-1")

    assert (renewed.value.code, reactivated.value.code) == (
        "subscription_not_active",
        "subscription_ended",
    )


async def test_a_lookup_key_held_by_an_archived_price_is_refused(
    stripe_billing: StripeBillingProvider, fake: StripeFake, account: BillingAccountRecord
) -> None:
    await stripe_billing.create_subscription(
        account.ref, TERM_START, TERM_END, [PREMIUM], idempotency_key="sub-1"
    )
    fake.objects("price")[0]["active"] = False  # archived in Stripe's dashboard

    with pytest.raises(ProviderRejected) as refused:
        await stripe_billing.create_subscription(
            account.ref, TERM_START, TERM_END, [PREMIUM], idempotency_key="sub-2"
        )

    # Within a day the price's create is replayed (its key) and Stripe refuses the archived
    # price on the subscription; later the lookup key is found taken.
    assert refused.value.code == "invalid_request"
    assert len(fake.objects("subscription")) == 1
