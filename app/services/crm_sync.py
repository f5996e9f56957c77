"""CRM writes that follow local changes, queued in the outbox in the transaction of the
change and carried out by the worker (`CRM_OPPORTUNITY`, handled in worker/handlers.py).

An applied order (a new subscription, a change of seats or plan, a renewal, add-ons) is
recorded on the customer's CRM account as a won opportunity: the seed's "license usage
data in the CRM". Its plan and seats are in its name ("Acme Corp: premium, 10 seats
(A-S00000001)"), its amount is the order's total in minor units, in the order's currency,
and it closes on the day the order completed.

The opportunity is written into the message when it is queued, so a retry sends the very
request the order made, whatever happened to the subscription since (the CRM refuses its
key with other fields). Its key is derived from the order ("order:{id}:crm"), so the order
makes one opportunity however often the message is carried out. A customer without a CRM
account, and an order of nothing to pay, queue nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.tables import Customer, Order, Product, Subscription
from app.providers.crm import NewOpportunity
from app.services import outbox

CRM_OPPORTUNITY = "crm.order_opportunity"
WON = "Closed Won"


def opportunity_key(order_id: int) -> str:
    return f"order:{order_id}:crm"


async def order_applied(
    session: AsyncSession, order: Order, subscription: Subscription, now: datetime
) -> None:
    """Queue the order's opportunity (in the transaction that completes the order)."""
    customer = await session.get(Customer, order.customer_id)
    if customer is None or not customer.crm_ref or order.total <= 0:
        return
    plan = await session.get(Product, subscription.plan_id)
    plan_code = plan.code if plan is not None else "unknown plan"
    opportunity = NewOpportunity(
        account_ref=customer.crm_ref,
        name=f"{customer.name}: {plan_code}, {subscription.seats} seats ({subscription.number})",
        stage=WON,
        amount=order.total,
        currency=order.currency,
        close_on=now.date(),
    )
    order_id = order.id or 0
    payload = {"order_id": order_id, "opportunity": _payload(opportunity)}
    await outbox.enqueue(session, CRM_OPPORTUNITY, payload, opportunity_key(order_id), now=now)


def _payload(opportunity: NewOpportunity) -> dict[str, Any]:
    return {
        "account_ref": opportunity.account_ref,
        "name": opportunity.name,
        "stage": opportunity.stage,
        "amount": opportunity.amount,
        "currency": opportunity.currency,
        "close_on": opportunity.close_on.isoformat() if opportunity.close_on else None,
    }


def opportunity_of(payload: Mapping[str, Any]) -> NewOpportunity:
    """The opportunity a message carries; KeyError, TypeError or ValueError if it does not."""
    raw = payload["opportunity"]
    close_on = raw["close_on"]
    return NewOpportunity(
        account_ref=str(raw["account_ref"]),
        name=str(raw["name"]),
        stage=str(raw["stage"]),
        amount=int(raw["amount"]),
        currency=str(raw["currency"]),
        close_on=date.fromisoformat(close_on) if close_on else None,
    )
