"""Orders finish without their client (the audit's "charged for an order that never
completes"): an order cut between its charge and its completion, or whose charge's answer
was lost, is completed by the worker from the provider's replayed answers, never charged
twice; one that can no longer apply is failed and its payment refunded (or its unpaid
invoice voided), by the worker or by its client's retry. Inside the test's transaction, a
FixedClock and the local billing provider; SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.clock import FixedClock
from app.config import Settings
from app.db.tables import (
    BillingAccount,
    LedgerInvoice,
    Notification,
    Order,
    OutboxMessage,
    Promotion,
)
from app.domain.enums import InvoiceStatus, OrderStatus, SyncStatus
from app.domain.errors import DomainError
from app.domain.lifecycle import RenewalStatus
from app.domain.pricing import AddSeats, ChangePlan
from app.runtime import Runtime
from app.services.orders.recovery import MAX_FAILURES
from tests.services.lifecycle_support import run_at
from tests.services.recovery_support import (
    Buyer,
    Failing,
    buyer,
    crash,
    invoice_of,
    ledger_invoices,
    ledger_payments,
    ledger_refunds,
    local_payments,
    local_runtime,
    order_audit,
    order_of,
    place,
    quote,
    renewal_in_doubt,
    timeout,
)

PLACED_AT = datetime(2026, 7, 2, 12, tzinfo=UTC)
LATER = PLACED_AT + timedelta(minutes=2)  # the cut order's lease (60 s) has run out
FIVE_SEATS = 87_238  # worked example 1: 5 x 34 800 x 183 / 365
RECOVERY = "order-recovery"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(PLACED_AT)


@pytest.fixture
def runtime(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], clock: FixedClock
) -> Runtime:
    return local_runtime(settings, session_factory, clock)


async def _cut_after_charge(runtime: Runtime, who: Buyer, key: str, error: BaseException) -> str:
    """Place five seats; the request dies right after the provider collected the payment.
    Returns the quote token."""
    token = await quote(runtime, who, AddSeats(5))
    real = runtime.providers.billing
    runtime.providers.billing = Failing(real, after="collect_payment", error=error)
    try:
        with pytest.raises(type(error)):
            await place(runtime, who, token, key)
    finally:
        runtime.providers.billing = real
    return token


async def _move_on(runtime: Runtime, clock: FixedClock, who: Buyer) -> None:
    """Another order upgrades the subscription once the cut order's lease ran out: the cut
    order's quote (five Premium seats) no longer prices the same."""
    clock.set(PLACED_AT + timedelta(seconds=90))
    upgrade = await quote(runtime, who, ChangePlan("ultimate"))
    placed = await place(runtime, who, upgrade, "upgrade")
    assert placed.order.status is OrderStatus.COMPLETED


async def _assert_charged_not_completed(db: AsyncSession, who: Buyer, key: str) -> str:
    order = await order_of(db, key)
    invoice = await invoice_of(db, order)
    assert order.status is OrderStatus.PENDING
    assert (invoice.status, invoice.amount_paid) == (InvoiceStatus.OPEN, 0)
    assert await ledger_payments(db) == [(invoice.provider_ref, FIVE_SEATS, "SUCCEEDED")]
    await db.refresh(who.subscription)
    assert who.subscription.seats == 10
    assert invoice.provider_ref is not None
    return invoice.provider_ref


@pytest.mark.parametrize(
    "error", [crash(), RuntimeError("the process died")], ids=["cancelled", "died"]
)
async def test_an_order_cut_after_its_charge_is_completed_by_the_worker(
    db: AsyncSession, runtime: Runtime, clock: FixedClock, error: BaseException
) -> None:
    who = await buyer(db)
    token = await _cut_after_charge(runtime, who, "cut", error)
    invoice_ref = await _assert_charged_not_completed(db, who, "cut")

    handled = await run_at(runtime, clock, LATER)

    assert handled["order-recovery"] == 1
    order = await order_of(db, "cut")
    invoice = await invoice_of(db, order)
    assert (order.status, order.refunded, order.refund_ref) == (OrderStatus.COMPLETED, 0, None)
    assert (invoice.status, invoice.amount_paid) == (InvoiceStatus.PAID, FIVE_SEATS)
    await db.refresh(who.subscription)
    assert who.subscription.seats == 15
    payment_ref = (await ledger_payments(db), await local_payments(db, invoice))
    assert payment_ref[0] == [(invoice_ref, FIVE_SEATS, "SUCCEEDED")]  # charged once
    assert [(amount, status) for amount, status, _ in payment_ref[1]] == [(FIVE_SEATS, "SUCCEEDED")]
    assert await ledger_refunds(db) == []
    assert await order_audit(db, order) == [
        ("order.resumed", RECOVERY),
        ("order.recovered", RECOVERY),
    ]
    topics = await db.scalars(
        sa.select(col(OutboxMessage.topic)).where(
            col(OutboxMessage.idempotency_key) == f"order:{order.id}:provision"
        )
    )
    assert topics.all() == ["provisioning.push"]

    again = await place(runtime, who, token, "cut")
    assert again.order.status is OrderStatus.COMPLETED  # the key replays the completed order
    assert len(await ledger_payments(db)) == 1


@pytest.mark.parametrize("card", ["pm_card_mastercard", None], ids=["changed", "removed"])
async def test_an_order_cut_after_its_charge_then_a_card_change_completes_paid_once(
    db: AsyncSession, runtime: Runtime, clock: FixedClock, card: str | None
) -> None:
    """The provider collected the order's payment, then the customer changed (or removed)
    the card: the resumed collect sends the order's key with another card, which the
    provider refuses (or has no card to send). The order completes with the payment the
    provider collected, never refunded as a refusal."""
    who = await buyer(db)
    await _cut_after_charge(runtime, who, "cut", crash())
    invoice_ref = await _assert_charged_not_completed(db, who, "cut")
    await db.execute(
        sa.update(BillingAccount)
        .where(col(BillingAccount.id) == who.subscription.billing_account_id)
        .values(payment_method=card)
    )
    await db.commit()

    await run_at(runtime, clock, LATER)

    order = await order_of(db, "cut")
    invoice = await invoice_of(db, order)
    assert (order.status, order.refunded, order.refund_ref) == (OrderStatus.COMPLETED, 0, None)
    assert (invoice.status, invoice.amount_paid) == (InvoiceStatus.PAID, FIVE_SEATS)
    assert await ledger_payments(db) == [(invoice_ref, FIVE_SEATS, "SUCCEEDED")]
    assert await ledger_refunds(db) == []
    await db.refresh(who.subscription)
    assert who.subscription.seats == 15


async def test_a_charge_whose_answer_was_lost_is_completed_by_the_worker(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    who = await buyer(db)
    token = await quote(runtime, who, AddSeats(5))
    real = runtime.providers.billing
    runtime.providers.billing = Failing(real, after="collect_payment", error=timeout())
    with pytest.raises(DomainError) as refused:
        await place(runtime, who, token, "lost")
    runtime.providers.billing = real
    assert refused.value.code.value == "PROVIDER_UNAVAILABLE"
    await _assert_charged_not_completed(db, who, "lost")

    await run_at(runtime, clock, PLACED_AT + timedelta(seconds=5))  # paused: due at once

    order = await order_of(db, "lost")
    assert order.status is OrderStatus.COMPLETED
    assert [amount for _, amount, _ in await ledger_payments(db)] == [FIVE_SEATS]
    await db.refresh(who.subscription)
    assert who.subscription.seats == 15


async def _assert_refunded(db: AsyncSession, who: Buyer, key: str, invoice_ref: str) -> None:
    order = await order_of(db, key)
    invoice = await invoice_of(db, order)
    [(refund_ref, payment_ref, amount)] = await ledger_refunds(db)
    assert amount == FIVE_SEATS
    assert (order.status, order.refunded, order.refund_ref) == (
        OrderStatus.FAILED,
        FIVE_SEATS,
        refund_ref,
    )
    assert order.result is not None and order.result["error"]["code"] == "QUOTE_STALE"
    assert (invoice.status, invoice.amount_paid) == (InvoiceStatus.REFUNDED, FIVE_SEATS)
    assert await local_payments(db, invoice) == [(FIVE_SEATS, "SUCCEEDED", payment_ref)]
    charges = [(ref, amount) for ref, amount, _ in await ledger_payments(db)]
    assert charges[0] == (invoice_ref, FIVE_SEATS) and len(charges) == 2  # + the upgrade
    await db.refresh(who.subscription)
    assert who.subscription.seats == 10  # the five seats were never added
    kinds = await db.scalars(
        sa.select(col(Notification.kind)).where(col(Notification.dedupe_key).like("order-%"))
    )
    assert [kind.value for kind in kinds.all()] == ["ORDER_REFUNDED"]


async def test_an_order_that_no_longer_applies_is_refunded_by_the_worker(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    who = await buyer(db)
    token = await _cut_after_charge(runtime, who, "cut", crash())
    invoice_ref = await _assert_charged_not_completed(db, who, "cut")
    await _move_on(runtime, clock, who)

    await run_at(runtime, clock, LATER)

    await _assert_refunded(db, who, "cut", invoice_ref)
    order = await order_of(db, "cut")
    assert await order_audit(db, order) == [
        ("order.resumed", RECOVERY),
        ("order.failed", who.principal.id),
        ("order.refunded", RECOVERY),
        ("order.recovered", RECOVERY),
    ]
    with pytest.raises(DomainError) as replayed:  # the key replays the failure; no new refund
        await place(runtime, who, token, "cut")
    assert replayed.value.code.value == "QUOTE_STALE"
    assert len(await ledger_refunds(db)) == 1


async def test_a_retry_of_an_order_that_no_longer_applies_refunds_it(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    """The client's retry with the same key, not the worker, finds the quote stale."""
    who = await buyer(db)
    token = await _cut_after_charge(runtime, who, "cut", crash())
    invoice_ref = await _assert_charged_not_completed(db, who, "cut")
    await _move_on(runtime, clock, who)
    clock.set(LATER)

    with pytest.raises(DomainError) as retried:
        await place(runtime, who, token, "cut")

    assert retried.value.code.value == "QUOTE_STALE"
    await _assert_refunded(db, who, "cut", invoice_ref)


async def test_an_unpaid_order_that_no_longer_applies_has_its_invoice_voided(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    who = await buyer(db)
    token = await quote(runtime, who, AddSeats(5))
    real = runtime.providers.billing
    runtime.providers.billing = Failing(real, before="collect_payment", error=timeout())
    with pytest.raises(DomainError):
        await place(runtime, who, token, "unpaid")
    runtime.providers.billing = real
    await _move_on(runtime, clock, who)

    await run_at(runtime, clock, LATER)

    order = await order_of(db, "unpaid")
    invoice = await invoice_of(db, order)
    assert (order.status, order.refunded) == (OrderStatus.FAILED, 0)
    assert (invoice.status, invoice.amount_paid) == (InvoiceStatus.VOID, 0)
    assert (invoice.provider_ref, FIVE_SEATS, "VOID") in await ledger_invoices(db)
    assert [ref for ref, _, _ in await ledger_payments(db)] != [invoice.provider_ref]
    assert invoice.provider_ref not in {ref for ref, _, _ in await ledger_payments(db)}
    assert await ledger_refunds(db) == []
    assert await local_payments(db, invoice) == []
    assert ("order.invoice_voided", RECOVERY) in await order_audit(db, order)


async def test_an_invoice_paid_without_a_payment_fails_the_order_once_for_review(
    db: AsyncSession, runtime: Runtime, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    """The provider's invoice was paid out of band (PAID, no payment on it): it can neither
    be voided nor refunded. The order fails once, nothing is given back, the invoice is
    recorded PAID and marked DRIFTED, staff are told (an audit row, one error log line),
    and no later round takes it up again."""
    who = await buyer(db)
    token = await quote(runtime, who, AddSeats(5))
    real = runtime.providers.billing
    runtime.providers.billing = Failing(real, before="collect_payment", error=timeout())
    with pytest.raises(DomainError):
        await place(runtime, who, token, "unpaid")
    runtime.providers.billing = real
    order = await order_of(db, "unpaid")
    ref = (await invoice_of(db, order)).provider_ref
    await db.execute(
        sa.update(LedgerInvoice)
        .where(col(LedgerInvoice.ref) == ref)
        .values(status="PAID", balance=0)  # paid out of band at the provider
    )
    await _move_on(runtime, clock, who)

    with caplog.at_level(logging.ERROR, logger="app.orders.settlement"):
        await run_at(runtime, clock, LATER)
        await run_at(runtime, clock, LATER + timedelta(minutes=5))

    order = await order_of(db, "unpaid")
    invoice = await invoice_of(db, order)
    assert (order.status, order.refunded, order.refund_ref) == (OrderStatus.FAILED, 0, None)
    assert order.result is not None
    assert order.result["error"]["code"] == "QUOTE_STALE"
    assert order.result["review"] == "invoice_paid_without_payment"
    assert (invoice.status, invoice.amount_paid, invoice.sync_status) == (
        InvoiceStatus.PAID,
        FIVE_SEATS,
        SyncStatus.DRIFTED,
    )
    assert await local_payments(db, invoice) == []
    assert await ledger_refunds(db) == []
    assert (ref, FIVE_SEATS, "PAID") in await ledger_invoices(db)
    assert await order_audit(db, order) == [
        ("order.resumed", RECOVERY),
        ("order.failed", who.principal.id),
        ("order.invoice_needs_review", RECOVERY),
        ("order.recovered", RECOVERY),
    ]
    [line] = [r for r in caplog.records if r.name == "app.orders.settlement"]
    assert line.levelno == logging.ERROR and "no payment to refund" in line.getMessage()


async def test_a_refund_the_provider_could_not_take_is_finished_on_a_later_round(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    who = await buyer(db)
    await _cut_after_charge(runtime, who, "cut", crash())
    invoice_ref = await _assert_charged_not_completed(db, who, "cut")
    await _move_on(runtime, clock, who)
    real = runtime.providers.billing
    runtime.providers.billing = Failing(real, before="void_invoice", error=timeout())

    await run_at(runtime, clock, LATER)

    order = await order_of(db, "cut")
    assert order.status is OrderStatus.PENDING  # never FAILED while the money is held
    assert order.result == {
        "error": order.result["error"] if order.result else None,
        "settling": True,
    }
    assert await ledger_refunds(db) == []
    runtime.providers.billing = real

    await run_at(runtime, clock, LATER + timedelta(minutes=2))

    await _assert_refunded(db, who, "cut", invoice_ref)


async def test_an_order_that_keeps_failing_is_given_up_and_refunded(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    who = await buyer(db)
    await _cut_after_charge(runtime, who, "cut", crash())
    await _assert_charged_not_completed(db, who, "cut")
    order = await order_of(db, "cut")
    order.recovery_failures = MAX_FAILURES  # rounds that ended in an unexpected error
    await db.flush()

    await run_at(runtime, clock, LATER)

    order = await order_of(db, "cut")
    [(refund_ref, _, amount)] = await ledger_refunds(db)
    assert (order.status, order.refunded, order.refund_ref) == (
        OrderStatus.FAILED,
        FIVE_SEATS,
        refund_ref,
    )
    assert amount == FIVE_SEATS
    assert order.result is not None and order.result["error"]["code"] == "INTERNAL"
    await db.refresh(who.subscription)
    assert who.subscription.seats == 10


def test_the_pause_after_a_charge_is_refused_in_production() -> None:
    """The SIGKILL test's hook (tests/scaling/test_order_recovery.py) is for tests only."""
    with pytest.raises(ValidationError, match="ORDER_PAUSE_AFTER_CHARGE_SECONDS"):
        Settings(
            environment="production",
            jwt_secret="x" * 40,
            license_signing_key="unused",
            order_pause_after_charge_seconds=1.0,
        )


async def test_a_charged_order_waits_for_a_renewal_in_doubt_instead_of_failing(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    """An automatic renewal's charge in doubt refuses orders (ORDER_IN_PROGRESS): the cut
    order's retry then pauses it rather than failing (and refunding) it; the worker waits
    too, and completes it once the renewal is settled."""
    who = await buyer(db)
    token = await _cut_after_charge(runtime, who, "cut", crash())
    sub = who.subscription
    renewal = await renewal_in_doubt(db, sub, PLACED_AT)
    clock.set(LATER)

    with pytest.raises(DomainError) as waiting:
        await place(runtime, who, token, "cut")
    await run_at(runtime, clock, LATER + timedelta(seconds=1))

    assert waiting.value.code.value == "ORDER_IN_PROGRESS"
    order = await order_of(db, "cut")
    assert (order.status, order.refunded) == (OrderStatus.PENDING, 0)
    assert await ledger_refunds(db) == []
    renewal.status = RenewalStatus.PAID
    await db.flush()

    await run_at(runtime, clock, LATER + timedelta(minutes=2))

    order = await order_of(db, "cut")
    assert order.status is OrderStatus.COMPLETED
    assert [amount for _, amount, _ in await ledger_payments(db)] == [FIVE_SEATS]
    await db.refresh(sub)
    assert sub.seats == 15


async def test_a_refunded_order_gives_its_promotion_back(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    promotion = Promotion(code="SPRING20", percent_off=20, max_redemptions=1)
    db.add(promotion)
    who = await buyer(db)
    token = await quote(runtime, who, AddSeats(5), promo="SPRING20")
    real = runtime.providers.billing
    runtime.providers.billing = Failing(real, after="collect_payment", error=crash())
    with pytest.raises(asyncio.CancelledError):
        await place(runtime, who, token, "promo")
    runtime.providers.billing = real
    await db.refresh(promotion)
    assert promotion.redemptions == 1
    await _move_on(runtime, clock, who)

    await run_at(runtime, clock, LATER)

    order = await order_of(db, "promo")
    assert (order.status, order.total, order.refunded) == (OrderStatus.FAILED, 69_790, 69_790)
    assert [amount for _, _, amount in await ledger_refunds(db)] == [69_790]
    await db.refresh(promotion)
    assert promotion.redemptions == 0


async def test_a_provider_invoice_whose_answer_was_lost_is_found_and_voided(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    """The provider issued the invoice but its ref never reached us: settling sends the same
    request with the same key, which replays that invoice (not a new one), and voids it."""
    who = await buyer(db)
    token = await quote(runtime, who, AddSeats(5))
    real = runtime.providers.billing
    runtime.providers.billing = Failing(real, after="create_invoice", error=timeout())
    with pytest.raises(DomainError):
        await place(runtime, who, token, "lost-invoice")
    runtime.providers.billing = real
    order = await order_of(db, "lost-invoice")
    assert (await invoice_of(db, order)).provider_ref is None
    [(issued_ref, _, _)] = await ledger_invoices(db)
    await _move_on(runtime, clock, who)

    await run_at(runtime, clock, LATER)

    order = await order_of(db, "lost-invoice")
    invoice = await invoice_of(db, order)
    assert (order.status, invoice.status) == (OrderStatus.FAILED, InvoiceStatus.VOID)
    assert (issued_ref, FIVE_SEATS, "VOID") in await ledger_invoices(db)
    assert len(await ledger_invoices(db)) == 2  # that one and the upgrade's: none issued anew
    assert issued_ref not in {ref for ref, _, _ in await ledger_payments(db)}


async def test_an_order_from_before_resume_data_is_left_to_its_client(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    who = await buyer(db)
    await _cut_after_charge(runtime, who, "old", crash())
    order = await order_of(db, "old")
    await db.execute(sa.update(Order).where(col(Order.id) == order.id).values(resume=sa.null()))

    handled = await run_at(runtime, clock, LATER)

    assert handled["order-recovery"] == 0
    order = await order_of(db, "old")
    assert order.status is OrderStatus.PENDING
    assert await order_audit(db, order) == []
