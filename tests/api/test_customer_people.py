"""A customer's people over the API: owners (and staff, with a reason) invite users by
external id, change roles and remove members; each change is audited; a customer always
keeps an owner; a removed member loses access at once."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.config import Settings
from app.db.tables import AuditEvent, Customer, Membership, PortalUser
from app.domain.enums import MemberRole, TokenKind
from resolvers.ids import to_global_id
from tests.api.people_support import VIEWER, stranger_token
from tests.support import factories as f
from tests.support.graphql import Api, api_token, error_codes, user_token
from tests.support.snapshots import table_counts

INVITE = """mutation($input: CustomerMemberInviteInput!, $reason: String) {
  customerMemberInvite(input: $input, reason: $reason) {
    __typename ... on CustomerMemberPayload { member { user { externalId name email } role }
      customer { members { user { externalId } role } } }
    ... on UserError { code message } } }"""
ROLE_CHANGE = """mutation($input: CustomerMemberRoleChangeInput!, $reason: String) {
  customerMemberRoleChange(input: $input, reason: $reason) {
    __typename ... on CustomerMemberPayload { member { user { externalId } role } }
    ... on UserError { code message } } }"""
REMOVE = """mutation($input: CustomerMemberRemoveInput!, $reason: String) {
  customerMemberRemove(input: $input, reason: $reason) {
    __typename ... on CustomerMemberRemovePayload { removedExternalId
      customer { members { user { externalId } role } } }
    ... on UserError { code message } } }"""


class Acme:
    def __init__(
        self, customer: Customer, owner: PortalUser, viewer: PortalUser, settings: Settings
    ):
        self.customer, self.owner_user, self.viewer_user = customer, owner, viewer
        self.id = to_global_id("Customer", customer.id or 0)
        self.owner = user_token(settings, owner)
        self.viewer = user_token(settings, viewer)


@pytest.fixture
async def acme(db: AsyncSession, settings: Settings) -> Acme:
    customer = await f.customer(db, name="Acme")
    owner = await f.user(db, member_of=customer, role=MemberRole.OWNER, external_id="acme-owner")
    viewer = await f.user(db, member_of=customer, role=MemberRole.VIEWER, external_id="acme-viewer")
    await f.subscription(db, customer)
    return Acme(customer, owner, viewer, settings)


async def call(
    api: Api, doc: str, token: str, reason: str | None = None, **inp: Any
) -> dict[str, Any]:
    data = await api.data(doc, {"input": inp, "reason": reason}, token=token)
    return next(iter(data.values()))  # type: ignore[no-any-return]


async def audit_rows(db: AsyncSession, action: str) -> list[AuditEvent]:
    stmt = (
        sa.select(AuditEvent).where(col(AuditEvent.action) == action).order_by(col(AuditEvent.id))
    )
    return list((await db.scalars(stmt)).all())


async def role_of(db: AsyncSession, customer: Customer, external_id: str) -> MemberRole | None:
    stmt = (
        sa.select(col(Membership.role))
        .join(PortalUser, col(PortalUser.id) == col(Membership.user_id))
        .where(
            col(Membership.customer_id) == customer.id, col(PortalUser.external_id) == external_id
        )
    )
    found: MemberRole | None = await db.scalar(stmt)
    return found


async def test_an_owner_invites_a_user_who_never_signed_in(
    api: Api, db: AsyncSession, settings: Settings, acme: Acme
) -> None:
    answer = await call(
        api,
        INVITE,
        acme.owner,
        customerId=acme.id,
        externalId=" sso-77 ",
        role="BILLING_ADMIN",
        email="bea@acme.example",
        name="Bea",
    )

    assert answer == {
        "__typename": "CustomerMemberPayload",
        "member": {
            "user": {"externalId": "sso-77", "name": "Bea", "email": "bea@acme.example"},
            "role": "BILLING_ADMIN",
        },
        "customer": {
            "members": [
                {"user": {"externalId": "acme-owner"}, "role": "OWNER"},
                {"user": {"externalId": "acme-viewer"}, "role": "VIEWER"},
                {"user": {"externalId": "sso-77"}, "role": "BILLING_ADMIN"},
            ]
        },
    }
    user = await db.scalar(sa.select(PortalUser).where(col(PortalUser.external_id) == "sso-77"))
    assert user is not None and (user.email, user.name) == ("bea@acme.example", "Bea")
    [event] = await audit_rows(db, "member.invited")
    assert (event.actor_id, event.target_type, event.target_id) == (
        "acme-owner",
        "Customer",
        str(acme.customer.id),
    )
    assert (event.before, event.after) == (None, {"user": "sso-77", "role": "BILLING_ADMIN"})

    # When they sign in, they are that user, with that role.
    viewer = (await api.data(VIEWER, token=stranger_token(settings, "sso-77")))["viewer"]
    assert viewer["membershipState"] == "MEMBER"
    assert viewer["memberships"] == [{"role": "BILLING_ADMIN", "customer": {"name": "Acme"}}]


async def test_inviting_a_known_user_needs_no_email(api: Api, db: AsyncSession, acme: Acme) -> None:
    known = await f.user(db, external_id="known-1", email="k@x.example", name="K")
    answer = await call(
        api, INVITE, acme.owner, customerId=acme.id, externalId="known-1", role="OWNER"
    )
    assert answer["member"] == {
        "user": {"externalId": "known-1", "name": "K", "email": "k@x.example"},
        "role": "OWNER",
    }
    assert await role_of(db, acme.customer, known.external_id) is MemberRole.OWNER


@pytest.mark.parametrize(
    ("inp", "code"),
    [
        pytest.param(
            {"externalId": "acme-viewer", "role": "OWNER"}, "MEMBER_ALREADY_EXISTS", id="twice"
        ),
        pytest.param({"externalId": "sso-new", "role": "VIEWER"}, "VALIDATION", id="no-email"),
        pytest.param(
            {"externalId": "sso-new", "role": "VIEWER", "email": "no at sign"},
            "VALIDATION",
            id="bad-email",
        ),
        pytest.param({"externalId": "  ", "role": "VIEWER"}, "VALIDATION", id="blank-id"),
    ],
)
async def test_refused_invites_change_nothing(
    api: Api, db: AsyncSession, acme: Acme, inp: dict[str, Any], code: str
) -> None:
    before = await table_counts(db)
    answer = await call(api, INVITE, acme.owner, customerId=acme.id, **inp)
    assert answer["code"] == code, answer
    assert await table_counts(db) == before


async def test_the_last_owner_can_be_neither_demoted_nor_removed(
    api: Api, db: AsyncSession, acme: Acme
) -> None:
    before = await table_counts(db)
    demoted = await call(
        api, ROLE_CHANGE, acme.owner, customerId=acme.id, externalId="acme-owner", role="VIEWER"
    )
    removed = await call(api, REMOVE, acme.owner, customerId=acme.id, externalId="acme-owner")
    assert (demoted["code"], removed["code"]) == ("LAST_OWNER", "LAST_OWNER")
    assert await role_of(db, acme.customer, "acme-owner") is MemberRole.OWNER
    assert await table_counts(db) == before


async def test_with_a_second_owner_the_first_may_step_down(
    api: Api, db: AsyncSession, acme: Acme
) -> None:
    promoted = await call(
        api, ROLE_CHANGE, acme.owner, customerId=acme.id, externalId="acme-viewer", role="OWNER"
    )
    assert promoted["member"] == {"user": {"externalId": "acme-viewer"}, "role": "OWNER"}
    stepped = await call(
        api, ROLE_CHANGE, acme.owner, customerId=acme.id, externalId="acme-owner", role="VIEWER"
    )
    assert stepped["member"] == {"user": {"externalId": "acme-owner"}, "role": "VIEWER"}

    changes = await audit_rows(db, "member.role_changed")
    assert [(e.before, e.after) for e in changes] == [
        ({"user": "acme-viewer", "role": "VIEWER"}, {"user": "acme-viewer", "role": "OWNER"}),
        ({"user": "acme-owner", "role": "OWNER"}, {"user": "acme-owner", "role": "VIEWER"}),
    ]
    # Now a viewer, the former owner may no longer manage people (FORBIDDEN at once).
    body = await api.query(
        ROLE_CHANGE,
        {"input": {"customerId": acme.id, "externalId": "acme-viewer", "role": "VIEWER"}},
        token=acme.owner,
    )
    assert error_codes(body) == ["FORBIDDEN"]


async def test_a_removed_member_loses_access_at_once(
    api: Api, db: AsyncSession, acme: Acme
) -> None:
    subscriptions = "{ subscriptions(first: 5) { nodes { id } } }"
    assert len((await api.data(subscriptions, token=acme.viewer))["subscriptions"]["nodes"]) == 1

    answer = await call(api, REMOVE, acme.owner, customerId=acme.id, externalId="acme-viewer")

    assert answer == {
        "__typename": "CustomerMemberRemovePayload",
        "removedExternalId": "acme-viewer",
        "customer": {"members": [{"user": {"externalId": "acme-owner"}, "role": "OWNER"}]},
    }
    assert await role_of(db, acme.customer, "acme-viewer") is None
    assert (await api.data(subscriptions, token=acme.viewer))["subscriptions"]["nodes"] == []
    viewer = (await api.data(VIEWER, token=acme.viewer))["viewer"]
    assert (viewer["membershipState"], viewer["memberships"]) == ("NO_MEMBERSHIP", [])
    [event] = await audit_rows(db, "member.removed")
    assert (event.before, event.after) == ({"user": "acme-viewer", "role": "VIEWER"}, None)
    # The portal user stays (their notifications, their audit trail); only the membership goes.
    assert await db.scalar(
        sa.select(PortalUser).where(col(PortalUser.external_id) == "acme-viewer")
    )


async def test_changing_or_removing_a_non_member_is_user_not_a_member(
    api: Api, db: AsyncSession, acme: Acme
) -> None:
    await f.user(db, external_id="outsider")
    before = await table_counts(db)
    changed = await call(
        api, ROLE_CHANGE, acme.owner, customerId=acme.id, externalId="outsider", role="OWNER"
    )
    removed = await call(api, REMOVE, acme.owner, customerId=acme.id, externalId="nobody-at-all")
    assert (changed["code"], removed["code"]) == ("USER_NOT_A_MEMBER", "USER_NOT_A_MEMBER")
    assert await table_counts(db) == before


async def test_who_may_manage_people(
    api: Api, db: AsyncSession, settings: Settings, acme: Acme
) -> None:
    other = await f.user(db, member_of=await f.customer(db), role=MemberRole.OWNER)
    admin = await api_token(db, TokenKind.ADMIN)
    inp = {"customerId": acme.id, "externalId": "acme-viewer", "role": "BILLING_ADMIN"}
    before = await table_counts(db)

    as_viewer = await api.query(ROLE_CHANGE, {"input": inp}, token=acme.viewer)
    as_other_owner = await call(api, ROLE_CHANGE, user_token(settings, other), **inp)
    as_admin_without_reason = await call(api, ROLE_CHANGE, admin, **inp)

    assert error_codes(as_viewer) == ["FORBIDDEN"]
    assert as_other_owner["code"] == "NOT_FOUND"
    assert as_admin_without_reason["code"] == "VALIDATION"
    assert await table_counts(db) == before

    as_admin = await call(api, ROLE_CHANGE, admin, reason="customer asked by ticket 42", **inp)
    assert as_admin["member"] == {"user": {"externalId": "acme-viewer"}, "role": "BILLING_ADMIN"}
    [event] = await audit_rows(db, "member.role_changed")
    assert (event.actor_kind, event.reason) == ("ADMIN", "customer asked by ticket 42")


async def test_member_changes_show_in_the_customers_audit_log(
    api: Api, db: AsyncSession, acme: Acme
) -> None:
    await call(
        api,
        INVITE,
        acme.owner,
        customerId=acme.id,
        externalId="sso-9",
        role="VIEWER",
        email="n@x.example",
    )
    await call(api, REMOVE, acme.owner, customerId=acme.id, externalId="sso-9")
    admin = await api_token(db, TokenKind.ADMIN)
    data = await api.data(
        "query($c: ID!) { auditEvents(first: 10, filter: {customerId: $c}) { nodes { action } } }",
        {"c": acme.id},
        token=admin,
    )
    assert [n["action"] for n in data["auditEvents"]["nodes"]] == [
        "member.removed",
        "member.invited",
    ]
