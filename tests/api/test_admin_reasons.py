"""Every admin write needs a reason (docs/architecture.md, Access): without one an admin gets a
typed VALIDATION error and nothing changes; with one the write lands and its audit row
carries the reason and the request id. Everyone else may give a reason or not."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.config import Settings
from app.db.tables import AddOnAssignment, AddOnPurchase, AuditEvent, Subscription
from app.domain.enums import CustomerKind, MemberRole, TokenKind
from resolvers.ids import to_global_id
from tests.api.orders_support import quote
from tests.support import factories as f
from tests.support.graphql import Api, api_token, user_token
from tests.support.snapshots import table_counts

RESULT = "__typename ... on UserError { code message }"

PLACE = f"""mutation($token: String!, $key: String!, $reason: String) {{
  orderPlace(quoteToken: $token, idempotencyKey: $key, reason: $reason) {{
    {RESULT} ... on OrderPlacePayload {{ order {{ status subscription {{ seats }} }} }}
    ... on PaymentDeclinedError {{ declineCode }} }} }}"""

TRIAL_START = f"""mutation($customer: ID!, $reason: String) {{
  trialStart(input: {{customerId: $customer, deployment: {{externalId: "ns-admin"}}}},
             reason: $reason) {{ {RESULT} }} }}"""

SET_AUTO_RENEW = f"""mutation($id: ID!, $on: Boolean!, $reason: String) {{
  subscriptionSetAutoRenew(id: $id, autoRenew: $on, reason: $reason) {{
    {RESULT} ... on SubscriptionSetAutoRenewPayload {{ subscription {{ autoRenew cancelReason }} }}
  }} }}"""

CANCEL_PENDING = f"""mutation($id: ID!, $reason: String) {{
  subscriptionCancelPendingChange(id: $id, reason: $reason) {{ {RESULT} }} }}"""

ASSIGN = f"""mutation($id: ID!, $reason: String) {{
  addOnSeatAssign(addOnPurchaseId: $id, userIds: ["carol"], reason: $reason) {{ {RESULT} }} }}"""

UNASSIGN = f"""mutation($id: ID!, $reason: String) {{
  addOnSeatUnassign(addOnPurchaseId: $id, userIds: ["alice"], reason: $reason) {{ {RESULT} }} }}"""

EVENTS = """query($action: [String!]) {
  auditEvents(filter: {action: $action}) { nodes { actorKind action reason requestId } } }"""


@dataclass
class World:
    customer: f.Customer
    subscription: Subscription  # premium, 10 seats, auto-renewing
    cancelled: Subscription  # auto-renew off
    downgrading: Subscription  # ultimate, premium scheduled at term end
    purchase: AddOnPurchase  # alice holds one of its 3 seats
    partner_sold: Subscription  # sold by the partner, premium scheduled at term end
    owner: str
    partner: str
    admin: str


@pytest.fixture
async def world(db: AsyncSession, settings: Settings) -> World:
    plans = await f.catalog(db)
    customer = await f.customer(db)
    subscription = await f.subscription(db, customer, seats=10, seats_in_use=8)
    purchase = await f.add_on(db, subscription, quantity=3)
    await f.add(db, AddOnAssignment(add_on_purchase_id=purchase.id or 0, user_id="alice"))
    await f.user(db, member_of=customer, role=MemberRole.VIEWER, external_id="carol")
    partner = await f.partner(db)
    managed = await f.customer(
        db, kind=CustomerKind.PARTNER_MANAGED, managing_partner_id=partner.id
    )
    return World(
        customer=customer,
        subscription=subscription,
        cancelled=await f.subscription(db, customer, auto_renew=False, cancel_reason="Budget cut"),
        downgrading=await f.subscription(
            db, customer, "ultimate", pending_plan_id=plans["premium"].id
        ),
        purchase=purchase,
        partner_sold=await f.subscription(
            db,
            managed,
            "ultimate",
            account=await f.billing_account(db, partner),
            partner_id=partner.id,
            pending_plan_id=plans["premium"].id,
        ),
        owner=user_token(settings, await f.user(db, member_of=customer)),
        partner=await api_token(db, TokenKind.PARTNER, partner_id=partner.id),
        admin=await api_token(db, TokenKind.ADMIN),
    )


def gid(type_name: str, row: Any) -> str:
    return to_global_id(type_name, row.id)


async def add_seats_quote(api: Api, token: str, world: World, seats: int = 5) -> str:
    found = await quote(
        api,
        token,
        subscriptionId=gid("Subscription", world.subscription),
        actions=[{"addSeats": {"seats": seats}}],
    )
    assert found["__typename"] == "Quote", found
    return str(found["token"])


# One admin write per mutation that needs a reason: (query, variables, audit action).
Write = Callable[[Api, World], Awaitable[tuple[str, dict[str, Any], str]]]


async def _place(api: Api, world: World) -> tuple[str, dict[str, Any], str]:
    token = await add_seats_quote(api, world.admin, world)
    return PLACE, {"token": token, "key": "admin-key"}, "order.placed"


async def _trial(api: Api, world: World) -> tuple[str, dict[str, Any], str]:
    return TRIAL_START, {"customer": gid("Customer", world.customer)}, "trial.started"


async def _reactivate(api: Api, world: World) -> tuple[str, dict[str, Any], str]:
    variables = {"id": gid("Subscription", world.cancelled), "on": True}
    return SET_AUTO_RENEW, variables, "subscription.auto_renew_on"


async def _cancel_pending(api: Api, world: World) -> tuple[str, dict[str, Any], str]:
    variables = {"id": gid("Subscription", world.downgrading)}
    return CANCEL_PENDING, variables, "subscription.pending_change_cancelled"


async def _assign(api: Api, world: World) -> tuple[str, dict[str, Any], str]:
    return ASSIGN, {"id": gid("AddOnPurchase", world.purchase)}, "add_on.seats_assigned"


async def _unassign(api: Api, world: World) -> tuple[str, dict[str, Any], str]:
    return UNASSIGN, {"id": gid("AddOnPurchase", world.purchase)}, "add_on.seats_unassigned"


WRITES: dict[str, Write] = {
    "orderPlace": _place,
    "trialStart": _trial,
    "subscriptionSetAutoRenew": _reactivate,
    "subscriptionCancelPendingChange": _cancel_pending,
    "addOnSeatAssign": _assign,
    "addOnSeatUnassign": _unassign,
}


async def result_of(api: Api, query: str, variables: dict[str, Any], token: str) -> Any:
    data = await api.data(query, variables, token=token)
    (result,) = data.values()
    return result


async def audits(db: AsyncSession, action: str) -> list[AuditEvent]:
    stmt = sa.select(AuditEvent).where(col(AuditEvent.action) == action)
    return list((await db.scalars(stmt.execution_options(populate_existing=True))).all())


@pytest.mark.parametrize("mutation", WRITES)
@pytest.mark.parametrize("reason", [None, "", "   "])
async def test_an_admin_without_a_reason_is_refused_and_nothing_changes(
    world: World, api: Api, db: AsyncSession, mutation: str, reason: str | None
) -> None:
    query, variables, _ = await WRITES[mutation](api, world)
    before = await table_counts(db)

    result = await result_of(api, query, {**variables, "reason": reason}, world.admin)

    assert (result["__typename"], result["code"]) == ("ValidationError", "VALIDATION")
    assert "reason" in result["message"]
    assert await table_counts(db) == before


@pytest.mark.parametrize("mutation", WRITES)
async def test_an_admin_with_a_reason_writes_and_the_audit_row_carries_it(
    world: World, api: Api, db: AsyncSession, mutation: str
) -> None:
    query, variables, action = await WRITES[mutation](api, world)

    given = {**variables, "reason": "  Ticket 42: customer asked by phone  "}
    result = await result_of(api, query, given, world.admin)

    assert result["__typename"].endswith("Payload"), result
    (event,) = await audits(db, action)
    assert (event.actor_kind, event.reason) == ("ADMIN", "Ticket 42: customer asked by phone")
    assert event.request_id


async def test_a_reason_over_1000_characters_is_refused_for_anyone(
    world: World, api: Api, db: AsyncSession
) -> None:
    variables = {"id": gid("Subscription", world.downgrading), "reason": "x" * 1001}
    before = await table_counts(db)

    for token in (world.admin, world.owner):
        result = await result_of(api, CANCEL_PENDING, variables, token)
        assert (result["__typename"], result["code"]) == ("ValidationError", "VALIDATION")

    assert await table_counts(db) == before


async def test_an_admin_order_without_a_reason_is_refused_then_placed_with_one(
    world: World, api: Api, db: AsyncSession
) -> None:
    token = await add_seats_quote(api, world.admin, world)
    before = await table_counts(db)

    refused = await result_of(api, PLACE, {"token": token, "key": "k"}, world.admin)

    assert (refused["__typename"], refused["code"]) == ("ValidationError", "VALIDATION")
    assert await table_counts(db) == before

    placed = await result_of(
        api, PLACE, {"token": token, "key": "k", "reason": "Sales-assisted upsell"}, world.admin
    )

    assert placed["order"] == {"status": "COMPLETED", "subscription": {"seats": 15}}
    listed = await api.data(EVENTS, {"action": ["order.placed"]}, token=world.admin)
    (event,) = listed["auditEvents"]["nodes"]
    assert (event["actorKind"], event["action"], event["reason"]) == (
        "ADMIN",
        "order.placed",
        "Sales-assisted upsell",
    )
    assert event["requestId"]


async def test_a_failed_admin_order_records_the_reason_on_order_failed(
    world: World, api: Api, db: AsyncSession
) -> None:
    account = await db.get(f.BillingAccount, world.subscription.billing_account_id)
    assert account is not None
    account.payment_method = "pm_card_declined"
    await db.flush()
    token = await add_seats_quote(api, world.admin, world)

    declined = await result_of(
        api, PLACE, {"token": token, "key": "k", "reason": "Retry for the customer"}, world.admin
    )

    assert declined["code"] == "PAYMENT_DECLINED"
    (event,) = await audits(db, "order.failed")
    assert (event.actor_kind, event.reason) == ("ADMIN", "Retry for the customer")
    assert event.target_type == "Order"


async def test_an_admin_cancelling_gives_one_reason_for_the_subscription_and_the_log(
    world: World, api: Api, db: AsyncSession
) -> None:
    variables = {"id": gid("Subscription", world.subscription), "on": False}
    before = await table_counts(db)

    refused = await result_of(api, SET_AUTO_RENEW, variables, world.admin)
    assert (refused["code"], await table_counts(db)) == ("VALIDATION", before)

    given = {**variables, "reason": "Customer moves to another vendor"}
    result = await result_of(api, SET_AUTO_RENEW, given, world.admin)

    assert result["subscription"] == {
        "autoRenew": False,
        "cancelReason": "Customer moves to another vendor",
    }
    (event,) = await audits(db, "subscription.auto_renew_off")
    assert (event.actor_kind, event.reason) == ("ADMIN", "Customer moves to another vendor")


async def test_a_customer_may_place_without_a_reason_or_with_one(
    world: World, api: Api, db: AsyncSession
) -> None:
    first = await add_seats_quote(api, world.owner, world, seats=1)
    placed = await result_of(api, PLACE, {"token": first, "key": "a"}, world.owner)
    assert placed["order"]["status"] == "COMPLETED"

    second = await add_seats_quote(api, world.owner, world, seats=2)
    given = {"token": second, "key": "b", "reason": "Two new hires"}
    placed = await result_of(api, PLACE, given, world.owner)
    assert placed["order"]["status"] == "COMPLETED"

    events = sorted(await audits(db, "order.placed"), key=lambda e: e.id or 0)
    assert [(e.actor_kind, e.reason) for e in events] == [
        ("CUSTOMER_USER", None),
        ("CUSTOMER_USER", "Two new hires"),
    ]
    assert all(e.request_id for e in events)


@pytest.mark.parametrize("reason", [None, "Reseller request"])
async def test_a_partner_may_omit_the_reason(
    world: World, api: Api, db: AsyncSession, reason: str | None
) -> None:
    variables = {"id": gid("Subscription", world.partner_sold), "reason": reason}

    result = await result_of(api, CANCEL_PENDING, variables, world.partner)

    assert result["__typename"] == "SubscriptionCancelPendingChangePayload"
    (event,) = await audits(db, "subscription.pending_change_cancelled")
    assert (event.actor_kind, event.reason) == ("PARTNER", reason)
