"""`auditEvents` and audit-event nodes: admins only, newest first, every filter, pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.tables import AuditEvent
from app.domain.enums import TokenKind
from resolvers.ids import to_global_id
from tests.support import factories as f
from tests.support.graphql import Api, api_token, error_codes, user_token

EVENTS = """query($first: Int, $after: String, $filter: AuditEventFilter) {
  auditEvents(first: $first, after: $after, filter: $filter) {
    nodes { id occurredAt actorKind actorId action targetType targetId reason before after
            requestId }
    edges { cursor node { id } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""

NODE = """query($id: ID!) { node(id: $id) { __typename ... on AuditEvent { action reason } } }"""


@dataclass
class World:
    events: list[AuditEvent]  # in insertion order: oldest first
    admin: str
    member: str
    partner: str
    service: str


def when(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 5, day, hour, tzinfo=UTC)


@pytest.fixture
async def world(db: AsyncSession, settings: Settings) -> World:
    customer = await f.customer(db)
    rows = [
        AuditEvent(
            occurred_at=when(1),
            actor_kind="CUSTOMER_USER",
            actor_id="user-1",
            action="order.placed",
            target_type="Subscription",
            target_id="11",
            before={"seats": 10},
            after={"seats": 15, "order_id": 1},
            request_id="req-1",
        ),
        AuditEvent(
            occurred_at=when(2),
            actor_kind="ADMIN",
            actor_id="7",
            action="subscription.auto_renew_off",
            target_type="Subscription",
            target_id="11",
            reason="Customer asked by phone",
            before={"auto_renew": True},
            after={"auto_renew": False},
            request_id="req-2",
        ),
        AuditEvent(
            occurred_at=when(3),
            actor_kind="PARTNER",
            actor_id="9",
            action="order.failed",
            target_type="Order",
            target_id="5",
            after={"code": "QUOTE_STALE"},
        ),
        AuditEvent(
            occurred_at=when(4),
            actor_kind="ADMIN",
            actor_id="7",
            action="add_on.seats_assigned",
            target_type="AddOnPurchase",
            target_id="3",
            reason="Ticket 42",
            before={"assigned": 0},
            after={"assigned": 1, "user_ids": ["alice"]},
            request_id="req-4",
        ),
        AuditEvent(
            occurred_at=when(5),
            actor_kind="ADMIN",
            actor_id="8",
            action="order.placed",
            target_type="Subscription",
            target_id="12",
            reason="Sales-assisted renewal",
            after={"seats": 20},
        ),
    ]
    for row in rows:
        await f.add(db, row)
    partner = await f.partner(db)
    return World(
        events=rows,
        admin=await api_token(db, TokenKind.ADMIN),
        member=user_token(settings, await f.user(db, member_of=customer)),
        partner=await api_token(db, TokenKind.PARTNER, partner_id=partner.id),
        service=await api_token(db, TokenKind.SERVICE),
    )


def gid(row: AuditEvent) -> str:
    return to_global_id("AuditEvent", row.id or 0)


async def listed(api: Api, token: str, **variables: Any) -> dict[str, Any]:
    data = await api.data(EVENTS, variables, token=token)
    found: dict[str, Any] = data["auditEvents"]
    return found


async def ids(api: Api, world: World, **filter: Any) -> list[str]:
    found = await listed(api, world.admin, filter=filter)
    return [node["id"] for node in found["nodes"]]


def newest_first(world: World, *positions: int) -> list[str]:
    """Global ids of the fixture's events at these positions (0 = oldest), newest first."""
    return [gid(world.events[p]) for p in sorted(positions, reverse=True)]


async def test_an_admin_lists_every_event_newest_first(world: World, api: Api) -> None:
    found = await listed(api, world.admin)

    assert [node["id"] for node in found["nodes"]] == newest_first(world, 0, 1, 2, 3, 4)
    assert found["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": False,
        "startCursor": found["edges"][0]["cursor"],
        "endCursor": found["edges"][-1]["cursor"],
    }
    assert found["nodes"][3] == {
        "id": gid(world.events[1]),
        "occurredAt": "2026-05-02T12:00:00+00:00",
        "actorKind": "ADMIN",
        "actorId": "7",
        "action": "subscription.auto_renew_off",
        "targetType": "Subscription",
        "targetId": to_global_id("Subscription", 11),
        "reason": "Customer asked by phone",
        "before": {"auto_renew": True},
        "after": {"auto_renew": False},
        "requestId": "req-2",
    }
    assert found["nodes"][2]["before"] is None
    assert found["nodes"][2]["targetId"] == to_global_id("Order", 5)


async def test_pages_follow_the_cursor_to_the_oldest(world: World, api: Api) -> None:
    first = await listed(api, world.admin, first=2)
    second = await listed(api, world.admin, first=2, after=first["pageInfo"]["endCursor"])
    third = await listed(api, world.admin, first=2, after=second["pageInfo"]["endCursor"])

    pages = [first, second, third]
    assert [[n["id"] for n in page["nodes"]] for page in pages] == [
        newest_first(world, 4, 3),
        newest_first(world, 2, 1),
        newest_first(world, 0),
    ]
    assert [page["pageInfo"]["hasNextPage"] for page in pages] == [True, True, False]
    assert [page["pageInfo"]["hasPreviousPage"] for page in pages] == [False, True, True]


@pytest.mark.parametrize("first", [0, 101])
async def test_page_size_is_1_to_100(world: World, api: Api, first: int) -> None:
    body = await api.query(EVENTS, {"first": first}, token=world.admin)

    assert error_codes(body) == ["VALIDATION"]
    assert body["data"] is None


async def test_a_cursor_from_elsewhere_is_refused(world: World, api: Api) -> None:
    body = await api.query(EVENTS, {"after": "not-a-cursor"}, token=world.admin)

    assert error_codes(body) == ["VALIDATION"]


async def test_filter_by_action(world: World, api: Api) -> None:
    assert await ids(api, world, action=["order.placed"]) == newest_first(world, 0, 4)
    assert await ids(api, world, action=["order.placed", "order.failed"]) == newest_first(
        world, 0, 2, 4
    )
    assert await ids(api, world, action=["nothing.happened"]) == []


async def test_filter_by_actor(world: World, api: Api) -> None:
    assert await ids(api, world, actorKind="ADMIN") == newest_first(world, 1, 3, 4)
    assert await ids(api, world, actorKind="PARTNER") == newest_first(world, 2)
    assert await ids(api, world, actorKind="SERVICE") == []
    assert await ids(api, world, actorId="7") == newest_first(world, 1, 3)
    assert await ids(api, world, actorKind="ADMIN", actorId="8") == newest_first(world, 4)


async def test_filter_by_target(world: World, api: Api) -> None:
    subscription_11 = to_global_id("Subscription", 11)

    assert await ids(api, world, targetType="Subscription") == newest_first(world, 0, 1, 4)
    assert await ids(api, world, targetId=subscription_11) == newest_first(world, 0, 1)
    assert await ids(api, world, targetId=to_global_id("Order", 5)) == newest_first(world, 2)
    assert await ids(api, world, targetId=to_global_id("Order", 11)) == []
    assert await ids(
        api, world, targetType="Subscription", targetId=subscription_11, action=["order.placed"]
    ) == newest_first(world, 0)


@pytest.mark.parametrize(
    "target",
    [
        {"targetId": "garbage"},
        {"targetType": "Order", "targetId": to_global_id("Subscription", 11)},
    ],
)
async def test_a_target_id_that_cannot_match_is_a_validation_error(
    world: World, api: Api, target: dict[str, str]
) -> None:
    body = await api.query(EVENTS, {"filter": target}, token=world.admin)

    assert error_codes(body) == ["VALIDATION"]


async def test_filter_by_time(world: World, api: Api) -> None:
    assert await ids(api, world, occurredFrom="2026-05-03T12:00:00Z") == newest_first(
        world, 2, 3, 4
    )
    assert await ids(api, world, occurredUntil="2026-05-02T12:00:00+00:00") == newest_first(
        world, 0, 1
    )
    assert await ids(
        api, world, occurredFrom="2026-05-02T00:00:00Z", occurredUntil="2026-05-04T11:59:59Z"
    ) == newest_first(world, 1, 2)
    # Without an offset the instant is read as UTC; 14:00+02:00 is 12:00 UTC.
    assert await ids(api, world, occurredFrom="2026-05-05T12:00:00") == newest_first(world, 4)
    assert await ids(api, world, occurredUntil="2026-05-01T14:00:00+02:00") == newest_first(
        world, 0
    )


async def test_filters_and_pages_combine(world: World, api: Api) -> None:
    filter = {"actorKind": "ADMIN"}
    first = await listed(api, world.admin, first=2, filter=filter)
    rest = await listed(
        api, world.admin, first=2, after=first["pageInfo"]["endCursor"], filter=filter
    )

    assert [n["id"] for n in first["nodes"]] == newest_first(world, 4, 3)
    assert [n["id"] for n in rest["nodes"]] == newest_first(world, 1)
    assert (first["pageInfo"]["hasNextPage"], rest["pageInfo"]["hasNextPage"]) == (True, False)


@pytest.mark.parametrize("who", ["member", "partner", "service"])
async def test_anyone_but_an_admin_is_forbidden(world: World, api: Api, who: str) -> None:
    body = await api.query(EVENTS, {}, token=getattr(world, who))

    assert error_codes(body) == ["FORBIDDEN"]
    assert body["data"] is None


async def test_a_filter_error_is_not_shown_before_the_gate(world: World, api: Api) -> None:
    body = await api.query(EVENTS, {"filter": {"targetId": "garbage"}}, token=world.member)

    assert error_codes(body) == ["FORBIDDEN"]


async def test_anonymous_is_unauthenticated(world: World, api: Api) -> None:
    body = await api.query(EVENTS, {})

    assert error_codes(body) == ["UNAUTHENTICATED"]


async def test_an_admin_fetches_an_event_as_a_node(world: World, api: Api) -> None:
    data = await api.data(NODE, {"id": gid(world.events[1])}, token=world.admin)

    assert data["node"] == {
        "__typename": "AuditEvent",
        "action": "subscription.auto_renew_off",
        "reason": "Customer asked by phone",
    }


@pytest.mark.parametrize("who", ["member", "partner"])
async def test_others_get_null_for_an_event_node(world: World, api: Api, who: str) -> None:
    data = await api.data(NODE, {"id": gid(world.events[1])}, token=getattr(world, who))

    assert data["node"] is None


async def test_a_missing_event_node_is_null(world: World, api: Api) -> None:
    missing = to_global_id("AuditEvent", (world.events[-1].id or 0) + 1000)

    assert (await api.data(NODE, {"id": missing}, token=world.admin))["node"] is None


async def test_the_customer_filter_finds_the_customer_and_every_object_of_its(
    api: Api, db: AsyncSession, settings: Settings
) -> None:
    admin = await api_token(db, TokenKind.ADMIN)
    mine, theirs = await f.customer(db), await f.customer(db)
    sub = await f.subscription(db, mine)
    add_on = await f.add_on(db, sub, quantity=1)
    invoice = await f.invoice(db, sub)
    other = await f.subscription(db, theirs)
    their_invoice = await f.invoice(db, other)
    targets = [
        ("Customer", mine.id),
        ("Subscription", sub.id),
        ("AddOnPurchase", add_on.id),
        ("Invoice", invoice.id),
        ("BillingAccount", sub.billing_account_id),
        ("Customer", theirs.id),
        ("Subscription", other.id),
        ("Invoice", their_invoice.id),
    ]
    rows = [
        await f.add(
            db,
            AuditEvent(
                occurred_at=when(day),
                actor_kind="ADMIN",
                actor_id="7",
                action="test.audit",
                target_type=kind,
                target_id=str(pk),
            ),
        )
        for day, (kind, pk) in enumerate(targets, start=1)
    ]
    found = await listed(api, admin, filter={"customerId": to_global_id("Customer", mine.id)})
    refused = await api.query(
        EVENTS, {"filter": {"customerId": to_global_id("Subscription", sub.id)}}, token=admin
    )

    assert [node["id"] for node in found["nodes"]] == [gid(row) for row in reversed(rows[:5])]
    assert error_codes(refused) == ["VALIDATION"]
