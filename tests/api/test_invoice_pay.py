"""invoicePay: an open invoice charged now with the account's current payment method, once
per idempotency key; a declined renewal in grace renewed exactly as a successful grace retry
renews it; refusals (not open, an order's, no card, the key reused, the subscription busy)
change nothing and call no provider."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.auth.principals import Principal, PrincipalKind
from app.clock import FixedClock
from app.config import Settings
from app.db.repositories import lifecycle as lifecycle_repo
from app.db.tables import (
    AuditEvent,
    BillingAccount,
    Invoice,
    LedgerIdempotency,
    Membership,
    Notification,
    Order,
    OrderLease,
    OutboxMessage,
    Payment,
    PayNowRequest,
    PortalUser,
    Reconciliation,
    Renewal,
    Subscription,
)
from app.domain.enums import InvoiceStatus, MemberRole, OrderStatus, PayNowStatus
from app.domain.errors import DomainError, ErrorCode
from app.domain.lifecycle import RenewalStatus
from app.domain.reconciliation import ReconciliationStatus
from app.providers.errors import ProviderUnavailable
from app.runtime import Runtime
from app.services.payments.pay_now import pay_invoice
from resolvers.ids import to_global_id
from tests.api.payments_support import (
    CountingBilling,
    audit_of,
    counted_runtime,
    money_rows,
    pay,
    payer,
    rows,
    set_method,
)
from tests.services.lifecycle_support import at, ledger, reload, run_at, subscribed
from tests.support import factories as f
from tests.support.graphql import Api, user_token


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


def _paid(invoice: Invoice, total: int) -> dict[str, Any]:
    amount = {"amount": str(total)}
    return {
        "__typename": "InvoicePayPayload",
        "invoice": {
            "number": invoice.number,
            "status": "PAID",
            "total": amount,
            "amountPaid": amount,
            "amountDue": {"amount": "0"},
            "payments": [{"status": "SUCCEEDED", "amount": amount, "failureCode": None}],
        },
        "payment": {"status": "SUCCEEDED", "amount": amount},
        "renewedSubscription": None,
    }


async def test_pay_now_charges_the_balance_to_the_cent_once(
    api: Api, db: AsyncSession, settings: Settings, calls: Counter[str]
) -> None:
    p = await payer(db, settings, amounts=(348_000, 87_238, -1))

    answers = [await pay(api, p.owner, p.invoice_id, "pay-1") for _ in range(50)]

    assert answers == [_paid(p.invoice, 435_237)] * 50
    assert calls == Counter({"create_account": 1, "create_invoice": 1, "collect_payment": 1})
    _, payments = await ledger(db)
    assert payments == [(435_237, "SUCCEEDED")]
    [request] = await rows(db, PayNowRequest)
    assert (request.status, request.attempt, request.charge_key) == (
        PayNowStatus.PAID,
        1,
        f"pay-now:invoice:{p.invoice.id}",
    )
    [event] = await audit_of(db, "Invoice", p.invoice.id)
    assert (event.action, event.actor_kind, event.before, event.after) == (
        "invoice.paid",
        "CUSTOMER_USER",
        {"status": "OPEN", "amount_paid": 0},
        {
            "status": "PAID",
            "amount_paid": 435_237,
            "payment_ref": payments and (await rows(db, Payment))[0].provider_ref,
            "decline_code": None,
            "renewal_attempt": None,
        },
    )
    [sync] = await rows(db, OutboxMessage, col(OutboxMessage.topic) == "billing.sync_subscription")
    assert sync.idempotency_key == f"pay-now:{request.id}:billing"


async def test_a_decline_is_kept_then_a_good_card_pays(
    api: Api, db: AsyncSession, settings: Settings, calls: Counter[str]
) -> None:
    p = await payer(db, settings, payment_method="pm_card_declined")

    declined = await pay(api, p.owner, p.invoice_id, "pay-1")
    assert declined == {
        "__typename": "PaymentDeclinedError",
        "declineCode": "card_declined",
        "code": "PAYMENT_DECLINED",
        "message": "The payment was declined (card_declined); the invoice stays open.",
    }
    assert await pay(api, p.owner, p.invoice_id, "pay-1") == declined  # replayed, not charged
    assert calls["collect_payment"] == 1
    invoice = (await rows(db, Invoice, col(Invoice.id) == p.invoice.id))[0]
    assert (invoice.status, invoice.amount_paid) == (InvoiceStatus.OPEN, 0)
    [failed] = await rows(db, Payment)
    assert (failed.status, failed.amount, failed.failure_code) == (
        "FAILED",
        348_000,
        "card_declined",
    )

    await set_method(api, p.owner, p.account_id, "pm_card_visa")
    paid = await pay(api, p.owner, p.invoice_id, "pay-2")

    assert paid["invoice"]["status"] == "PAID"
    assert [x["status"] for x in paid["invoice"]["payments"]] == ["FAILED", "SUCCEEDED"]
    _, payments = await ledger(db)
    assert payments == [(348_000, "FAILED"), (348_000, "SUCCEEDED")]
    keys = [row.key for row in await rows(db, LedgerIdempotency)]
    base = f"pay-now:invoice:{p.invoice.id}"
    assert [k for k in keys if k.startswith(base)] == [
        f"{base}:invoice",
        f"{base}:payment:1",
        f"{base}:payment:2",
    ]
    actions = [event.action for event in await audit_of(db, "Invoice", p.invoice.id)]
    assert actions == ["invoice.payment_declined", "invoice.paid"]


async def _refused(
    api: Api, db: AsyncSession, token: str, invoice_id: str, calls: Counter[str], key: str
) -> dict[str, Any]:
    before = await money_rows(db)
    answer = await pay(api, token, invoice_id, key)
    assert await money_rows(db) == before, "a refused payment changed rows"
    assert calls == Counter(), "a refused payment called the provider"
    return answer


@pytest.mark.parametrize("status", [InvoiceStatus.PAID, InvoiceStatus.VOID, InvoiceStatus.DRAFT])
async def test_only_an_open_invoice_is_paid(
    api: Api, db: AsyncSession, settings: Settings, calls: Counter[str], status: InvoiceStatus
) -> None:
    p = await payer(db, settings, status=status)

    answer = await _refused(api, db, p.owner, p.invoice_id, calls, "pay-1")

    assert (answer["__typename"], answer["code"]) == ("RuleViolation", "INVOICE_NOT_OPEN")


async def test_an_orders_invoice_is_the_orders_to_collect(
    api: Api, db: AsyncSession, settings: Settings, calls: Counter[str]
) -> None:
    p = await payer(db, settings)
    order = await f.add(
        db,
        Order(
            customer_id=p.customer.id or 0,
            status=OrderStatus.FAILED,
            idempotency_key="o-1",
            quote_digest="d",
            currency="USD",
            subtotal=348_000,
            total=348_000,
            placed_by="user:x",
        ),
    )
    p.invoice.order_id = order.id
    await db.flush()

    answer = await _refused(api, db, p.owner, p.invoice_id, calls, "pay-1")

    assert answer["code"] == "INVOICE_NOT_PAYABLE"


async def test_without_a_card_nothing_is_charged(
    api: Api, db: AsyncSession, settings: Settings, calls: Counter[str]
) -> None:
    p = await payer(db, settings, payment_method=None)

    answer = await _refused(api, db, p.owner, p.invoice_id, calls, "pay-1")

    assert (answer["code"], answer["declineCode"]) == ("PAYMENT_DECLINED", "no_payment_method")


async def test_a_key_is_for_one_invoice(
    api: Api, db: AsyncSession, settings: Settings, calls: Counter[str]
) -> None:
    p = await payer(db, settings)
    other = await f.invoice(db, p.subscription, amounts=(1_000,))
    await pay(api, p.owner, p.invoice_id, "pay-1")
    calls.clear()

    answer = await _refused(
        api, db, p.owner, to_global_id("Invoice", other.id or 0), calls, "pay-1"
    )

    assert (answer["__typename"], answer["code"]) == ("QuoteError", "IDEMPOTENCY_KEY_REUSED")


async def test_a_subscription_held_by_an_order_or_a_job_is_not_charged_meanwhile(
    api: Api, db: AsyncSession, settings: Settings, calls: Counter[str], clock: FixedClock
) -> None:
    p = await payer(db, settings)
    held = await lifecycle_repo.take_lease(
        db, p.subscription.id or 0, clock.now(), clock.now() + timedelta(seconds=60)
    )
    assert held

    answer = await _refused(api, db, p.owner, p.invoice_id, calls, "pay-1")

    assert (answer["code"], answer["retryAfterSeconds"]) == ("PAYMENT_IN_PROGRESS", 5)
    await db.execute(sa.delete(OrderLease))  # the holder is done: now it goes through
    assert (await pay(api, p.owner, p.invoice_id, "pay-1"))["invoice"]["status"] == "PAID"
    leases = await db.scalar(sa.select(sa.func.count()).select_from(OrderLease))
    assert leases == 0  # and gave the lease back


async def test_a_declined_reconciliation_invoice_becomes_paid_with_its_quarter(
    api: Api, db: AsyncSession, settings: Settings
) -> None:
    p = await payer(db, settings, amounts=(261_000,))
    quarter = await f.add(
        db,
        Reconciliation(
            subscription_id=p.subscription.id or 0,
            term_start=date(2026, 1, 1),
            quarter=1,
            quarter_start=date(2026, 1, 1),
            quarter_end=date(2026, 4, 1),
            invoice_on=date(2026, 4, 8),
            status=ReconciliationStatus.DECLINED,
            billed_seats=10,
            invoice_id=p.invoice.id,
        ),
    )
    seats = p.subscription.seats

    answer = await pay(api, p.billing_admin, p.invoice_id, "pay-1")

    assert answer == _paid(p.invoice, 261_000)
    assert (await reload(db, p.subscription)).seats == seats
    await db.refresh(quarter)
    assert quarter.status is ReconciliationStatus.PAID  # as its job records a paid charge


# --- a declined renewal in grace ---------------------------------------------------------


async def _declined_renewal(
    db: AsyncSession, runtime: Runtime, clock: FixedClock, settings: Settings
) -> tuple[Subscription, str, Invoice]:
    """Premium, 10 seats, term 2026 with a declining card: its renewal on 2027-01-01 was
    declined, the subscription is in grace. The owner's token and the open invoice."""
    sub = await subscribed(db, seats=10, payment_method="pm_card_declined")
    await run_at(runtime, clock, at(date(2027, 1, 1)))
    sub = await reload(db, sub)
    assert sub.status == "GRACE"
    owner_id = await db.scalar(
        sa.select(col(Membership.user_id)).where(col(Membership.customer_id) == sub.customer_id)
    )
    owner = await db.get(PortalUser, owner_id)
    assert owner is not None
    [invoice] = await rows(db, Invoice, col(Invoice.subscription_id) == sub.id)
    return sub, user_token(settings, owner), invoice


async def _card(db: AsyncSession, sub: Subscription, card: str) -> None:
    account = await db.get(BillingAccount, sub.billing_account_id)
    assert account is not None
    account.payment_method = card
    await db.flush()


async def test_decline_then_a_good_card_then_pay_renews(
    api: Api, db: AsyncSession, runtime: Runtime, clock: FixedClock, settings: Settings
) -> None:
    sub, owner, invoice = await _declined_renewal(db, runtime, clock, settings)
    invoice_id = to_global_id("Invoice", invoice.id or 0)
    account_id = to_global_id("BillingAccount", sub.billing_account_id)
    clock.set(at(date(2027, 1, 2)))

    declined = await pay(api, owner, invoice_id, "pay-1")
    assert (declined["code"], declined["declineCode"]) == ("PAYMENT_DECLINED", "card_declined")
    [renewal] = await rows(db, Renewal)
    assert (renewal.status, renewal.attempts, renewal.next_attempt_on) == (
        RenewalStatus.DECLINED,
        2,
        date(2027, 1, 8),  # the pay-now was the second attempt: the job tries the third
    )
    assert (await reload(db, sub)).status == "GRACE"

    assert (await set_method(api, owner, account_id, "pm_card_visa"))["billingAccount"]
    paid = await pay(api, owner, invoice_id, "pay-2")

    assert paid["invoice"]["status"] == "PAID"
    assert paid["invoice"]["amountPaid"] == {"amount": "348000"}
    assert paid["renewedSubscription"] == {
        "number": sub.number,
        "status": "ACTIVE",
        "termStart": "2027-01-01",
        "termEnd": "2028-01-01",
        "seats": 10,
    }
    [renewal] = await rows(db, Renewal)
    assert (renewal.status, renewal.attempts) == (RenewalStatus.PAID, 3)
    for day in (date(2027, 1, 4), date(2027, 1, 8), date(2027, 1, 12), date(2027, 1, 15)):
        await run_at(runtime, clock, at(day))  # the retry days and the expiry day pass
    sub = await reload(db, sub)
    assert (sub.status, sub.term_end) == ("ACTIVE", date(2028, 1, 1))
    _, payments = await ledger(db)
    assert payments == [(348_000, "FAILED"), (348_000, "FAILED"), (348_000, "SUCCEEDED")]
    assert await pay(api, owner, invoice_id, "pay-2") == paid  # replayed as it was
    assert await pay(api, owner, invoice_id, "pay-1") == declined


async def _outcome(db: AsyncSession, sub: Subscription) -> dict[str, Any]:
    """What a renewal leaves behind: the subscription, the renewal, notifications, follow-up
    messages, the lifecycle's audit rows (ids and times left out)."""
    sub = await reload(db, sub)
    [renewal] = await rows(db, Renewal, col(Renewal.subscription_id) == sub.id)
    kinds = await rows(db, Notification, col(Notification.subscription_id) == sub.id)
    messages = await rows(db, OutboxMessage, col(OutboxMessage.subscription_id) == sub.id)
    audits = await rows(
        db,
        AuditEvent,
        col(AuditEvent.target_type) == "Subscription",
        col(AuditEvent.target_id) == str(sub.id),
    )
    return {
        "subscription": (sub.status, sub.plan_id, sub.seats, sub.term_start, sub.term_end),
        "max_seats_used": sub.max_seats_used,
        "renewal": (renewal.status, renewal.failure_code, renewal.next_attempt_on),
        "notifications": [n.kind for n in kinds],
        "messages": sorted(m.topic for m in messages),
        "audit": [(a.action, a.actor_id) for a in audits],
    }


async def test_pay_now_renews_exactly_as_a_grace_retry(
    api: Api, db: AsyncSession, runtime: Runtime, clock: FixedClock, settings: Settings
) -> None:
    """Two subscriptions declined alike and given a good card: one renewed by the grace job's
    retry on day 3, the other paid now on day 3. Both end the same."""
    by_job, _, _ = await _declined_renewal(db, runtime, clock, settings)
    await _card(db, by_job, "pm_card_visa")
    await run_at(runtime, clock, at(date(2027, 1, 4)))
    clock.set(at(date(2026, 6, 1)))
    by_pay_now, owner, invoice = await _declined_renewal(db, runtime, clock, settings)
    await _card(db, by_pay_now, "pm_card_visa")
    clock.set(at(date(2027, 1, 4)))

    paid = await pay(api, owner, to_global_id("Invoice", invoice.id or 0), "pay-1")

    assert paid["renewedSubscription"]["status"] == "ACTIVE"
    expected = await _outcome(db, by_job)
    assert expected["subscription"][0] == "ACTIVE"
    assert await _outcome(db, by_pay_now) == expected


class _LosingFirstAnswer(CountingBilling):
    """The first collect goes through at the provider, but its answer is lost."""

    lost = False

    async def collect_payment(self, *args: Any, **kwargs: Any) -> Any:
        record = await self._inner.collect_payment(*args, **kwargs)
        if not self.lost:
            self.lost = True
            raise ProviderUnavailable("local", "timed out")
        return record


def _losing_first_answer(runtime: Runtime) -> Runtime:
    billing = _LosingFirstAnswer(runtime.providers.billing, Counter())
    return replace(runtime, providers=replace(runtime.providers, billing=billing))  # type: ignore[arg-type]


async def test_a_charge_whose_answer_was_lost_is_resumed_by_the_retry(
    runtime: Runtime, db: AsyncSession, settings: Settings
) -> None:
    """The provider charged but its answer never came: the request stays PENDING, the lease
    is given back, and the retry with the key (or another key) replays the same charge."""

    flaky = _losing_first_answer(runtime)
    p = await payer(db, settings)
    owner = Principal(
        kind=PrincipalKind.CUSTOMER_USER, id="owner", roles={p.customer.id or 0: MemberRole.OWNER}
    )

    with pytest.raises(DomainError) as unavailable:
        await pay_invoice(flaky, owner, p.invoice.id or 0, "pay-1")
    assert unavailable.value.code is ErrorCode.PROVIDER_UNAVAILABLE
    [request] = await rows(db, PayNowRequest)
    assert (request.status, request.processing_until) == (PayNowStatus.PENDING, None)
    assert (await rows(db, Invoice, col(Invoice.id) == p.invoice.id))[0].status == "OPEN"
    leases = await db.scalar(sa.select(sa.func.count()).select_from(OrderLease))
    assert leases == 0

    paid = await pay_invoice(flaky, owner, p.invoice.id or 0, "pay-2")  # another key, even

    assert (paid.invoice.status, paid.invoice.amount_paid) == (InvoiceStatus.PAID, 348_000)
    _, payments = await ledger(db)
    assert payments == [(348_000, "SUCCEEDED")]  # replayed, never charged twice
    assert [r.status for r in await rows(db, PayNowRequest)] == [PayNowStatus.PAID] * 2
    again = await pay_invoice(flaky, owner, p.invoice.id or 0, "pay-1")
    assert again.payment is not None and again.payment.id == paid.payment.id  # type: ignore[union-attr]


@pytest.mark.parametrize("card", ["pm_card_mastercard", None])
async def test_a_lost_charge_resumed_after_a_card_change_is_paid_not_declined(
    runtime: Runtime, db: AsyncSession, settings: Settings, card: str | None
) -> None:
    """The provider charged but the answer was lost; the card was then changed (or removed,
    detached at the provider) and the request retried. The resumed attempt's key comes with
    another payment method, which the provider refuses (or with none): the invoice the
    provider already collected is PAID here, not a decline."""

    flaky = _losing_first_answer(runtime)
    p = await payer(db, settings)
    owner = Principal(
        kind=PrincipalKind.CUSTOMER_USER, id="owner", roles={p.customer.id or 0: MemberRole.OWNER}
    )
    with pytest.raises(DomainError):
        await pay_invoice(flaky, owner, p.invoice.id or 0, "pay-1")
    await db.execute(
        sa.update(BillingAccount)
        .where(col(BillingAccount.id) == p.account.id)
        .values(payment_method=card)
    )
    await db.commit()

    paid = await pay_invoice(flaky, owner, p.invoice.id or 0, "pay-1")

    assert (paid.invoice.status, paid.invoice.amount_paid) == (InvoiceStatus.PAID, 348_000)
    assert paid.payment is not None and paid.payment.status == "SUCCEEDED"
    _, payments = await ledger(db)
    assert payments == [(348_000, "SUCCEEDED")]  # the first charge, once
    assert [r.status for r in await rows(db, PayNowRequest)] == [PayNowStatus.PAID]


async def test_a_renewal_charge_left_unsettled_is_finished_by_the_grace_job_once(
    runtime: Runtime, db: AsyncSession, clock: FixedClock, settings: Settings
) -> None:
    """Pay-now charged a declined renewal but lost the answer: the renewal stays claimed; once
    the claim runs out the grace job replays the same keys and renews; the client's retry then
    answers PAID from that one charge."""

    sub, _, invoice = await _declined_renewal(db, runtime, clock, settings)
    await _card(db, sub, "pm_card_visa")
    flaky = _losing_first_answer(runtime)
    owner = Principal(
        kind=PrincipalKind.CUSTOMER_USER, id="owner", roles={sub.customer_id: MemberRole.OWNER}
    )
    clock.set(at(date(2027, 1, 2)))

    with pytest.raises(DomainError):
        await pay_invoice(flaky, owner, invoice.id or 0, "pay-1")
    [renewal] = await rows(db, Renewal)
    assert (renewal.status, renewal.attempts) == (RenewalStatus.PENDING, 2)
    live = at(date(2027, 1, 2)) + timedelta(seconds=30)
    await run_at(flaky, clock, live)  # the claim is live: the job leaves it
    assert (await reload(db, sub)).status == "GRACE"
    await run_at(flaky, clock, at(date(2027, 1, 2), hour=7))  # ran out: the job resumes it

    sub = await reload(db, sub)
    assert (sub.status, sub.term_end) == ("ACTIVE", date(2028, 1, 1))
    paid = await pay_invoice(flaky, owner, invoice.id or 0, "pay-1")
    assert (paid.invoice.status, paid.renewed_subscription_id) == (InvoiceStatus.PAID, sub.id)
    _, payments = await ledger(db)
    assert payments == [(348_000, "FAILED"), (348_000, "SUCCEEDED")]
    [renewal] = await rows(db, Renewal)
    assert (renewal.status, renewal.attempts) == (RenewalStatus.PAID, 2)
