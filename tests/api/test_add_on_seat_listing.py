"""Who holds an add-on's seats: `AddOnPurchase.assignments`, oldest first, paged with a
stable cursor in one statement per page however many purchases a list shows, and the
`assignedSeats`/`availableSeats` counts; readable by whoever can read the subscription."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.config import Settings
from app.db.tables import AddOnAssignment
from app.domain.enums import MemberRole, TokenKind
from resolvers.ids import to_global_id
from tests.api.conftest import StatementCounter
from tests.support import factories as f
from tests.support.graphql import Api, api_token, user_token

T0 = datetime(2026, 5, 1, 9, tzinfo=UTC)

PAGE = """query($id: ID!, $after: String) {
  node(id: $id) { ... on AddOnPurchase {
    quantity assignedSeats availableSeats
    assignments(first: 2, after: $after) {
      edges { cursor node { userId assignedAt } }
      pageInfo { hasNextPage hasPreviousPage endCursor }
    }
  } }
}"""

LIST = """query($id: ID!) { customer(id: $id) { subscriptions(first: 50) { nodes {
  addOns { assignments(first: 3) { nodes { userId } } }
} } } }"""


async def test_holders_page_oldest_first_with_a_stable_cursor(
    db: AsyncSession, api: Api, settings: Settings
) -> None:
    customer = await f.customer(db)
    purchase = await f.add_on(db, await f.subscription(db, customer), quantity=5)
    for n, user_id in enumerate(["ann", "ben", "cy"]):
        at = T0 + timedelta(minutes=n)
        await f.add(
            db, AddOnAssignment(add_on_purchase_id=purchase.id, user_id=user_id, assigned_at=at)
        )
    viewer = user_token(settings, await f.user(db, member_of=customer, role=MemberRole.VIEWER))
    gid = to_global_id("AddOnPurchase", purchase.id or 0)

    first = (await api.data(PAGE, {"id": gid}, token=viewer))["node"]
    assert (first["quantity"], first["assignedSeats"], first["availableSeats"]) == (5, 3, 2)
    listed = first["assignments"]
    assert [e["node"] for e in listed["edges"]] == [
        {"userId": "ann", "assignedAt": "2026-05-01T09:00:00+00:00"},
        {"userId": "ben", "assignedAt": "2026-05-01T09:01:00+00:00"},
    ]
    assert listed["pageInfo"]["hasNextPage"] is True
    # A holder leaving before the cursor does not shift the next page.
    await db.execute(sa.delete(AddOnAssignment).where(col(AddOnAssignment.user_id) == "ann"))
    after = listed["pageInfo"]["endCursor"]
    second = (await api.data(PAGE, {"id": gid, "after": after}, token=viewer))["node"]
    assert [e["node"]["userId"] for e in second["assignments"]["edges"]] == ["cy"]
    assert second["assignments"]["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": True,
        "endCursor": second["assignments"]["edges"][0]["cursor"],
    }


async def test_other_customers_cannot_read_the_holders(
    db: AsyncSession, api: Api, settings: Settings
) -> None:
    customer, other = await f.customer(db), await f.customer(db)
    purchase = await f.add_on(db, await f.subscription(db, customer), quantity=1)
    await f.add(db, AddOnAssignment(add_on_purchase_id=purchase.id, user_id="ann"))
    stranger = user_token(settings, await f.user(db, member_of=other))

    data = await api.data(
        PAGE, {"id": to_global_id("AddOnPurchase", purchase.id or 0)}, token=stranger
    )

    assert data["node"] is None


async def test_one_statement_per_page_for_any_number_of_purchases(
    db: AsyncSession, api: Api, sql_statements: StatementCounter
) -> None:
    admin = await api_token(db, TokenKind.ADMIN)
    counts = []
    for size in (2, 20):
        customer = await f.customer(db)
        for _ in range(size):
            purchase = await f.add_on(db, await f.subscription(db, customer), quantity=4)
            for user_id in ("ann", "ben", "cy", "dee"):
                await f.add(db, AddOnAssignment(add_on_purchase_id=purchase.id, user_id=user_id))
        sql_statements.reset()
        data = await api.data(LIST, {"id": to_global_id("Customer", customer.id or 0)}, token=admin)
        counts.append(sql_statements.count)
        nodes = data["customer"]["subscriptions"]["nodes"]
        assert len(nodes) == size
        assert {
            tuple(a["userId"] for a in node["addOns"][0]["assignments"]["nodes"]) for node in nodes
        } == {("ann", "ben", "cy")}
    assert counts[0] == counts[1], sql_statements.statements
    assert sum("add_on_assignment" in s for s in sql_statements.statements) == 1


ASSIGN = """mutation($id: ID!, $users: [String!]!, $reason: String) {
  addOnSeatAssign(addOnPurchaseId: $id, userIds: $users, reason: $reason) { __typename } }"""

BY = """query($id: ID!) { node(id: $id) { ... on AddOnPurchase {
  assignments { nodes { userId assignedBy { kind name } } } } } }"""


async def test_who_assigned_a_seat_reads_customer_safe(
    db: AsyncSession, api: Api, settings: Settings
) -> None:
    customer = await f.customer(db)
    purchase = await f.add_on(db, await f.subscription(db, customer), quantity=3)
    owner_user = await f.user(db, member_of=customer)
    owner = user_token(settings, owner_user)
    viewer = user_token(settings, await f.user(db, member_of=customer, role=MemberRole.VIEWER))
    admin = await api_token(db, TokenKind.ADMIN)
    for user_id in ("ann", "ben"):
        await f.user(db, member_of=customer, role=MemberRole.VIEWER, external_id=user_id)
    gid = to_global_id("AddOnPurchase", purchase.id or 0)
    await f.add(db, AddOnAssignment(add_on_purchase_id=purchase.id, user_id="old"))
    await api.data(ASSIGN, {"id": gid, "users": ["ann"]}, token=owner)
    await api.data(ASSIGN, {"id": gid, "users": ["ben"], "reason": "Ticket 7"}, token=admin)

    def by(data: dict[str, Any]) -> list[tuple[str, str, str]]:
        nodes = data["node"]["assignments"]["nodes"]
        return [(n["userId"], n["assignedBy"]["kind"], n["assignedBy"]["name"]) for n in nodes]

    assert by(await api.data(BY, {"id": gid}, token=owner)) == [
        ("old", "SYSTEM", "system"),
        ("ann", "YOU", "you"),
        ("ben", "STAFF", "staff"),
    ]
    assert by(await api.data(BY, {"id": gid}, token=viewer))[1] == (
        "ann",
        "USER",
        owner_user.external_id,
    )
