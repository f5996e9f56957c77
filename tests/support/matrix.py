"""The access matrix's world, principals and outcome rules (tests/api/test_access_matrix.py).

One world serves every cell:
- customer A (direct): owner, billing admin and viewer users; a subscription sold directly
  (Ultimate with a downgrade to Premium pending) on a self-managed instance whose license is
  not activated yet, an add-on purchase with one seat held, an invoice, an audit event about
  the subscription;
- customer P (partner-managed by partner 1): owner, billing admin and viewer users; a
  subscription partner 1 sold (same shape as A's, its license not activated either), an
  add-on purchase with one seat held, two invoices, and a billing account of its own;
- customer B (direct) with its own owner, subscription and invoice;
- partner 2 with its own customer Q, subscription and invoice;
- a drift finding on A's subscription (an invoice total) with its open admin task;
- an admin token and a product service token.

The principals "owner", "billing_admin" and "viewer" are members of the customer whose
object a row targets: A's users for plain rows, P's users for the `@P` rows. "other_owner"
is B's owner, "partner" partner 1 (which sold P's subscription), "other_partner" partner 2.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.config import Settings
from app.db.tables import (
    AddOnAssignment,
    AddOnPurchase,
    AdminTask,
    AuditEvent,
    Customer,
    Deployment,
    DriftFinding,
    Invoice,
    License,
    Membership,
    Notification,
    PortalUser,
    Subscription,
)
from app.domain.enums import (
    AdminTaskKind,
    Channel,
    CustomerKind,
    DeploymentKind,
    DriftRepair,
    DriftSystem,
    MemberRole,
    NotificationKind,
    TokenKind,
)
from app.domain.licenses import new_activation_code
from app.services import notifications
from resolvers.ids import to_global_id
from tests.support import factories as f
from tests.support.graphql import api_token, error_codes, user_token

PRINCIPALS = (
    "anon",
    "owner",
    "billing_admin",
    "viewer",
    "other_owner",
    "partner",
    "other_partner",
    "admin",
    "service",
)
MEMBER_PRINCIPALS = frozenset({"owner", "billing_admin", "viewer"})

# Outcomes. The first three are answers without an error; the rest are error codes.
OK = "ok"  # data returned for the target (and, for a mutation, its effect visible)
NULL = "null"  # a single lookup answered null: the object is not disclosed
EMPTY = "empty"  # a list answered empty: nothing of the other tenant is listed
HIDDEN = "hidden"  # the target came back, a field of it null with a FORBIDDEN field error
UNAUTH = "UNAUTHENTICATED"  # top-level error
FORBID = "FORBIDDEN"  # top-level error
NF = "NOT_FOUND"  # typed error in the mutation's result union
MBP = "MANAGED_BY_PARTNER"  # typed error in the mutation's result union
ANSWERS = frozenset({OK, NULL, EMPTY})

HELD_SEAT = "seat-holder"  # the user id holding a seat of each add-on purchase
NEW_SEAT = "matrix-new-user"  # the user id that addOnSeatAssign gives a seat to
TRIAL_NAMESPACE = "matrix-trial-ns"  # a deployment that never had a trial
INSTANCE = "matrix-instance-1"  # the self-managed instance that activates A's license
REASON = "access matrix check"


def gid(type_name: str, row: Any) -> str:
    return to_global_id(type_name, row.id)


# The billing addresses of the accounts that pay A's and P's subscriptions.
ADDRESS_A = {"billing_city": "Alphaville", "billing_country": "DE"}
ADDRESS_P = {"billing_city": "Partnerton", "billing_country": "NL"}


@dataclass
class Tenant:
    """A customer whose members the member principals are, with the objects rows target."""

    customer: Customer
    subscription: Subscription
    deployment: Deployment
    add_on: AddOnPurchase
    invoices: list[Invoice]
    members: dict[str, str]  # principal key -> bearer token

    @property
    def invoice(self) -> Invoice:
        return self.invoices[0]


@dataclass
class MatrixWorld:
    a: Tenant
    p: Tenant
    customer_b: Customer
    subscription_b: Subscription
    invoice_b: Invoice
    customer_q: Customer
    subscription_q: Subscription
    audit_a: AuditEvent
    license_a: License
    license_p: License
    tokens: dict[str, str]  # other_owner, partner, other_partner, admin, service
    notification_a: int = 0  # one of A's owner's notifications
    task_a: int = 0  # the open admin task of A's subscription's drift finding

    def tenant(self, key: str) -> Tenant:
        return {"A": self.a, "P": self.p}[key]

    def token(self, principal: str, tenant: str) -> str | None:
        if principal == "anon":
            return None
        if principal in MEMBER_PRINCIPALS:
            return self.tenant(tenant).members[principal]
        return self.tokens[principal]


async def _drift_task(db: AsyncSession, sub: Subscription, invoice: Invoice) -> int:
    finding = await f.add(
        db,
        DriftFinding(
            subscription_id=sub.id,
            system=DriftSystem.BILLING,
            field=f"invoice.total:{invoice.number}",
            local_value=str(invoice.total),
            remote_value="1",
            repair=DriftRepair.ADMIN_TASK,
        ),
    )
    task = AdminTask(
        subscription_id=sub.id,
        finding_id=finding.id,
        kind=AdminTaskKind.MONEY_DRIFT,
        detail="seeded for the access matrix",
    )
    return (await f.add(db, task)).id or 0


async def _owner_notification(db: AsyncSession, customer: Customer) -> int:
    """A seat alert for A's billing contacts; the id of the owner's copy."""
    assert customer.id is not None
    await notifications.notify(
        db,
        customer_id=customer.id,
        kind=NotificationKind.SEAT_ALERT,
        title="Seats are running low",
        body="Seeded for the access matrix.",
        dedupe_key="matrix",
        now=datetime(2026, 6, 1, tzinfo=UTC),
    )
    owner = (
        await db.execute(
            sa.select(col(Notification.id))
            .join(Membership, col(Membership.user_id) == col(Notification.user_id))
            .where(col(Membership.customer_id) == customer.id)
            .where(col(Membership.role) == MemberRole.OWNER)
        )
    ).scalar_one()
    assert owner is not None
    return owner


async def _members(db: AsyncSession, settings: Settings, customer: Customer) -> dict[str, str]:
    roles = {
        "owner": MemberRole.OWNER,
        "billing_admin": MemberRole.BILLING_ADMIN,
        "viewer": MemberRole.VIEWER,
    }
    return {
        key: user_token(settings, await f.user(db, member_of=customer, role=role))
        for key, role in roles.items()
    }


async def _add_on_with_held_seat(db: AsyncSession, sub: Subscription) -> AddOnPurchase:
    add_on = await f.add_on(db, sub, quantity=5)
    assert add_on.id is not None
    await f.add(db, AddOnAssignment(add_on_purchase_id=add_on.id, user_id=HELD_SEAT))
    await _seat_member(db, sub.customer_id)
    return add_on


async def _seat_member(db: AsyncSession, customer_id: int) -> None:
    """NEW_SEAT as a viewer of the customer: seats go to the customer's members only."""
    found = await db.scalar(sa.select(PortalUser).where(col(PortalUser.external_id) == NEW_SEAT))
    if found is None:
        found = await f.user(db, external_id=NEW_SEAT)
    await f.add(db, Membership(customer_id=customer_id, user_id=found.id, role=MemberRole.VIEWER))


async def build_world(db: AsyncSession, settings: Settings) -> MatrixWorld:
    plans = await f.catalog(db)
    downgrade = plans["premium"].id  # pending at term end on A's and P's subscriptions
    partner_1 = await f.partner(db, name="Matrix Partner One")
    partner_2 = await f.partner(db, name="Matrix Partner Two")

    alpha = await f.customer(db, name="Alpha Matrix Co")
    deployment_a = await f.deployment(
        db, alpha, kind=DeploymentKind.SELF_MANAGED, external_id="0b8f6d1e-matrix-alpha"
    )
    sub_a = await f.subscription(
        db,
        alpha,
        "ultimate",
        account=await f.billing_account(db, alpha, **ADDRESS_A),
        deployment=deployment_a,
        pending_plan_id=downgrade,
    )
    tenant_a = Tenant(
        customer=alpha,
        subscription=sub_a,
        deployment=deployment_a,
        add_on=await _add_on_with_held_seat(db, sub_a),
        invoices=[await f.invoice(db, sub_a)],
        members=await _members(db, settings, alpha),
    )

    managed = await f.customer(
        db,
        name="Papa Managed Co",
        kind=CustomerKind.PARTNER_MANAGED,
        managing_partner_id=partner_1.id,
    )
    await f.billing_account(db, managed)  # its own, for what it may buy directly (a trial)
    deployment_p = await f.deployment(
        db, managed, kind=DeploymentKind.SELF_MANAGED, external_id="5c2e9a7f-matrix-papa"
    )
    sub_p = await f.subscription(
        db,
        managed,
        "ultimate",
        account=await f.billing_account(db, partner_1, **ADDRESS_P),
        deployment=deployment_p,
        partner_id=partner_1.id,
        channel=Channel.PARTNER,
        pending_plan_id=downgrade,
    )
    tenant_p = Tenant(
        customer=managed,
        subscription=sub_p,
        deployment=deployment_p,
        add_on=await _add_on_with_held_seat(db, sub_p),
        invoices=[await f.invoice(db, sub_p), await f.invoice(db, sub_p, amounts=(1_000,))],
        members=await _members(db, settings, managed),
    )

    beta = await f.customer(db, name="Beta Matrix Co")
    sub_b = await f.subscription(db, beta)
    invoice_b = await f.invoice(db, sub_b)

    quebec = await f.customer(
        db,
        name="Quebec Managed Co",
        kind=CustomerKind.PARTNER_MANAGED,
        managing_partner_id=partner_2.id,
    )
    sub_q = await f.subscription(
        db,
        quebec,
        account=await f.billing_account(db, partner_2),
        partner_id=partner_2.id,
        channel=Channel.PARTNER,
    )
    await f.invoice(db, sub_q)

    audit_a = await f.add(
        db,
        AuditEvent(
            actor_kind="ADMIN",
            actor_id="matrix",
            action="subscription.auto_renew_changed",
            target_type="Subscription",
            target_id=str(sub_a.id),
            reason="seeded for the access matrix",
        ),
    )
    # P's history: one change by the billing lifecycle (app.services.lifecycle.common.SYSTEM).
    await f.add(
        db,
        AuditEvent(
            actor_kind="SERVICE",
            actor_id="billing-lifecycle",
            action="subscription.grace_started",
            target_type="Subscription",
            target_id=str(sub_p.id),
        ),
    )

    assert sub_a.id is not None
    license_a, license_p = [
        await f.add(db, License(subscription_id=sub.id, activation_code=new_activation_code()))
        for sub in (sub_a, sub_p)
    ]

    return MatrixWorld(
        notification_a=await _owner_notification(db, alpha),
        task_a=await _drift_task(db, sub_a, tenant_a.invoice),
        a=tenant_a,
        p=tenant_p,
        customer_b=beta,
        subscription_b=sub_b,
        invoice_b=invoice_b,
        customer_q=quebec,
        subscription_q=sub_q,
        audit_a=audit_a,
        license_a=license_a,
        license_p=license_p,
        tokens={
            "other_owner": user_token(settings, await f.user(db, member_of=beta)),
            "partner": await api_token(db, TokenKind.PARTNER, partner_id=partner_1.id),
            "other_partner": await api_token(db, TokenKind.PARTNER, partner_id=partner_2.id),
            "admin": await api_token(db, TokenKind.ADMIN),
            "service": await api_token(db, TokenKind.SERVICE),
        },
    )


# --- outcome rules ------------------------------------------------------------------------

Classify = Callable[[Any], str]


def outcome(body: dict[str, Any], field: str, classify: Classify) -> str:
    """The cell's outcome: the top-level error code if there is one (the field then null),
    HIDDEN if the only errors are FORBIDDEN ones inside the answer and `classify` says so,
    otherwise what `classify` makes of the field's value."""
    value = (body.get("data") or {}).get(field)
    if body.get("errors"):
        codes = set(error_codes(body))
        if value is not None and _nested_only(body["errors"]) and codes == {FORBID}:
            found = classify(value)
            return found if found == HIDDEN else f"FORBIDDEN field errors with {found}"
        if len(codes) != 1 or None in codes or value is not None:
            return f"unexpected errors {body['errors']} with {field}={value!r}"
        return codes.pop()
    found = classify(value)
    return found if found != HIDDEN else f"hidden without a FORBIDDEN error: {value!r}"


def _nested_only(errors: list[dict[str, Any]]) -> bool:
    return all(len(error.get("path") or ()) > 1 for error in errors)


def single(expected_id: str) -> Classify:
    """A single lookup: null, or exactly the target."""

    def classify(value: Any) -> str:
        if value is None:
            return NULL
        return OK if value.get("id") == expected_id else f"wrong object {value!r}"

    return classify


def listing(expected_ids: list[str]) -> Classify:
    """A connection: empty, or exactly the targets (in any order)."""

    def classify(value: Any) -> str:
        ids = [node["id"] for node in value["nodes"]]
        if not ids:
            return EMPTY
        return OK if sorted(ids) == sorted(expected_ids) else f"wrong list {ids!r}"

    return classify


def node_list(expected_ids: list[str]) -> Classify:
    """`nodes(ids)`: every id answered (OK) or every one null (NULL); a mix is a finding."""

    def classify(value: Any) -> str:
        ids = [None if node is None else node["id"] for node in value]
        if all(found is None for found in ids):
            return NULL
        return OK if ids == expected_ids else f"partly visible {ids!r}"

    return classify


def result(payload_type: str, effect: Callable[[Any], bool]) -> Classify:
    """A mutation's result union: OK when the payload shows the effect, else the error code."""

    def classify(value: Any) -> str:
        if value["__typename"] == payload_type:
            return OK if effect(value) else f"payload without the effect {value!r}"
        return str(value.get("code") or value)

    return classify
