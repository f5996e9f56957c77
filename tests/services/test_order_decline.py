"""A declined order leaves nothing to collect: its provider invoice is voided (at the
provider and locally), its failed payment row is kept, and the order is FAILED with the
decline code; a retry with the same key replays that and calls the provider no more. When
the void cannot reach the provider, the order stays PENDING and settling, and the worker (or
the client's retry) finishes it with the same keys. Inside the test's transaction, a
FixedClock and the local billing provider; SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import FixedClock
from app.config import Settings
from app.db.tables import BillingAccount, LedgerPayment, Order, Promotion
from app.domain.enums import InvoiceStatus, OrderStatus
from app.domain.errors import DomainError, ErrorCode
from app.domain.pricing import AddSeats
from app.runtime import Runtime
from app.services.orders.errors import PaymentDeclined
from tests.services.lifecycle_support import run_at
from tests.services.recovery_support import (
    Buyer,
    Failing,
    buyer,
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
    timeout,
)
from tests.support.counting_billing import CountingBilling

PLACED_AT = datetime(2026, 7, 2, 12, tzinfo=UTC)
LATER = PLACED_AT + timedelta(minutes=2)  # the order's lease (60 s) has run out
FIVE_SEATS = 87_238  # worked example 1: 5 x 34 800 x 183 / 365
WRITES = ("create_account", "create_invoice", "collect_payment", "void_invoice", "refund_payment")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(PLACED_AT)


@pytest.fixture
def runtime(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], clock: FixedClock
) -> Runtime:
    return local_runtime(settings, session_factory, clock)


async def _declining(db: AsyncSession, runtime: Runtime) -> tuple[Buyer, CountingBilling]:
    who = await buyer(db)
    account = await db.get(BillingAccount, who.subscription.billing_account_id)
    assert account is not None
    account.payment_method = "pm_card_declined"
    await db.flush()
    counting = CountingBilling(runtime.providers.billing, writes=WRITES)
    runtime.providers.billing = counting
    return who, counting


async def _assert_declined_and_voided(db: AsyncSession, who: Buyer, key: str) -> None:
    order = await order_of(db, key)
    invoice = await invoice_of(db, order)
    assert order.status is OrderStatus.FAILED
    assert order.result == {
        "error": {
            "code": "PAYMENT_DECLINED",
            "message": "The payment was declined (card_declined); its invoice was voided.",
            "decline_code": "card_declined",
        },
        "invoice_id": invoice.id,
    }
    assert (invoice.status, invoice.amount_paid) == (InvoiceStatus.VOID, 0)
    assert await ledger_invoices(db) == [(invoice.provider_ref, FIVE_SEATS, "VOID")]
    assert await ledger_payments(db) == [(invoice.provider_ref, FIVE_SEATS, "FAILED")]
    [payment_ref] = (await db.scalars(sa.select(LedgerPayment.ref))).all()
    assert await local_payments(db, invoice) == [(FIVE_SEATS, "FAILED", payment_ref)]
    assert await ledger_refunds(db) == []
    await db.refresh(who.subscription)
    assert (who.subscription.seats, who.subscription.lock_version) == (10, 1)


async def _declined(runtime: Runtime, who: Buyer, token: str, key: str) -> PaymentDeclined:
    with pytest.raises(PaymentDeclined) as declined:
        await place(runtime, who, token, key)
    return declined.value


async def test_a_declined_order_voids_its_invoice_and_a_retry_changes_nothing(
    db: AsyncSession, runtime: Runtime
) -> None:
    who, counting = await _declining(db, runtime)
    token = await quote(runtime, who, AddSeats(5))

    first = await _declined(runtime, who, token, "declined")

    order = await order_of(db, "declined")
    invoice = await invoice_of(db, order)
    assert (first.code, first.decline_code, first.invoice_id) == (
        ErrorCode.PAYMENT_DECLINED, "card_declined", invoice.id)  # fmt: skip
    await _assert_declined_and_voided(db, who, "declined")
    assert counting.calls == {
        "create_account": 1,
        "create_invoice": 1,
        "collect_payment": 1,
        "void_invoice": 1,
    }
    audit = await order_audit(db, order)
    assert ("order.invoice_voided", "order-recovery") in audit
    assert [action for action, _ in audit].count("order.failed") == 1

    again = await _declined(runtime, who, token, "declined")

    assert (again.decline_code, again.invoice_id) == ("card_declined", invoice.id)
    await _assert_declined_and_voided(db, who, "declined")
    assert sum(counting.calls.values()) == 4  # the provider was not called again
    assert await order_audit(db, order) == audit


async def test_a_declined_order_gives_its_promotion_back(
    db: AsyncSession, runtime: Runtime
) -> None:
    who, _ = await _declining(db, runtime)
    promotion = Promotion(code="TEN", percent_off=10, max_redemptions=5)
    db.add(promotion)
    await db.flush()
    token = await quote(runtime, who, AddSeats(5), promo="TEN")

    await _declined(runtime, who, token, "promo")

    order = await order_of(db, "promo")
    assert (await invoice_of(db, order)).status is InvoiceStatus.VOID
    await db.refresh(promotion)
    assert promotion.redemptions == 0


async def _void_unreachable(
    db: AsyncSession, runtime: Runtime, who: Buyer, counting: CountingBilling, key: str
) -> str:
    """Place the declined order while the provider cannot be reached to void its invoice:
    PROVIDER_UNAVAILABLE, the order PENDING and settling for the decline, its failed payment
    row kept, the invoice still open. Returns the quote token."""
    token = await quote(runtime, who, AddSeats(5))
    runtime.providers.billing = Failing(counting, before="void_invoice", error=timeout())
    with pytest.raises(DomainError) as unsettled:
        await place(runtime, who, token, key)
    runtime.providers.billing = counting
    assert unsettled.value.code is ErrorCode.PROVIDER_UNAVAILABLE
    order = await order_of(db, key)
    invoice = await invoice_of(db, order)
    assert order.status is OrderStatus.PENDING
    assert order.result is not None
    assert (order.result["settling"], order.result["error"]["decline_code"]) == (
        True, "card_declined")  # fmt: skip
    assert invoice.status is InvoiceStatus.OPEN
    assert await ledger_invoices(db) == [(invoice.provider_ref, FIVE_SEATS, "OPEN")]
    assert [status for _, status, _ in await local_payments(db, invoice)] == ["FAILED"]
    assert counting.calls == {"create_account": 1, "create_invoice": 1, "collect_payment": 1}
    return token


async def test_a_decline_whose_void_failed_is_finished_by_the_worker(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    who, counting = await _declining(db, runtime)
    token = await _void_unreachable(db, runtime, who, counting, "later")

    await run_at(runtime, clock, LATER)

    await _assert_declined_and_voided(db, who, "later")
    order: Order = await order_of(db, "later")
    assert ("order.recovered", "order-recovery") in await order_audit(db, order)
    assert counting.calls == {
        "create_account": 1,
        "create_invoice": 1,
        "collect_payment": 1,
        "void_invoice": 1,
    }
    replayed = await _declined(runtime, who, token, "later")
    assert replayed.decline_code == "card_declined"
    assert sum(counting.calls.values()) == 4


async def test_a_decline_whose_void_failed_is_finished_by_the_clients_retry(
    db: AsyncSession, runtime: Runtime
) -> None:
    who, counting = await _declining(db, runtime)
    token = await _void_unreachable(db, runtime, who, counting, "retry")

    retried = await _declined(runtime, who, token, "retry")

    assert retried.decline_code == "card_declined"
    await _assert_declined_and_voided(db, who, "retry")
    assert counting.calls == {
        "create_account": 1,
        "create_invoice": 1,
        "collect_payment": 1,  # nothing collected again on the settling order
        "void_invoice": 1,
    }
