"""A valid token for a user the API has never seen: signed in, not provisioned. `viewer`
says so (UNPROVISIONED, may start a first purchase); reads see nothing; mutations that need a
membership answer NO_CUSTOMER_MEMBERSHIP. Unsigned, expired or foreign tokens stay 401."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.domain.enums import MemberRole
from resolvers.ids import to_global_id
from tests.api.orders_support import QUOTE as ORDER_QUOTE
from tests.api.people_support import VIEWER, stranger_token
from tests.support import factories as f
from tests.support.graphql import Api, error_codes, user_token
from tests.support.snapshots import table_counts


async def test_viewer_of_a_never_seen_user_is_unprovisioned_and_nothing_is_created(
    api: Api, db: AsyncSession, settings: Settings
) -> None:
    before = await table_counts(db)
    token = stranger_token(settings, "sso-new", name="New Person")

    body = await api.query(VIEWER, token=token)

    assert body["data"] == {
        "viewer": {
            "kind": "CUSTOMER_USER",
            "name": "New Person",
            "membershipState": "UNPROVISIONED",
            "canStartFirstPurchase": True,
            "memberships": [],
        }
    }
    assert "errors" not in body
    assert await table_counts(db) == before


async def test_members_are_members_and_others_have_no_state(
    api: Api, db: AsyncSession, settings: Settings
) -> None:
    owner = await f.user(db, member_of=await f.customer(db), role=MemberRole.OWNER)
    viewer = (await api.data(VIEWER, token=user_token(settings, owner)))["viewer"]
    assert (viewer["membershipState"], viewer["canStartFirstPurchase"]) == ("MEMBER", False)


async def test_a_never_seen_user_reads_nothing(
    api: Api, db: AsyncSession, settings: Settings
) -> None:
    customer = await f.customer(db)
    await f.subscription(db, customer)
    token = stranger_token(settings, "sso-reader")
    data = await api.data(
        "{ subscriptions(first: 5) { nodes { id } } invoices(first: 5) { nodes { id } } }",
        token=token,
    )
    assert data == {"subscriptions": {"nodes": []}, "invoices": {"nodes": []}}
    cid = to_global_id("Customer", customer.id or 0)
    assert await api.data(
        "query($id: ID!) { customer(id: $id) { id } }", {"id": cid}, token=token
    ) == {"customer": None}


AUTO_RENEW = """mutation($id: ID!) { subscriptionSetAutoRenew(id: $id, autoRenew: false) {
  __typename ... on UserError { code } } }"""
MARK_READ = """mutation { notificationsMarkRead { __typename ... on UserError { code } } }"""
INVITE = """mutation($input: CustomerMemberInviteInput!) { customerMemberInvite(input: $input) {
  __typename ... on UserError { code } } }"""


@pytest.mark.parametrize("removed", [False, True], ids=["never-seen", "removed-everywhere"])
async def test_mutations_needing_a_membership_answer_no_customer_membership(
    api: Api, db: AsyncSession, settings: Settings, removed: bool
) -> None:
    customer = await f.customer(db)
    sub = await f.subscription(db, customer)
    if removed:  # a portal user who belongs to no customer
        token = user_token(settings, await f.user(db))
    else:
        token = stranger_token(settings, "sso-mutator")
    sid = to_global_id("Subscription", sub.id or 0)
    cid = to_global_id("Customer", customer.id or 0)
    calls = [
        (AUTO_RENEW, {"id": sid}),
        (INVITE, {"input": {"customerId": cid, "externalId": "x", "role": "VIEWER"}}),
        (ORDER_QUOTE, {"input": {"subscriptionId": sid, "actions": [{"addSeats": {"seats": 1}}]}}),
    ]
    if not removed:  # one removed everywhere still reads and marks their own notifications
        calls.append((MARK_READ, {}))
    before = await table_counts(db)
    for document, variables in calls:
        body = await api.query(document, variables, token=token)
        assert error_codes(body) == ["NO_CUSTOMER_MEMBERSHIP"], body
        assert "first purchase" in body["errors"][0]["message"]
    assert await table_counts(db) == before


@pytest.mark.parametrize(
    "token_of",
    [
        pytest.param(
            lambda s: stranger_token(s, "sso-x", expires_in=timedelta(hours=-1)), id="expired"
        ),
        pytest.param(
            lambda s: stranger_token(s, "sso-x", secret="not-the-secret-" * 3), id="unsigned"
        ),
        pytest.param(lambda s: stranger_token(s, "sso-x")[:-4] + "AAAA", id="tampered"),
    ],
)
async def test_bad_tokens_of_never_seen_users_are_still_refused(
    api: Api, db: AsyncSession, settings: Settings, token_of: object
) -> None:
    before = await table_counts(db)
    response = await api.post(VIEWER, token=token_of(settings))  # type: ignore[operator]
    assert response.status_code == 401
    assert error_codes(response.json()) == ["UNAUTHENTICATED"]
    assert await table_counts(db) == before
