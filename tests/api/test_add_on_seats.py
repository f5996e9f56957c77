"""addOnSeatAssign / addOnSeatUnassign over the API: all-or-nothing assignment within the
purchased quantity, idempotent re-assignment, unassignment, and who may do it (docs/domain.md 5).
Every refusal leaves the database exactly as it was."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.config import Settings
from app.db.tables import AddOnAssignment, AddOnPurchase, AuditEvent, Customer
from app.domain.enums import Channel, MemberRole, SubscriptionStatus, TokenKind
from resolvers.ids import to_global_id
from tests.support import factories as f
from tests.support.graphql import Api, api_token, error_codes, user_token
from tests.support.snapshots import table_counts

ASSIGN = """mutation($id: ID!, $users: [String!]!, $reason: String) {
  addOnSeatAssign(addOnPurchaseId: $id, userIds: $users, reason: $reason) {
    __typename
    ... on AddOnSeatAssignPayload { assignedUserIds addOnPurchase { id quantity assignedSeats } }
    ... on UserError { code message }
  }
}"""

UNASSIGN = """mutation($id: ID!, $users: [String!]!) {
  addOnSeatUnassign(addOnPurchaseId: $id, userIds: $users) {
    __typename
    ... on AddOnSeatUnassignPayload { assignedUserIds addOnPurchase { id quantity assignedSeats } }
    ... on UserError { code message }
  }
}"""


MEMBERS = ("alice", "bob", "carol", "dave", "a", "b", "c", "d", "auth0|42")


@dataclass
class World:
    subscription: f.Subscription
    purchase: AddOnPurchase
    owner: str
    billing_admin: str
    viewer: str
    other_owner: str
    admin: str
    partner: str


@pytest.fixture
async def world(db: AsyncSession, settings: Settings) -> World:
    customer, other = await f.customer(db), await f.customer(db)
    sub = await f.subscription(db, customer, "ultimate")
    purchase = await f.add_on(db, sub, quantity=3)

    async def token(of: f.Customer, role: MemberRole = MemberRole.OWNER) -> str:
        return user_token(settings, await f.user(db, member_of=of, role=role))

    for user_id in MEMBERS:  # seats go to the customer's members only
        await f.user(db, member_of=customer, role=MemberRole.VIEWER, external_id=user_id)
    await f.user(db, member_of=other, role=MemberRole.VIEWER, external_id="outsider")

    return World(
        subscription=sub,
        purchase=purchase,
        owner=await token(customer),
        billing_admin=await token(customer, MemberRole.BILLING_ADMIN),
        viewer=await token(customer, MemberRole.VIEWER),
        other_owner=await token(other),
        admin=await api_token(db, TokenKind.ADMIN),
        partner=await api_token(db, TokenKind.PARTNER, partner_id=(await f.partner(db)).id),
    )


def variables(purchase: AddOnPurchase, users: list[str]) -> dict[str, Any]:
    return {"id": to_global_id("AddOnPurchase", purchase.id or 0), "users": users}


async def call(
    api: Api, world: World, query: str, users: list[str], token: str | None = None
) -> dict[str, Any]:
    data = await api.data(query, variables(world.purchase, users), token=token or world.owner)
    (result,) = data.values()
    assert result["__typename"].endswith("Payload"), result
    payload: dict[str, Any] = result
    return payload


async def refused(
    api: Api, db: AsyncSession, world: World, query: str, users: list[str], token: str | None
) -> str:
    """The typed error code (or the top-level one); the database must not have changed."""
    before = await table_counts(db)
    body = await api.query(query, variables(world.purchase, users), token=token)
    assert await table_counts(db) == before
    if "errors" in body:
        assert body["data"] is None  # the result is non-null, so the error nulls `data`
        (code,) = error_codes(body)
        return str(code)
    (result,) = body["data"].values()
    assert not result["__typename"].endswith("Payload"), result
    return str(result["code"])


async def holders(db: AsyncSession, purchase: AddOnPurchase) -> list[str]:
    stmt = (
        sa.select(col(AddOnAssignment.user_id))
        .where(col(AddOnAssignment.add_on_purchase_id) == purchase.id)
        .order_by(col(AddOnAssignment.id))
    )
    return list((await db.scalars(stmt)).all())


async def audits(db: AsyncSession, action: str) -> list[AuditEvent]:
    stmt = sa.select(AuditEvent).where(col(AuditEvent.action) == action).order_by(AuditEvent.id)
    return list((await db.scalars(stmt)).all())


async def test_owner_assigns_seats_within_the_quantity(
    world: World, api: Api, db: AsyncSession
) -> None:
    result = await call(api, world, ASSIGN, ["alice", "bob"])

    assert result == {
        "__typename": "AddOnSeatAssignPayload",
        "assignedUserIds": ["alice", "bob"],
        "addOnPurchase": {
            "id": to_global_id("AddOnPurchase", world.purchase.id or 0),
            "quantity": 3,
            "assignedSeats": 2,
        },
    }
    assert await holders(db, world.purchase) == ["alice", "bob"]
    (event,) = await audits(db, "add_on.seats_assigned")
    assert (event.target_type, event.target_id) == ("AddOnPurchase", str(world.purchase.id))
    assert event.before == {"assigned": 0}
    assert event.after == {"assigned": 2, "user_ids": ["alice", "bob"]}


async def test_assigning_every_seat_is_allowed(world: World, api: Api, db: AsyncSession) -> None:
    result = await call(api, world, ASSIGN, ["a", "b", "c"])

    assert result["assignedUserIds"] == ["a", "b", "c"]
    assert result["addOnPurchase"]["assignedSeats"] == 3


async def test_assigning_beyond_the_quantity_assigns_nothing(
    world: World, api: Api, db: AsyncSession
) -> None:
    code = await refused(api, db, world, ASSIGN, ["a", "b", "c", "d"], world.owner)

    assert code == "NO_SEATS_AVAILABLE"
    assert await holders(db, world.purchase) == []


async def test_a_partly_fitting_request_assigns_nothing(
    world: World, api: Api, db: AsyncSession
) -> None:
    await call(api, world, ASSIGN, ["alice", "bob"])

    # alice already holds a seat (a no-op); carol and dave need two of the one left.
    code = await refused(api, db, world, ASSIGN, ["alice", "carol", "dave"], world.owner)

    assert code == "NO_SEATS_AVAILABLE"
    assert await holders(db, world.purchase) == ["alice", "bob"]


async def test_reassigning_the_same_user_is_a_no_op(
    world: World, api: Api, db: AsyncSession
) -> None:
    await call(api, world, ASSIGN, ["alice", "bob"])
    before = await table_counts(db)

    result = await call(api, world, ASSIGN, ["bob", "alice", " alice "])

    assert result["assignedUserIds"] == ["alice", "bob"]
    assert await table_counts(db) == before


async def test_already_held_seats_do_not_count_twice_when_the_add_on_is_full(
    world: World, api: Api, db: AsyncSession
) -> None:
    await call(api, world, ASSIGN, ["a", "b", "c"])

    result = await call(api, world, ASSIGN, ["c"])

    assert result["assignedUserIds"] == ["a", "b", "c"]


async def test_unassigning_frees_a_seat(world: World, api: Api, db: AsyncSession) -> None:
    await call(api, world, ASSIGN, ["a", "b", "c"])
    assert await refused(api, db, world, ASSIGN, ["d"], world.owner) == "NO_SEATS_AVAILABLE"

    freed = await call(api, world, UNASSIGN, ["b"])
    taken = await call(api, world, ASSIGN, ["d"])

    assert freed["assignedUserIds"] == ["a", "c"]
    assert freed["addOnPurchase"]["assignedSeats"] == 2
    assert taken["assignedUserIds"] == ["a", "c", "d"]
    assert await holders(db, world.purchase) == ["a", "c", "d"]
    (event,) = await audits(db, "add_on.seats_unassigned")
    assert event.before == {"assigned": 3}
    assert event.after == {"assigned": 2, "user_ids": ["b"]}


@pytest.mark.parametrize("users", [["b"], ["a", "b"], ["nobody"]])
async def test_unassigning_a_user_without_a_seat_is_refused_and_changes_nothing(
    world: World, api: Api, db: AsyncSession, users: list[str]
) -> None:
    await call(api, world, ASSIGN, ["a"])

    assert await refused(api, db, world, UNASSIGN, users, world.owner) == "SEAT_NOT_ASSIGNED"
    assert await holders(db, world.purchase) == ["a"]


@pytest.mark.parametrize("users", [["stranger"], ["a", "outsider"], ["owner-of-nothing"]])
async def test_seats_go_to_members_of_the_customer_only(
    world: World, api: Api, db: AsyncSession, users: list[str]
) -> None:
    code = await refused(api, db, world, ASSIGN, users, world.owner)

    assert code == "USER_NOT_A_MEMBER"
    assert await holders(db, world.purchase) == []


async def test_an_oidc_subject_is_a_valid_user_id(world: World, api: Api, db: AsyncSession) -> None:
    assert (await call(api, world, ASSIGN, ["auth0|42"]))["assignedUserIds"] == ["auth0|42"]


async def test_a_member_already_holding_a_seat_is_a_no_op_without_a_push(
    world: World, api: Api, db: AsyncSession
) -> None:
    await call(api, world, ASSIGN, ["a"])
    before = await table_counts(db)

    assert (await call(api, world, ASSIGN, ["a"]))["assignedUserIds"] == ["a"]
    assert await table_counts(db) == before


async def test_admin_may_assign_seats(world: World, api: Api, db: AsyncSession) -> None:
    given = {**variables(world.purchase, ["a"]), "reason": "Ticket 42"}
    data = await api.data(ASSIGN, given, token=world.admin)

    assert data["addOnSeatAssign"]["assignedUserIds"] == ["a"]
    (event,) = await audits(db, "add_on.seats_assigned")
    assert (event.actor_kind, event.reason) == ("ADMIN", "Ticket 42")


async def test_seats_can_be_assigned_during_a_trial(
    world: World, api: Api, db: AsyncSession
) -> None:
    world.subscription.status = SubscriptionStatus.TRIAL
    await db.flush()

    assert (await call(api, world, ASSIGN, ["a"]))["assignedUserIds"] == ["a"]


@pytest.mark.parametrize("status", [SubscriptionStatus.GRACE, SubscriptionStatus.EXPIRED])
@pytest.mark.parametrize("query", [ASSIGN, UNASSIGN])
async def test_seats_change_only_while_active_or_in_trial(
    world: World, api: Api, db: AsyncSession, status: SubscriptionStatus, query: str
) -> None:
    world.subscription.status = status
    await db.flush()

    code = await refused(api, db, world, query, ["a"], world.owner)

    assert code == "SUBSCRIPTION_NOT_ACTIVE"


@pytest.mark.parametrize("users", [[], [f"user-{n}" for n in range(101)]], ids=["none", "101"])
@pytest.mark.parametrize("query", [ASSIGN, UNASSIGN])
async def test_one_to_a_hundred_user_ids_are_given(
    world: World, api: Api, db: AsyncSession, users: list[str], query: str
) -> None:
    assert await refused(api, db, world, query, users, world.owner) == "VALIDATION"


@pytest.mark.parametrize(
    "users",
    [[""], ["   "], ["x" * 65], ["a", ""], ["a b"], ["-a"], ["a/b"], ["a\tb"]],
    ids=["empty", "blank", "65-chars", "one-bad", "space", "leading-dash", "slash", "tab"],
)
@pytest.mark.parametrize("query", [ASSIGN, UNASSIGN])
async def test_malformed_user_ids_are_refused(
    world: World, api: Api, db: AsyncSession, users: list[str], query: str
) -> None:
    assert await refused(api, db, world, query, users, world.owner) == "USER_ID_INVALID"


async def test_a_hundred_ids_of_64_characters_are_accepted(
    world: World, api: Api, db: AsyncSession
) -> None:
    world.purchase.quantity = 100
    users = [f"{n:03d}".ljust(64, "x") for n in range(100)]
    customer = await db.get(Customer, world.subscription.customer_id)
    for user_id in users:
        await f.user(db, member_of=customer, role=MemberRole.VIEWER, external_id=user_id)
    await db.flush()

    result = await call(api, world, ASSIGN, users)

    assert result["assignedUserIds"] == users


@pytest.mark.parametrize("who", ["billing_admin", "viewer", "partner"])
@pytest.mark.parametrize("query", [ASSIGN, UNASSIGN])
async def test_only_the_owner_or_an_admin_may_change_seats(
    world: World, api: Api, db: AsyncSession, who: str, query: str
) -> None:
    assert await refused(api, db, world, query, ["a"], getattr(world, who)) == "FORBIDDEN"


async def test_a_partner_that_sold_the_subscription_may_not_assign_seats(
    api: Api, db: AsyncSession
) -> None:
    partner = await f.partner(db)
    customer = await f.customer(db)
    sub = await f.subscription(
        db,
        customer,
        "ultimate",
        account=await f.billing_account(db, partner),
        partner_id=partner.id,
        channel=Channel.PARTNER,
    )
    purchase = await f.add_on(db, sub, quantity=2)
    token = await api_token(db, TokenKind.PARTNER, partner_id=partner.id)
    before = await table_counts(db)

    body = await api.query(ASSIGN, variables(purchase, ["a"]), token=token)

    assert error_codes(body) == ["FORBIDDEN"]
    assert await table_counts(db) == before


async def test_another_customers_add_on_is_not_found(
    world: World, api: Api, db: AsyncSession
) -> None:
    assert await refused(api, db, world, ASSIGN, ["a"], world.other_owner) == "NOT_FOUND"


async def test_signing_in_is_required(world: World, api: Api, db: AsyncSession) -> None:
    assert await refused(api, db, world, ASSIGN, ["a"], None) == "UNAUTHENTICATED"


async def test_a_malformed_id_is_not_found(world: World, api: Api, db: AsyncSession) -> None:
    before = await table_counts(db)

    data = await api.data(ASSIGN, {"id": "bogus", "users": ["a"]}, token=world.owner)

    assert data["addOnSeatAssign"]["code"] == "NOT_FOUND"
    assert await table_counts(db) == before
