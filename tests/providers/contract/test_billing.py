"""The billing contract (app/providers/billing/protocol.py): every BillingProvider passes it.

Runs once per entry of `implementations.BILLING`. Refs are opaque here (their format is an
implementation's business), unknown refs come from the entry, test cards from its tokens.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from app.clock import FixedClock
from app.providers.billing import (
    BillingAccountRecord,
    BillingProvider,
    BillingSubscriptionRecord,
    InvoiceRecord,
    InvoiceStatus,
    PaymentRecord,
    PaymentStatus,
    RefundStatus,
    SubscriptionItem,
    SubscriptionStatus,
)
from app.providers.errors import (
    ProviderError,
    ProviderNotFound,
    ProviderRejected,
    ProviderUnavailable,
)
from tests.providers.contract.implementations import Fault, Subject, outage
from tests.providers.factories import (
    PREMIUM,
    TERM_END,
    TERM_START,
    invoice_line,
    new_account,
    new_invoice,
)

KINDS = ("account", "subscription", "invoice", "payment", "refund")
DUO = SubscriptionItem(product_code="duo_pro", quantity=5, unit_amount=22_800)
MORE = SubscriptionItem(product_code="premium", quantity=15, unit_amount=34_800)
NEXT_END = date(2028, 1, 1)

Billing = Subject[BillingProvider]


async def _account(billing: BillingProvider, key: str = "acct-1") -> BillingAccountRecord:
    return await billing.create_account(new_account(), idempotency_key=key)


async def _subscription(billing: BillingProvider) -> BillingSubscriptionRecord:
    account = await _account(billing)
    return await billing.create_subscription(
        account.ref, TERM_START, TERM_END, [PREMIUM], idempotency_key="sub-1"
    )


async def _invoice(billing: BillingProvider) -> InvoiceRecord:
    account = await _account(billing)
    return await billing.create_invoice(new_invoice(account.ref), idempotency_key="inv-1")


async def _paid(subject: Billing) -> tuple[InvoiceRecord, PaymentRecord]:
    invoice = await _invoice(subject.provider)
    payment = await subject.provider.collect_payment(
        invoice.ref, subject.tokens.succeeds, idempotency_key="pay-1"
    )
    return invoice, payment


async def _invoice_now(billing: BillingProvider, ref: str) -> InvoiceRecord:
    return (await billing.get_invoices([ref]))[ref]


# -- every write: replayed per key, refused when the key is reused -----------------------------


@dataclass
class World:
    """One of everything a write can name: an account, two subscriptions, two open invoices
    and a succeeded payment (on a third invoice)."""

    account: BillingAccountRecord
    subscription: BillingSubscriptionRecord
    other_subscription: BillingSubscriptionRecord
    open_invoice: InvoiceRecord
    other_open_invoice: InvoiceRecord
    payment: PaymentRecord


async def _world(subject: Billing) -> World:
    billing = subject.provider
    account = await _account(billing, "world-acct")
    subscriptions = [
        await billing.create_subscription(
            account.ref, TERM_START, TERM_END, [PREMIUM], idempotency_key=f"world-sub-{n}"
        )
        for n in (1, 2)
    ]
    invoices = [
        await billing.create_invoice(new_invoice(account.ref), idempotency_key=f"world-inv-{n}")
        for n in (1, 2, 3)
    ]
    payment = await billing.collect_payment(
        invoices[2].ref, subject.tokens.succeeds, idempotency_key="world-pay"
    )
    return World(account, *subscriptions, invoices[0], invoices[1], payment)


# A write, given the provider, the world, the key and which of two argument sets to send.
WriteCall = Callable[[Billing, World, str, bool], Awaitable[object]]


def _create_account(s: Billing, w: World, key: str, other: bool) -> Awaitable[object]:
    return s.provider.create_account(
        new_account(name="Other" if other else "Acme Corp"), idempotency_key=key
    )


def _set_payment_method(s: Billing, w: World, key: str, other: bool) -> Awaitable[object]:
    token = s.tokens.succeeds_too if other else s.tokens.succeeds
    return s.provider.set_payment_method(w.account.ref, token, idempotency_key=key)


def _create_subscription(s: Billing, w: World, key: str, other: bool) -> Awaitable[object]:
    items = [DUO] if other else [PREMIUM]
    return s.provider.create_subscription(
        w.account.ref, TERM_START, TERM_END, items, idempotency_key=key
    )


def _amend_subscription(s: Billing, w: World, key: str, other: bool) -> Awaitable[object]:
    items = [MORE, DUO] if other else [MORE]
    return s.provider.amend_subscription(
        w.subscription.ref, items, date(2026, 7, 2), idempotency_key=key
    )


def _renew_subscription(s: Billing, w: World, key: str, other: bool) -> Awaitable[object]:
    end = NEXT_END + timedelta(days=1) if other else NEXT_END
    return s.provider.renew_subscription(
        w.subscription.ref, TERM_END, end, [PREMIUM], idempotency_key=key
    )


def _cancel_subscription(s: Billing, w: World, key: str, other: bool) -> Awaitable[object]:
    ref = w.other_subscription.ref if other else w.subscription.ref
    return s.provider.cancel_subscription(ref, idempotency_key=key)


def _reactivate_subscription(s: Billing, w: World, key: str, other: bool) -> Awaitable[object]:
    ref = w.other_subscription.ref if other else w.subscription.ref
    return s.provider.reactivate_subscription(ref, idempotency_key=key)


def _create_invoice(s: Billing, w: World, key: str, other: bool) -> Awaitable[object]:
    lines = (invoice_line(amount=1_000),) if other else (invoice_line(),)
    return s.provider.create_invoice(new_invoice(w.account.ref, lines=lines), idempotency_key=key)


def _collect_payment(s: Billing, w: World, key: str, other: bool) -> Awaitable[object]:
    token = s.tokens.succeeds_too if other else s.tokens.succeeds
    return s.provider.collect_payment(w.open_invoice.ref, token, idempotency_key=key)


def _void_invoice(s: Billing, w: World, key: str, other: bool) -> Awaitable[object]:
    ref = w.other_open_invoice.ref if other else w.open_invoice.ref
    return s.provider.void_invoice(ref, idempotency_key=key)


def _refund_payment(s: Billing, w: World, key: str, other: bool) -> Awaitable[object]:
    return s.provider.refund_payment(w.payment.ref, 200 if other else 100, idempotency_key=key)


WRITES: dict[str, WriteCall] = {
    "create_account": _create_account,
    "set_payment_method": _set_payment_method,
    "create_subscription": _create_subscription,
    "amend_subscription": _amend_subscription,
    "renew_subscription": _renew_subscription,
    "cancel_subscription": _cancel_subscription,
    "reactivate_subscription": _reactivate_subscription,
    "create_invoice": _create_invoice,
    "collect_payment": _collect_payment,
    "void_invoice": _void_invoice,
    "refund_payment": _refund_payment,
}


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
async def test_a_write_replayed_with_its_key_returns_the_first_record_and_records_nothing(
    billing_subject: Billing, write: WriteCall
) -> None:
    world = await _world(billing_subject)
    first = await write(billing_subject, world, "key-1", False)
    before = await billing_subject.counts(*KINDS)

    again = await write(billing_subject, world, "key-1", False)

    assert again == first
    assert await billing_subject.counts(*KINDS) == before


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
async def test_a_key_reused_with_other_arguments_is_rejected_and_changes_nothing(
    billing_subject: Billing, write: WriteCall
) -> None:
    world = await _world(billing_subject)
    await write(billing_subject, world, "key-1", False)
    before = await billing_subject.counts(*KINDS)

    with pytest.raises(ProviderRejected) as caught:
        await write(billing_subject, world, "key-1", True)

    assert caught.value.code == "idempotency_key_reused"
    assert caught.value.retryable is False
    assert await billing_subject.counts(*KINDS) == before


async def test_a_key_reused_for_another_operation_is_rejected(billing_subject: Billing) -> None:
    billing = billing_subject.provider
    account = await billing.create_account(new_account(), idempotency_key="key-1")

    with pytest.raises(ProviderRejected) as caught:
        await billing.set_payment_method(
            account.ref, billing_subject.tokens.succeeds, idempotency_key="key-1"
        )

    assert caught.value.code == "idempotency_key_reused"
    assert caught.value.retryable is False
    assert (await billing.get_accounts([account.ref]))[account.ref].payment_method is None


async def test_a_cancel_key_cannot_be_reused_to_reactivate(billing: BillingProvider) -> None:
    subscription = await _subscription(billing)
    await billing.cancel_subscription(subscription.ref, idempotency_key="toggle-1")

    with pytest.raises(ProviderRejected) as caught:
        await billing.reactivate_subscription(subscription.ref, idempotency_key="toggle-1")

    assert caught.value.code == "idempotency_key_reused"
    assert (await billing.get_subscriptions([subscription.ref]))[
        subscription.ref
    ].auto_renew is False


async def test_an_empty_idempotency_key_is_rejected(billing_subject: Billing) -> None:
    with pytest.raises(ProviderRejected) as caught:
        await billing_subject.provider.create_account(new_account(), idempotency_key="")

    assert caught.value.code == "invalid_request"
    assert await billing_subject.count("account") == 0


# -- writes naming unknown objects ---------------------------------------------------------------


async def test_writes_naming_unknown_objects_are_not_found(billing_subject: Billing) -> None:
    billing, unknown = billing_subject.provider, billing_subject.unknown
    token = billing_subject.tokens.succeeds
    writes: list[Callable[[], Awaitable[object]]] = [
        lambda: billing.set_payment_method(unknown("account"), token, idempotency_key="w-1"),
        lambda: billing.create_subscription(
            unknown("account"), TERM_START, TERM_END, [PREMIUM], idempotency_key="w-2"
        ),
        lambda: billing.amend_subscription(
            unknown("subscription"), [MORE], date(2026, 7, 2), idempotency_key="w-3"
        ),
        lambda: billing.renew_subscription(
            unknown("subscription"), TERM_END, NEXT_END, [PREMIUM], idempotency_key="w-4"
        ),
        lambda: billing.cancel_subscription(unknown("subscription"), idempotency_key="w-5"),
        lambda: billing.reactivate_subscription(unknown("subscription"), idempotency_key="w-6"),
        lambda: billing.create_invoice(new_invoice(unknown("account")), idempotency_key="w-7"),
        lambda: billing.collect_payment(unknown("invoice"), token, idempotency_key="w-8"),
        lambda: billing.void_invoice(unknown("invoice"), idempotency_key="w-9"),
        lambda: billing.refund_payment(unknown("payment"), 1, idempotency_key="w-10"),
    ]

    for write in writes:
        with pytest.raises(ProviderNotFound) as caught:
            await write()
        assert caught.value.provider == billing_subject.name
    assert await billing_subject.counts(*KINDS) == dict.fromkeys(KINDS, 0)


async def test_set_payment_method_names_the_unknown_account(billing_subject: Billing) -> None:
    ref = billing_subject.unknown("account")

    with pytest.raises(ProviderNotFound) as caught:
        await billing_subject.provider.set_payment_method(
            ref, billing_subject.tokens.succeeds, idempotency_key="pm-1"
        )

    assert caught.value.ref == ref


async def test_an_invoice_for_an_unknown_subscription(billing_subject: Billing) -> None:
    account = await _account(billing_subject.provider)
    invoice = new_invoice(account.ref, subscription_ref=billing_subject.unknown("subscription"))

    with pytest.raises(ProviderNotFound):
        await billing_subject.provider.create_invoice(invoice, idempotency_key="inv-1")

    assert await billing_subject.count("invoice") == 0


# -- accounts ------------------------------------------------------------------------------------


async def test_create_account_returns_a_neutral_record(billing_subject: Billing) -> None:
    token = billing_subject.tokens.succeeds
    account = await billing_subject.provider.create_account(
        new_account(payment_method=token), idempotency_key="acct-1"
    )

    assert account.ref
    assert account == BillingAccountRecord(
        ref=account.ref,
        name="Acme Corp",
        email="billing@acme.test",
        currency="USD",
        payment_method=token,
    )
    assert await billing_subject.count("account") == 1


async def test_distinct_keys_create_distinct_accounts(billing_subject: Billing) -> None:
    first = await _account(billing_subject.provider, "acct-1")
    second = await _account(billing_subject.provider, "acct-2")

    assert first.ref != second.ref
    assert await billing_subject.count("account") == 2


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"currency": "usd"}, "invalid_request"),
        ({"name": "  "}, "invalid_request"),
        ({"payment_method": "unknown"}, "invalid_payment_method"),
        ({"payment_method": "refused_on_account"}, "card_declined"),
    ],
)
async def test_malformed_accounts_are_rejected_and_change_nothing(
    billing_subject: Billing, overrides: dict[str, str], code: str
) -> None:
    if "payment_method" in overrides:
        overrides = {"payment_method": getattr(billing_subject.tokens, overrides["payment_method"])}

    with pytest.raises(ProviderRejected) as caught:
        await billing_subject.provider.create_account(
            new_account(**overrides), idempotency_key="acct-1"
        )

    assert caught.value.code == code
    assert await billing_subject.count("account") == 0


@pytest.mark.parametrize("token", ["succeeds", "succeeds_too", "declines_at_charge"])
async def test_set_payment_method_keeps_an_attachable_card(
    billing_subject: Billing, token: str
) -> None:
    billing = billing_subject.provider
    account = await _account(billing)
    card = getattr(billing_subject.tokens, token)

    updated = await billing.set_payment_method(account.ref, card, idempotency_key="pm-1")

    assert updated == BillingAccountRecord(
        ref=account.ref,
        name=account.name,
        email=account.email,
        currency=account.currency,
        payment_method=card,
    )
    assert (await billing.get_accounts([account.ref]))[account.ref] == updated


@pytest.mark.parametrize(
    ("token", "code"),
    [("unknown", "invalid_payment_method"), ("refused_on_account", "card_declined")],
)
async def test_set_payment_method_refuses_a_bad_card_and_keeps_the_old_one(
    billing_subject: Billing, token: str, code: str
) -> None:
    billing = billing_subject.provider
    account = await billing.create_account(
        new_account(payment_method=billing_subject.tokens.succeeds), idempotency_key="acct-1"
    )

    with pytest.raises(ProviderRejected) as caught:
        await billing.set_payment_method(
            account.ref, getattr(billing_subject.tokens, token), idempotency_key="pm-1"
        )

    assert caught.value.code == code
    assert (await billing.get_accounts([account.ref]))[account.ref] == account


async def test_get_accounts_maps_known_refs_and_omits_unknown(billing_subject: Billing) -> None:
    billing = billing_subject.provider
    first = await _account(billing, "acct-1")
    second = await billing.create_account(new_account(name="Beta"), idempotency_key="acct-2")
    unknown = billing_subject.unknown("account")

    found = await billing.get_accounts([second.ref, unknown, first.ref, first.ref])

    assert dict(found) == {first.ref: first, second.ref: second}
    assert await billing.get_accounts([]) == {}


# -- subscriptions -------------------------------------------------------------------------------


async def test_create_subscription(billing_subject: Billing) -> None:
    subscription = await _subscription(billing_subject.provider)

    assert subscription.ref
    assert subscription.status == SubscriptionStatus.ACTIVE == "ACTIVE"
    assert subscription.auto_renew is True
    assert (subscription.term_start, subscription.term_end) == (TERM_START, TERM_END)
    assert subscription.items == (PREMIUM,)
    assert await billing_subject.count("subscription") == 1


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
    billing_subject: Billing, items: list[SubscriptionItem]
) -> None:
    account = await _account(billing_subject.provider)

    with pytest.raises(ProviderRejected) as caught:
        await billing_subject.provider.create_subscription(
            account.ref, TERM_START, TERM_END, items, idempotency_key="sub-1"
        )

    assert caught.value.code == "invalid_request"
    assert await billing_subject.count("subscription") == 0


async def test_a_term_must_end_after_it_starts(billing_subject: Billing) -> None:
    account = await _account(billing_subject.provider)

    with pytest.raises(ProviderRejected) as caught:
        await billing_subject.provider.create_subscription(
            account.ref, TERM_END, TERM_START, [PREMIUM], idempotency_key="sub-1"
        )

    assert caught.value.code == "invalid_request"
    assert await billing_subject.count("subscription") == 0


async def test_amend_replaces_the_items(billing: BillingProvider) -> None:
    subscription = await _subscription(billing)

    amended = await billing.amend_subscription(
        subscription.ref, [MORE, DUO], date(2026, 7, 2), idempotency_key="amend-1"
    )

    assert amended.items == (MORE, DUO)
    assert (amended.term_start, amended.term_end) == (TERM_START, TERM_END)
    assert (await billing.get_subscriptions([subscription.ref]))[subscription.ref] == amended


@pytest.mark.parametrize("effective", [date(2025, 12, 31), TERM_END])
async def test_amend_outside_the_term_is_rejected(
    billing: BillingProvider, effective: date
) -> None:
    subscription = await _subscription(billing)

    with pytest.raises(ProviderRejected) as caught:
        await billing.amend_subscription(
            subscription.ref, [PREMIUM, DUO], effective, idempotency_key="amend-1"
        )

    assert caught.value.code == "invalid_request"
    assert (await billing.get_subscriptions([subscription.ref]))[subscription.ref] == subscription


async def test_renew_starts_the_next_term(billing: BillingProvider) -> None:
    subscription = await _subscription(billing)

    renewed = await billing.renew_subscription(
        subscription.ref, TERM_END, NEXT_END, [MORE], idempotency_key="renew-1"
    )

    assert (renewed.term_start, renewed.term_end) == (TERM_END, NEXT_END)
    assert renewed.status == "ACTIVE"
    assert renewed.items == (MORE,)
    assert (await billing.get_subscriptions([subscription.ref]))[subscription.ref] == renewed


async def test_renew_must_follow_the_current_term(billing: BillingProvider) -> None:
    subscription = await _subscription(billing)

    with pytest.raises(ProviderRejected) as caught:
        await billing.renew_subscription(
            subscription.ref,
            TERM_END + timedelta(days=1),
            NEXT_END,
            [PREMIUM],
            idempotency_key="renew-1",
        )

    assert caught.value.code == "invalid_request"
    assert (await billing.get_subscriptions([subscription.ref]))[subscription.ref] == subscription


async def test_a_cancelled_subscription_is_not_renewed(billing: BillingProvider) -> None:
    subscription = await _subscription(billing)
    cancelled = await billing.cancel_subscription(subscription.ref, idempotency_key="cancel-1")

    with pytest.raises(ProviderRejected) as caught:
        await billing.renew_subscription(
            subscription.ref, TERM_END, NEXT_END, [PREMIUM], idempotency_key="renew-1"
        )

    assert caught.value.code == "subscription_not_active"
    assert (await billing.get_subscriptions([subscription.ref]))[subscription.ref] == cancelled


async def test_cancel_turns_auto_renew_off_and_keeps_the_term(billing: BillingProvider) -> None:
    subscription = await _subscription(billing)

    cancelled = await billing.cancel_subscription(subscription.ref, idempotency_key="cancel-1")

    assert cancelled.status == SubscriptionStatus.CANCELLED
    assert cancelled.auto_renew is False
    assert (cancelled.term_start, cancelled.term_end) == (TERM_START, TERM_END)
    assert cancelled.items == subscription.items
    assert (await billing.get_subscriptions([subscription.ref]))[subscription.ref] == cancelled


async def test_reactivate_turns_auto_renew_back_on(billing: BillingProvider) -> None:
    subscription = await _subscription(billing)
    await billing.cancel_subscription(subscription.ref, idempotency_key="cancel-1")

    reactivated = await billing.reactivate_subscription(
        subscription.ref, idempotency_key="reactivate-1"
    )

    assert reactivated.status == SubscriptionStatus.ACTIVE
    assert reactivated.auto_renew is True
    assert reactivated.term_end == TERM_END
    assert (await billing.get_subscriptions([subscription.ref]))[subscription.ref] == reactivated


async def test_get_subscriptions_omits_unknown_refs(billing_subject: Billing) -> None:
    billing = billing_subject.provider
    subscription = await _subscription(billing)

    found = await billing.get_subscriptions(
        [subscription.ref, billing_subject.unknown("subscription")]
    )

    assert dict(found) == {subscription.ref: subscription}
    assert await billing.get_subscriptions([]) == {}


# -- invoices ------------------------------------------------------------------------------------


async def test_an_invoice_totals_its_lines_credits_included(
    billing_subject: Billing, clock: FixedClock
) -> None:
    billing = billing_subject.provider
    account = await _account(billing)
    credit = invoice_line(description="Unused Premium", amount=-262_192, quantity=10)
    charge = invoice_line(description="Ultimate", amount=895_068, quantity=10)

    invoice = await billing.create_invoice(
        new_invoice(account.ref, lines=(credit, charge)), idempotency_key="inv-1"
    )

    assert invoice.ref
    assert (invoice.total, invoice.balance) == (632_876, 632_876)
    assert invoice.status == InvoiceStatus.OPEN
    assert (invoice.account_ref, invoice.subscription_ref, invoice.currency) == (
        account.ref,
        None,
        "USD",
    )
    assert invoice.issued_on == clock.today()
    assert invoice.due_on == date(2026, 1, 31)
    assert invoice.lines == (credit, charge)
    assert await _invoice_now(billing, invoice.ref) == invoice


async def test_an_invoice_for_a_subscription(billing: BillingProvider) -> None:
    subscription = await _subscription(billing)

    invoice = await billing.create_invoice(
        new_invoice(subscription.account_ref, subscription_ref=subscription.ref),
        idempotency_key="inv-1",
    )

    assert invoice.subscription_ref == subscription.ref


async def test_get_invoices_omits_unknown_refs(billing_subject: Billing) -> None:
    billing = billing_subject.provider
    invoice = await _invoice(billing)

    found = await billing.get_invoices([invoice.ref, billing_subject.unknown("invoice")])

    assert dict(found) == {invoice.ref: invoice}
    assert await billing.get_invoices([]) == {}


async def test_a_zero_invoice_is_issued_paid(billing_subject: Billing) -> None:
    billing = billing_subject.provider
    account = await _account(billing)

    invoice = await billing.create_invoice(
        new_invoice(account.ref, lines=(invoice_line(amount=0),)), idempotency_key="inv-1"
    )

    assert (invoice.status, invoice.total, invoice.balance) == ("PAID", 0, 0)
    assert await billing.get_invoice_payments([invoice.ref]) == {invoice.ref: ()}
    assert await billing_subject.count("payment") == 0


async def test_an_invoice_in_another_currency_is_rejected(billing_subject: Billing) -> None:
    account = await _account(billing_subject.provider)

    with pytest.raises(ProviderRejected) as caught:
        await billing_subject.provider.create_invoice(
            new_invoice(account.ref, currency="EUR"), idempotency_key="inv-1"
        )

    assert caught.value.code == "currency_mismatch"
    assert await billing_subject.count("invoice") == 0


@pytest.mark.parametrize(
    "overrides",
    [
        {"lines": ()},
        {"lines": (invoice_line(amount=-1),)},
        {"lines": (invoice_line(amount=1.5),)},
    ],
)
async def test_malformed_invoices_are_rejected(
    billing_subject: Billing, overrides: dict[str, object]
) -> None:
    account = await _account(billing_subject.provider)

    with pytest.raises(ProviderRejected) as caught:
        await billing_subject.provider.create_invoice(
            new_invoice(account.ref, **overrides), idempotency_key="inv-1"
        )

    assert caught.value.code == "invalid_request"
    assert await billing_subject.count("invoice") == 0


async def test_a_past_due_date_is_due_on_issue_and_a_later_retry_replays(
    billing_subject: Billing, clock: FixedClock
) -> None:
    """A charge retried days later sends its first request (the local invoice's own due
    date): the provider issued it due on its issue date, and replays it for the key."""
    billing = billing_subject.provider
    account = await _account(billing)
    past = clock.today() - timedelta(days=3)

    invoice = await billing.create_invoice(
        new_invoice(account.ref, due_on=past), idempotency_key="inv-1"
    )
    clock.set(clock.now() + timedelta(days=2))
    again = await billing.create_invoice(
        new_invoice(account.ref, due_on=past), idempotency_key="inv-1"
    )

    assert (invoice.issued_on, invoice.due_on) == (past + timedelta(days=3),) * 2
    assert again == invoice
    assert await billing_subject.count("invoice") == 1


async def test_an_invoice_for_another_accounts_subscription(billing_subject: Billing) -> None:
    billing = billing_subject.provider
    subscription = await _subscription(billing)
    other = await _account(billing, "acct-2")

    with pytest.raises(ProviderRejected) as caught:
        await billing.create_invoice(
            new_invoice(other.ref, subscription_ref=subscription.ref), idempotency_key="inv-1"
        )

    assert caught.value.code == "invalid_request"
    assert await billing_subject.count("invoice") == 0


# -- payments ------------------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["succeeds", "succeeds_too"])
async def test_a_good_card_pays_the_invoice(billing_subject: Billing, token: str) -> None:
    billing = billing_subject.provider
    invoice = await _invoice(billing)
    card = getattr(billing_subject.tokens, token)

    payment = await billing.collect_payment(invoice.ref, card, idempotency_key="pay-1")

    assert payment.ref
    assert payment.status == PaymentStatus.SUCCEEDED
    assert (payment.invoice_ref, payment.amount, payment.currency) == (invoice.ref, 87_238, "USD")
    assert payment.failure_code is None
    paid = await _invoice_now(billing, invoice.ref)
    assert (paid.status, paid.balance, paid.total) == ("PAID", 0, 87_238)
    assert await billing.get_invoice_payments([invoice.ref]) == {invoice.ref: (payment,)}


async def test_a_decline_is_a_failed_payment_and_the_invoice_stays_open(
    billing_subject: Billing,
) -> None:
    billing = billing_subject.provider
    invoice = await _invoice(billing)

    payment = await billing.collect_payment(
        invoice.ref, billing_subject.tokens.declines_at_charge, idempotency_key="pay-1"
    )

    assert (payment.status, payment.failure_code) == (
        "FAILED",
        billing_subject.tokens.declined_code,
    )
    assert (payment.invoice_ref, payment.amount, payment.currency) == (invoice.ref, 87_238, "USD")
    assert await billing_subject.count("payment") == 1
    assert await _invoice_now(billing, invoice.ref) == invoice


async def test_a_replayed_decline_stays_declined(billing_subject: Billing) -> None:
    billing, card = billing_subject.provider, billing_subject.tokens.declines_at_charge
    invoice = await _invoice(billing)

    first = await billing.collect_payment(invoice.ref, card, idempotency_key="pay-1")
    again = await billing.collect_payment(invoice.ref, card, idempotency_key="pay-1")

    assert again == first
    assert first.status == "FAILED"
    assert await billing_subject.count("payment") == 1


async def test_a_new_key_after_a_decline_can_pay(billing_subject: Billing) -> None:
    billing, tokens = billing_subject.provider, billing_subject.tokens
    invoice = await _invoice(billing)
    declined = await billing.collect_payment(
        invoice.ref, tokens.declines_at_charge, idempotency_key="pay-1"
    )

    payment = await billing.collect_payment(invoice.ref, tokens.succeeds, idempotency_key="pay-2")

    assert payment.status == "SUCCEEDED"
    assert payment.amount == invoice.total
    assert await billing_subject.count("payment") == 2
    assert (await _invoice_now(billing, invoice.ref)).status == "PAID"
    assert await billing.get_invoice_payments([invoice.ref]) == {invoice.ref: (declined, payment)}


async def test_an_unknown_token_is_rejected_and_records_nothing(billing_subject: Billing) -> None:
    billing = billing_subject.provider
    invoice = await _invoice(billing)

    with pytest.raises(ProviderRejected) as caught:
        await billing.collect_payment(
            invoice.ref, billing_subject.tokens.unknown, idempotency_key="pay-1"
        )

    assert caught.value.code == "invalid_payment_method"
    assert await billing_subject.count("payment") == 0
    assert await _invoice_now(billing, invoice.ref) == invoice


async def test_a_paid_invoice_is_not_charged_again(billing_subject: Billing) -> None:
    invoice, _ = await _paid(billing_subject)

    with pytest.raises(ProviderRejected) as caught:
        await billing_subject.provider.collect_payment(
            invoice.ref, billing_subject.tokens.succeeds, idempotency_key="pay-2"
        )

    assert caught.value.code == "invoice_not_open"
    assert await billing_subject.count("payment") == 1


async def test_get_invoice_payments_omits_unknown_invoices(billing_subject: Billing) -> None:
    billing = billing_subject.provider
    invoice, payment = await _paid(billing_subject)
    unpaid = await billing.create_invoice(new_invoice(invoice.account_ref), idempotency_key="inv-2")

    found = await billing.get_invoice_payments(
        [invoice.ref, unpaid.ref, billing_subject.unknown("invoice")]
    )

    assert dict(found) == {invoice.ref: (payment,), unpaid.ref: ()}
    assert await billing.get_invoice_payments([]) == {}


# -- void and refund -----------------------------------------------------------------------------


async def test_an_open_invoice_is_voided_and_never_collected(billing_subject: Billing) -> None:
    billing = billing_subject.provider
    invoice = await _invoice(billing)

    voided = await billing.void_invoice(invoice.ref, idempotency_key="void-1")
    again = await billing.void_invoice(invoice.ref, idempotency_key="void-2")

    assert (voided.status, voided.balance, voided.total) == ("VOID", invoice.total, invoice.total)
    assert again == voided
    with pytest.raises(ProviderRejected) as caught:
        await billing.collect_payment(
            invoice.ref, billing_subject.tokens.succeeds, idempotency_key="pay-1"
        )
    assert caught.value.code == "invoice_not_open"
    assert await billing.get_invoice_payments([invoice.ref]) == {invoice.ref: ()}
    assert await _invoice_now(billing, invoice.ref) == voided


async def test_a_paid_invoice_is_not_voided(billing_subject: Billing) -> None:
    invoice, _ = await _paid(billing_subject)

    with pytest.raises(ProviderRejected) as caught:
        await billing_subject.provider.void_invoice(invoice.ref, idempotency_key="void-1")

    assert caught.value.code == "invoice_paid"
    assert (await _invoice_now(billing_subject.provider, invoice.ref)).status == "PAID"


async def test_a_payment_is_refunded_and_the_invoice_stays_paid(billing_subject: Billing) -> None:
    billing = billing_subject.provider
    invoice, payment = await _paid(billing_subject)

    refund = await billing.refund_payment(payment.ref, payment.amount, idempotency_key="re-1")

    assert refund.ref
    assert (refund.payment_ref, refund.invoice_ref, refund.amount, refund.currency) == (
        payment.ref,
        invoice.ref,
        invoice.total,
        "USD",
    )
    assert refund.status == RefundStatus.SUCCEEDED
    assert await billing_subject.count("refund") == 1
    assert await billing.get_invoice_payments([invoice.ref]) == {invoice.ref: (payment,)}
    assert (await _invoice_now(billing, invoice.ref)).status == "PAID"


async def test_no_more_than_the_payment_is_given_back(billing_subject: Billing) -> None:
    billing = billing_subject.provider
    _, payment = await _paid(billing_subject)
    await billing.refund_payment(payment.ref, payment.amount - 100, idempotency_key="re-1")

    with pytest.raises(ProviderRejected) as caught:
        await billing.refund_payment(payment.ref, 101, idempotency_key="re-2")
    last = await billing.refund_payment(payment.ref, 100, idempotency_key="re-3")

    assert caught.value.code == "refund_exceeds_payment"
    assert last.amount == 100
    assert await billing_subject.count("refund") == 2


async def test_a_failed_payment_is_not_refundable(billing_subject: Billing) -> None:
    billing = billing_subject.provider
    invoice = await _invoice(billing)
    declined = await billing.collect_payment(
        invoice.ref, billing_subject.tokens.declines_at_charge, idempotency_key="pay-1"
    )

    with pytest.raises(ProviderRejected) as caught:
        await billing.refund_payment(declined.ref, declined.amount, idempotency_key="re-1")

    assert caught.value.code == "payment_not_refundable"
    assert await billing_subject.count("refund") == 0


@pytest.mark.parametrize("amount", [0, -5])
async def test_a_refund_amount_must_be_positive(billing_subject: Billing, amount: int) -> None:
    _, payment = await _paid(billing_subject)

    with pytest.raises(ProviderRejected) as caught:
        await billing_subject.provider.refund_payment(payment.ref, amount, idempotency_key="re-1")

    assert caught.value.code == "invalid_request"
    assert await billing_subject.count("refund") == 0


# -- transport failures (implementations with fault controls) --------------------------------


FAULTS = [
    (Fault.REJECT, ProviderRejected),
    (Fault.SERVER_ERROR, ProviderUnavailable),
    (Fault.TIMEOUT, ProviderUnavailable),
    (Fault.DROP, ProviderUnavailable),
]


@pytest.mark.parametrize(("fault", "error"), FAULTS)
async def test_a_failed_read_is_a_typed_error(
    billing_subject: Billing, fault: Fault, error: type[ProviderError]
) -> None:
    faults = billing_subject.faults()
    account = await _account(billing_subject.provider)

    with outage(faults, fault), pytest.raises(error) as caught:
        await billing_subject.provider.get_accounts([account.ref])

    assert caught.value.retryable is (error is ProviderUnavailable)
    assert caught.value.provider == billing_subject.name
    assert await billing_subject.provider.get_accounts([account.ref]) == {account.ref: account}


@pytest.mark.parametrize(("fault", "error"), FAULTS)
async def test_a_write_that_failed_lands_once_when_retried_with_its_key(
    billing_subject: Billing, fault: Fault, error: type[ProviderError]
) -> None:
    faults = billing_subject.faults()

    with outage(faults, fault), pytest.raises(error):
        await _account(billing_subject.provider)
    if error is ProviderRejected:
        assert await billing_subject.count("account") == 0
    account = await _account(billing_subject.provider)

    assert await billing_subject.count("account") == 1
    assert await billing_subject.provider.get_accounts([account.ref]) == {account.ref: account}
