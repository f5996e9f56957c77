"""Integration events: what happened to a subscription, told to subscribers
(docs/api-guide.md "Integration events"). `emit` runs in the transaction of the change it reports,
so an event exists exactly when its change was committed.

Every event is stored (numbered per subscription: `sequence` 1, 2, ... without gaps), even
when nobody subscribes: the record can be redelivered to a subscriber added later. For each
active subscriber that takes the kind, a delivery row and an outbox message are written; the
worker POSTs it signed (app/services/integration_delivery.py). A subscription's deliveries
to one subscriber share an ordering key, so they arrive in sequence order.

Payloads name rows by public ids only (the API's global ids, subscription and invoice
numbers), money as `{"amount": <minor units>, "currency": "USD"}`, days and moments in ISO
8601. The builders below are the one place each kind's payload is shaped."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.tables import (
    IntegrationDelivery,
    IntegrationEvent,
    IntegrationSubscriber,
    Invoice,
    Order,
    Payment,
    Reconciliation,
    Renewal,
    Subscription,
)
from app.domain.enums import DeliveryStatus, PaymentStatus
from app.domain.public_ids import global_id, random_id
from app.services import outbox

ORDER_COMPLETED = "order.completed"
RENEWAL_COMPLETED = "renewal.completed"
RENEWAL_FAILED = "renewal.failed"
RECONCILIATION_INVOICED = "reconciliation.invoiced"
SUBSCRIPTION_EXPIRED = "subscription.expired"
PAYMENT_SUCCEEDED = "payment.succeeded"
PAYMENT_FAILED = "payment.failed"
KINDS = (
    ORDER_COMPLETED,
    RENEWAL_COMPLETED,
    RENEWAL_FAILED,
    RECONCILIATION_INVOICED,
    SUBSCRIPTION_EXPIRED,
    PAYMENT_SUCCEEDED,
    PAYMENT_FAILED,
)
DELIVER = "integration.deliver"


def ordering_key(subscriber_id: int, subscription_id: int) -> str:
    """One subscriber's deliveries about one subscription go out one by one, in order."""
    return f"integration:{subscriber_id}:{subscription_id}"


async def emit(
    session: AsyncSession,
    kind: str,
    subscription: Subscription,
    payload: dict[str, Any],
    *,
    now: datetime,
) -> IntegrationEvent:
    """Store the event as the next of `subscription`'s, and queue its delivery to every
    active subscriber taking `kind`. The subscription's row is locked first (most callers
    hold it already), so two transactions never take the same sequence number."""
    if kind not in KINDS:
        raise ValueError(f"unknown integration event kind {kind!r}")
    assert subscription.id is not None
    sid = subscription.id
    await session.execute(
        sa.select(col(Subscription.id)).where(col(Subscription.id) == sid).with_for_update()
    )
    last = await session.scalar(
        sa.select(sa.func.max(col(IntegrationEvent.sequence))).where(
            col(IntegrationEvent.subscription_id) == sid
        )
    )
    event = IntegrationEvent(
        public_id=random_id("evt"),
        kind=kind,
        subscription_id=sid,
        sequence=(last or 0) + 1,
        payload={"subscription": subscription_ref(subscription), **payload},
        occurred_at=now,
    )
    session.add(event)
    await session.flush()
    for subscriber in await subscribers_of(session, kind):
        await queue_delivery(session, event, subscriber, now=now)
    return event


async def queue_delivery(
    session: AsyncSession,
    event: IntegrationEvent,
    subscriber: IntegrationSubscriber,
    *,
    now: datetime,
) -> IntegrationDelivery:
    """A new delivery row and its outbox message, behind the subscription's earlier ones."""
    assert event.id is not None and subscriber.id is not None
    delivery = IntegrationDelivery(event_id=event.id, subscriber_id=subscriber.id, created_at=now)
    session.add(delivery)
    await session.flush()
    await _enqueue(session, delivery, event, round_=0, now=now)
    return delivery


async def redeliver_to(
    session: AsyncSession,
    event: IntegrationEvent,
    subscriber: IntegrationSubscriber,
    *,
    now: datetime,
) -> IntegrationDelivery:
    """The event once more to `subscriber`: its delivery PENDING again (or a new one) with a
    message keyed by the attempts made so far. A delivery still PENDING is on its way
    already (its message is queued or waiting for its retry): nothing more is queued."""
    delivery = await session.scalar(
        sa.select(IntegrationDelivery)
        .where(
            col(IntegrationDelivery.event_id) == event.id,
            col(IntegrationDelivery.subscriber_id) == subscriber.id,
        )
        .with_for_update()
    )
    if delivery is None:
        return await queue_delivery(session, event, subscriber, now=now)
    if delivery.status is DeliveryStatus.PENDING:
        return delivery
    delivery.status, delivery.delivered_at = DeliveryStatus.PENDING, None
    await _enqueue(session, delivery, event, round_=delivery.attempts, now=now)
    return delivery


async def _enqueue(
    session: AsyncSession,
    delivery: IntegrationDelivery,
    event: IntegrationEvent,
    *,
    round_: int,
    now: datetime,
) -> None:
    assert delivery.id is not None
    await outbox.enqueue(
        session,
        DELIVER,
        {"delivery_id": delivery.id},
        f"{DELIVER}:{delivery.id}:{round_}",
        now=now,
        ordering_key=ordering_key(delivery.subscriber_id, event.subscription_id),
    )


async def subscribers_of(session: AsyncSession, kind: str) -> list[IntegrationSubscriber]:
    """Active subscribers taking `kind` (an empty filter takes every kind). Few rows: the
    filter is applied here rather than in JSON SQL that differs per database."""
    rows = await session.scalars(
        sa.select(IntegrationSubscriber)
        .where(col(IntegrationSubscriber.active).is_(True))
        .order_by(col(IntegrationSubscriber.id))
    )
    return [row for row in rows if not row.events or kind in row.events]


# --- payloads -------------------------------------------------------------------------------


def money(amount: int, currency: str) -> dict[str, Any]:
    return {"amount": amount, "currency": currency}


def subscription_ref(subscription: Subscription) -> dict[str, Any]:
    assert subscription.id is not None
    return {
        "id": global_id("Subscription", subscription.id),
        "number": subscription.number,
        "customer": global_id("Customer", subscription.customer_id),
        "status": subscription.status.value,
        "seats": subscription.seats,
        "termStart": _day(subscription.term_start),
        "termEnd": _day(subscription.term_end),
    }


def invoice_ref(invoice: Invoice | None) -> dict[str, Any] | None:
    if invoice is None:
        return None
    assert invoice.id is not None
    return {
        "id": global_id("Invoice", invoice.id),
        "number": invoice.number,
        "status": invoice.status.value,
        "total": money(invoice.total, invoice.currency),
        "amountPaid": money(invoice.amount_paid, invoice.currency),
        "dueOn": _day(invoice.due_on),
    }


def order_completed(order: Order, invoice: Invoice | None) -> dict[str, Any]:
    assert order.id is not None
    return {
        "order": {
            "id": global_id("Order", order.id),
            "total": money(order.total, order.currency),
            "discount": money(order.discount, order.currency),
            "actions": sorted({_action_kind(action) for action in order.actions}),
            "completedAt": _moment(order.completed_at),
        },
        "invoice": invoice_ref(invoice),
    }


def renewal_completed(renewal: Renewal, invoice: Invoice | None) -> dict[str, Any]:
    return {
        "renewal": {
            "seats": renewal.seats,
            "termStart": _day(renewal.term_start),
            "termEnd": _day(renewal.term_end),
            "attempt": renewal.attempts,
        },
        "invoice": invoice_ref(invoice),
    }


def renewal_failed(renewal: Renewal, invoice: Invoice | None) -> dict[str, Any]:
    return {
        "renewal": {
            "seats": renewal.seats,
            "termStart": _day(renewal.term_start),
            "termEnd": _day(renewal.term_end),
            "attempt": renewal.attempts,
            "failureCode": renewal.failure_code,
            "nextAttemptOn": _day(renewal.next_attempt_on),
        },
        "invoice": invoice_ref(invoice),
    }


def reconciliation_invoiced(row: Reconciliation, invoice: Invoice) -> dict[str, Any]:
    return {
        "reconciliation": {
            "quarter": row.quarter,
            "quarterStart": _day(row.quarter_start),
            "quarterEnd": _day(row.quarter_end),
            "paidSeats": row.paid_seats,
            "maxSeatsUsed": row.max_seats_used,
            "billedSeats": row.billed_seats,
            "status": row.status.value,
        },
        "invoice": invoice_ref(invoice),
    }


def subscription_expired(subscription: Subscription, *, trial: bool) -> dict[str, Any]:
    return {"expiredOn": _day(subscription.term_end), "trial": trial}


def payment(row: Payment, invoice: Invoice) -> tuple[str, dict[str, Any]]:
    """The kind (succeeded or failed) and payload of a payment row just recorded."""
    assert row.id is not None
    kind = PAYMENT_SUCCEEDED if row.status is PaymentStatus.SUCCEEDED else PAYMENT_FAILED
    body = {
        "payment": {
            "id": global_id("Payment", row.id),
            "amount": money(row.amount, row.currency),
            "status": row.status.value,
            "failureCode": row.failure_code,
        },
        "invoice": invoice_ref(invoice),
    }
    return kind, body


def _action_kind(action: dict[str, Any]) -> str:
    """`AddSeats`, `ChangePlan`, ... (app/services/orders/requests.py)."""
    return str(action.get("type", "unknown"))


def _day(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def _moment(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
