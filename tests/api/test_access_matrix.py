"""The access matrix: every root Query and Mutation field, called by every kind of principal,
with the outcome asserted cell by cell.

Rows are root fields; a row key is the field name, or `field@variant` for the same field
aimed at another object (`@P`: partner-managed customer P's objects, which partner 1 sold;
plain rows aim at direct customer A's). The member columns (owner, billing_admin, viewer)
are members of the customer the row targets; other_owner is the owner of another customer,
partner is the partner that sold P's subscription, other_partner a partner that sold neither.
The world is described in tests/support/matrix.py.

Outcomes: `ok` (the target's data, and a mutation's effect, came back), `null` / `empty` (no
error, but the target is absent: null for a single lookup, an empty list), a top-level error
code (UNAUTHENTICATED, FORBIDDEN), `hidden` (the target came back with a field of it null
and a FORBIDDEN error at that field's path), or the code of a typed error from the mutation's result
union (NOT_FOUND, MANAGED_BY_PARTNER). Every cell except a successful write leaves every
table's row count as it was. Each cell runs in its own rolled-back transaction.

A root field without a row fails `test_every_root_field_has_a_row`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.domain.money import round_half_up
from resolvers.ids import to_global_id
from schema.build import schema as built_schema
from tests.support.graphql import Api
from tests.support.matrix import (
    ADDRESS_A,
    ADDRESS_P,
    EMPTY,
    FORBID,
    HELD_SEAT,
    HIDDEN,
    INSTANCE,
    MBP,
    NEW_SEAT,
    NF,
    NULL,
    OK,
    PRINCIPALS,
    REASON,
    TRIAL_NAMESPACE,
    UNAUTH,
    Classify,
    MatrixWorld,
    Tenant,
    build_world,
    gid,
    listing,
    node_list,
    outcome,
    result,
    single,
)
from tests.support.snapshots import table_counts

GONE = "gone"  # the object came back, the edge asked for is null
AAC = "ALREADY_A_CUSTOMER"
SNA = "SUBSCRIPTION_NOT_ACTIVE"
PNF = "PROVISIONING_NOT_FAILED"


def row(*outcomes: str) -> dict[str, str]:
    """One row of the matrix, in the column order of PRINCIPALS."""
    return dict(zip(PRINCIPALS, outcomes, strict=True))


# fmt: off
MATRIX: dict[str, dict[str, str]] = {
    # Query                 anon    owner   billing viewer  o_owner partner o_partn admin   service
    "viewer":           row(NULL,   OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK),
    "node":             row(UNAUTH, OK,     OK,     OK,     NULL,   NULL,   NULL,   OK,     FORBID),
    "node@P":           row(UNAUTH, OK,     OK,     OK,     NULL,   OK,     NULL,   OK,     FORBID),
    "nodes":            row(UNAUTH, OK,     OK,     OK,     NULL,   NULL,   NULL,   OK,     FORBID),
    "nodes@P":          row(UNAUTH, OK,     OK,     OK,     NULL,   OK,     NULL,   OK,     FORBID),
    # AddOnPurchase.assignments and availableSeats: whoever reads the subscription.
    "node@seatHolders": row(UNAUTH, OK,     OK,     OK,     NULL,   NULL,   NULL,   OK,     FORBID),
    "node@seatHoldersP":
                        row(UNAUTH, OK,     OK,     OK,     NULL,   OK,     NULL,   OK,     FORBID),
    "products":         row(OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK),
    # Customer.members: the customer's members and staff (a partner that sees P: HIDDEN).
    "customer@members": row(UNAUTH, OK,     OK,     OK,     NULL,   NULL,   NULL,   OK,     FORBID),
    "customer@membersP":
                        row(UNAUTH, OK,     OK,     OK,     NULL,   HIDDEN, NULL,   OK,     FORBID),
    "customers":        row(UNAUTH, FORBID, FORBID, FORBID, FORBID, EMPTY,  EMPTY,  OK,     FORBID),
    "customers@P":      row(UNAUTH, FORBID, FORBID, FORBID, FORBID, OK,     EMPTY,  OK,     FORBID),
    "customer":         row(UNAUTH, OK,     OK,     OK,     NULL,   NULL,   NULL,   OK,     FORBID),
    "customer@P":       row(UNAUTH, OK,     OK,     OK,     NULL,   OK,     NULL,   OK,     FORBID),
    "subscriptions":    row(UNAUTH, OK,     OK,     OK,     EMPTY,  EMPTY,  EMPTY,  OK,     FORBID),
    "subscriptions@P":  row(UNAUTH, OK,     OK,     OK,     EMPTY,  OK,     EMPTY,  OK,     FORBID),
    "subscription":     row(UNAUTH, OK,     OK,     OK,     NULL,   NULL,   NULL,   OK,     FORBID),
    "subscription@P":   row(UNAUTH, OK,     OK,     OK,     NULL,   OK,     NULL,   OK,     FORBID),
    "subscription@deployment":
                        row(UNAUTH, OK,     OK,     OK,     NULL,   NULL,   NULL,   OK,     FORBID),
    # License.activationCode: those who may buy for the subscription, not viewers (HIDDEN).
    "subscription@code":
                        row(UNAUTH, OK,     OK,     HIDDEN, NULL,   NULL,   NULL,   OK,     FORBID),
    "subscription@codeP":
                        row(UNAUTH, OK,     OK,     HIDDEN, NULL,   OK,     NULL,   OK,     FORBID),
    # Subscription.history (whoever reads the subscription reads its customer-safe history)
    # and BillingAccount.billingAddress (wherever the paying account shows; GONE: the
    # history came back, the partner's account is null to P's members).
    "subscription@history":
                        row(UNAUTH, OK,     OK,     OK,     NULL,   NULL,   NULL,   OK,     FORBID),
    "subscription@historyP":
                        row(UNAUTH, GONE,   GONE,   GONE,   NULL,   OK,     NULL,   OK,     FORBID),
    "invoices":         row(UNAUTH, OK,     OK,     OK,     EMPTY,  EMPTY,  EMPTY,  OK,     FORBID),
    "invoices@P":       row(UNAUTH, OK,     OK,     OK,     EMPTY,  OK,     EMPTY,  OK,     FORBID),
    "invoice":          row(UNAUTH, OK,     OK,     OK,     NULL,   NULL,   NULL,   OK,     FORBID),
    "invoice@P":        row(UNAUTH, OK,     OK,     OK,     NULL,   OK,     NULL,   OK,     FORBID),
    # InvoiceLine.tax: whoever reads the invoice.
    "invoice@tax":      row(UNAUTH, OK,     OK,     OK,     NULL,   NULL,   NULL,   OK,     FORBID),
    "invoice@taxP":     row(UNAUTH, OK,     OK,     OK,     NULL,   OK,     NULL,   OK,     FORBID),
    # Invoice.creditNotes / amountCredited and Subscription.dunning: whoever reads the object.
    "invoice@creditNotes":
                        row(UNAUTH, OK,     OK,     OK,     NULL,   NULL,   NULL,   OK,     FORBID),
    "invoice@creditNotesP":
                        row(UNAUTH, OK,     OK,     OK,     NULL,   OK,     NULL,   OK,     FORBID),
    "subscription@dunning":
                        row(UNAUTH, OK,     OK,     OK,     NULL,   NULL,   NULL,   OK,     FORBID),
    "subscription@dunningP":
                        row(UNAUTH, OK,     OK,     OK,     NULL,   OK,     NULL,   OK,     FORBID),
    # Subscription.drift: staff only, whoever else sees the subscription (HIDDEN).
    "subscription@drift":
                        row(UNAUTH, HIDDEN, HIDDEN, HIDDEN, NULL,   NULL,   NULL,   OK,     FORBID),
    "subscription@driftP":
                        row(UNAUTH, HIDDEN, HIDDEN, HIDDEN, NULL,   HIDDEN, NULL,   OK,     FORBID),
    "auditEvents":      row(UNAUTH, FORBID, FORBID, FORBID, FORBID, FORBID, FORBID, OK,     FORBID),
    "auditEvents@customer":
                        row(UNAUTH, FORBID, FORBID, FORBID, FORBID, FORBID, FORBID, OK,     FORBID),
    "integrationSubscribers":
                        row(UNAUTH, FORBID, FORBID, FORBID, FORBID, FORBID, FORBID, OK,     FORBID),
    "integrationDeliveries":
                        row(UNAUTH, FORBID, FORBID, FORBID, FORBID, FORBID, FORBID, OK,     FORBID),
    "adminTasks":       row(UNAUTH, FORBID, FORBID, FORBID, FORBID, FORBID, FORBID, OK,     FORBID),
    "promotions":       row(UNAUTH, FORBID, FORBID, FORBID, FORBID, FORBID, FORBID, OK,     FORBID),
    # Mutation              anon    owner   billing viewer  o_owner partner o_partn admin   service
    "orderQuote":       row(UNAUTH, OK,     OK,     OK,     NF,     NF,     NF,     OK,     FORBID),
    "orderQuote@P":     row(UNAUTH, MBP,    MBP,    MBP,    NF,     OK,     NF,     OK,     FORBID),
    # A first purchase (newCustomer) is for customer users who belong to no customer yet:
    # every member here belongs to one (its OK case is in tests/api/test_first_purchase.py).
    "orderQuote@newCustomer":
                        row(UNAUTH, AAC,    AAC,    AAC,    AAC,    FORBID, FORBID, FORBID, FORBID),
    # Quote.tax and QuoteLine.tax: whoever may quote; A's account is in DE (19 % VAT), the
    # partner's that pays P's in NL, the seller's country (21 % VAT).
    "orderQuote@tax":   row(UNAUTH, OK,     OK,     OK,     NF,     NF,     NF,     OK,     FORBID),
    "orderQuote@taxP":  row(UNAUTH, MBP,    MBP,    MBP,    NF,     OK,     NF,     OK,     FORBID),
    "orderPlace":       row(UNAUTH, OK,     OK,     FORBID, NF,     NF,     NF,     OK,     FORBID),
    "orderPlace@P":     row(UNAUTH, MBP,    MBP,    FORBID, NF,     OK,     NF,     OK,     FORBID),
    "trialStart":       row(UNAUTH, OK,     FORBID, FORBID, NF,     FORBID, FORBID, OK,     FORBID),
    "trialStart@P":     row(UNAUTH, MBP,    FORBID, FORBID, NF,     FORBID, FORBID, OK,     FORBID),
    "subscriptionSetAutoRenew":
                        row(UNAUTH, OK,     OK,     FORBID, NF,     NF,     NF,     OK,     FORBID),
    "subscriptionSetAutoRenew@P":
                        row(UNAUTH, MBP,    MBP,    FORBID, NF,     OK,     NF,     OK,     FORBID),
    "subscriptionCancelPendingChange":
                        row(UNAUTH, OK,     OK,     FORBID, NF,     NF,     NF,     OK,     FORBID),
    "subscriptionCancelPendingChange@P":
                        row(UNAUTH, MBP,    MBP,    FORBID, NF,     OK,     NF,     OK,     FORBID),
    "addOnSeatAssign":  row(UNAUTH, OK,     FORBID, FORBID, NF,     FORBID, FORBID, OK,     FORBID),
    "addOnSeatAssign@P":
                        row(UNAUTH, OK,     FORBID, FORBID, NF,     FORBID, FORBID, OK,     FORBID),
    "addOnSeatUnassign":
                        row(UNAUTH, OK,     FORBID, FORBID, NF,     FORBID, FORBID, OK,     FORBID),
    "addOnSeatUnassign@P":
                        row(UNAUTH, OK,     FORBID, FORBID, NF,     FORBID, FORBID, OK,     FORBID),
    # A's own billing account / invoice; @P: the partner's account that pays P's subscription
    # (customer users never see it) and P's invoice it pays (MANAGED_BY_PARTNER to P's buyers).
    "billingAccountSetPaymentMethod":
                        row(UNAUTH, OK,     OK,     FORBID, NF,     NF,     NF,     OK,     FORBID),
    "billingAccountSetPaymentMethod@P":
                        row(UNAUTH, NF,     NF,     NF,     NF,     OK,     NF,     OK,     FORBID),
    "invoicePay":       row(UNAUTH, OK,     OK,     FORBID, NF,     NF,     NF,     OK,     FORBID),
    "invoicePay@P":     row(UNAUTH, MBP,    MBP,    FORBID, NF,     OK,     NF,     OK,     FORBID),
    "licenseActivate":  row(OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK),
    "licenseSync":      row(OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK),
    # A's owner's notification: each user's notifications are their own.
    "notificationsMarkRead":
                        row(UNAUTH, OK,     NF,     NF,     NF,     FORBID, FORBID, FORBID, FORBID),
    "testClockAdvance": row(UNAUTH, FORBID, FORBID, FORBID, FORBID, FORBID, FORBID, OK,     FORBID),
    # Integration events out: admins only.
    "integrationSubscriberCreate":
                        row(UNAUTH, FORBID, FORBID, FORBID, FORBID, FORBID, FORBID, OK,     FORBID),
    "integrationSubscriberUpdate":
                        row(UNAUTH, FORBID, FORBID, FORBID, FORBID, FORBID, FORBID, OK,     FORBID),
    "integrationSubscriberDeactivate":
                        row(UNAUTH, FORBID, FORBID, FORBID, FORBID, FORBID, FORBID, OK,     FORBID),
    "integrationEventRedeliver":
                        row(UNAUTH, FORBID, FORBID, FORBID, FORBID, FORBID, FORBID, OK,     FORBID),
    "adminTaskResolve": row(UNAUTH, FORBID, FORBID, FORBID, FORBID, FORBID, FORBID, OK,     FORBID),
    "subscriptionResync":
                        row(UNAUTH, FORBID, FORBID, FORBID, FORBID, FORBID, FORBID, OK,     FORBID),
    # Money back: staff only (A's invoice, paid first by the admin for the credit note).
    "creditNoteCreate": row(UNAUTH, FORBID, FORBID, FORBID, FORBID, FORBID, FORBID, OK,     FORBID),
    "invoiceVoid":      row(UNAUTH, FORBID, FORBID, FORBID, FORBID, FORBID, FORBID, OK,     FORBID),
    # Promo codes: admins only.
    "promotionCreate":  row(UNAUTH, FORBID, FORBID, FORBID, FORBID, FORBID, FORBID, OK,     FORBID),
    "promotionExpire":  row(UNAUTH, FORBID, FORBID, FORBID, FORBID, FORBID, FORBID, OK,     FORBID),
    # A customer's people: its owners and staff (tests/api/test_customer_people.py).
    "customerMemberInvite":
                        row(UNAUTH, OK,     FORBID, FORBID, NF,     FORBID, FORBID, OK,     FORBID),
    "customerMemberRoleChange":
                        row(UNAUTH, OK,     FORBID, FORBID, NF,     FORBID, FORBID, OK,     FORBID),
    "customerMemberRemove":
                        row(UNAUTH, OK,     FORBID, FORBID, NF,     FORBID, FORBID, OK,     FORBID),
    # Staff tools (docs/staff-tools.md): admins only. A's subscription is active, so a trial
    # extension is refused to the admin with a typed code, and its push has not failed.
    "subscriptionCompSeatsSet":
                        row(UNAUTH, FORBID, FORBID, FORBID, FORBID, FORBID, FORBID, OK,     FORBID),
    "subscriptionExtend":
                        row(UNAUTH, FORBID, FORBID, FORBID, FORBID, FORBID, FORBID, SNA,    FORBID),
    "subscriptionTermEndChange":
                        row(UNAUTH, FORBID, FORBID, FORBID, FORBID, FORBID, FORBID, OK,     FORBID),
    "subscriptionProvisioningRetry":
                        row(UNAUTH, FORBID, FORBID, FORBID, FORBID, FORBID, FORBID, PNF,    FORBID),
    "licenseReissue":   row(UNAUTH, FORBID, FORBID, FORBID, FORBID, FORBID, FORBID, OK,     FORBID),
    "licenseResend":    row(UNAUTH, FORBID, FORBID, FORBID, FORBID, FORBID, FORBID, OK,     FORBID),
    "customerReadOnlyViewStart":
                        row(UNAUTH, FORBID, FORBID, FORBID, FORBID, FORBID, FORBID, OK,     FORBID),
    # The offline license file: staff and the customer's owners.
    "licenseOfflineFileCreate":
                        row(UNAUTH, OK,     FORBID, FORBID, NF,     FORBID, FORBID, OK,     FORBID),
    # Usage comes from the product's service token only.
    "seatUsageReport":  row(UNAUTH, FORBID, FORBID, FORBID, FORBID, FORBID, FORBID, FORBID, OK),
    "computeUsageReport":
                        row(UNAUTH, FORBID, FORBID, FORBID, FORBID, FORBID, FORBID, FORBID, OK),
}
# fmt: on

# Known access bugs: (row, principal) -> reason. Such a cell keeps the expectation above and
# runs as a strict xfail, so it turns red once the bug is fixed (then delete the entry).
KNOWN_BUGS: dict[tuple[str, str], str] = {}


# --- one operation per row ------------------------------------------------------------------

Vars = Callable[[MatrixWorld, Tenant], dict[str, Any]]
Prepare = Callable[[Api, MatrixWorld, Tenant], Awaitable[dict[str, Any]]]
Check = Callable[[MatrixWorld, Tenant], Classify]

# Mutation documents carry these markers where a `reason` goes; it is passed (by everyone)
# only if the live schema's field takes one, so admins can give the reason they need.
REASON_VAR, REASON_ARG = "__REASON_VAR__", "__REASON_ARG__"


@dataclass(frozen=True)
class Op:
    document: str
    variables: Vars
    check: Check
    tenant: str = "A"
    writes: bool = False  # a successful call changes rows
    prepare: Prepare | None = None  # more variables, from calls made before the snapshot


def _nothing(world: MatrixWorld, target: Tenant) -> dict[str, Any]:
    return {}


def _present(value: Any) -> str:
    return NULL if value is None else OK


def _seat_holders(value: Any) -> str:
    if value is None:
        return NULL
    expected = {"availableSeats": 4, "assignments": {"nodes": [{"userId": HELD_SEAT}]}}
    return OK if value == expected else f"wrong holders {value!r}"


def _not_empty(value: Any) -> str:
    return OK if value else EMPTY


def _object_ids(target: Tenant) -> list[str]:
    return [
        gid("Subscription", target.subscription),
        gid("Customer", target.customer),
        gid("Invoice", target.invoice),
        gid("AddOnPurchase", target.add_on),
        gid("Deployment", target.deployment),
    ]


def _activation_code(expected: str) -> Classify:
    """The subscription's license: its code (OK), or the code withheld (HIDDEN)."""

    def classify(value: Any) -> str:
        if value is None:
            return NULL
        code = value["license"]["activationCode"]
        return HIDDEN if code is None else OK if code == expected else f"wrong code {code!r}"

    return classify


def _history(expected: list[dict[str, Any]], address: dict[str, str]) -> Classify:
    """The subscription's history (exactly the seeded change, its actor named safely) and
    its paying account's address: both (OK), or the history and no account (GONE)."""

    def classify(value: Any) -> str:
        if value is None:
            return NULL
        found = value["history"]["nodes"]
        if found != expected:
            return f"wrong history {found!r}"
        account = value["billingAccount"]
        if account is None:
            return GONE
        wanted = {"city": address["billing_city"], "country": address["billing_country"]}
        return OK if account["billingAddress"] == wanted else f"wrong address {account!r}"

    return classify


def _quote_tax(rate_ppm: int, percent: str, country: str) -> Classify:
    """The quote for one more seat, each line taxed at the buyer country's VAT rate (rounded
    half up), the tax the lines' sum and the total subtotal + tax."""

    def check(value: Any) -> bool:
        [line] = value["lines"]
        amount = int(line["amount"]["amount"])
        tax = round_half_up(amount * rate_ppm, 1_000_000)
        wanted = {
            "treatment": "VAT",
            "ratePercent": percent,
            "amount": {"amount": str(tax)},
            "note": f"VAT {percent}% ({country})",
        }
        totals = (value["subtotal"], value["tax"], value["total"])
        return (
            amount > 0
            and line["tax"] == wanted
            and totals
            == (
                {"amount": str(amount)},
                {"amount": str(tax)},
                {"amount": str(amount + tax)},
            )
        )

    return result("Quote", check)


def _invoice_tax(target: Tenant) -> Classify:
    """The invoice (written untaxed by the factory) with each line's tax: none."""

    def classify(value: Any) -> str:
        if value is None:
            return NULL
        untaxed = {"treatment": "NOT_TAXED", "ratePercent": "0", "amount": {"amount": "0"}}
        lines_ok = value["lines"] and all(
            line["tax"] == {**untaxed, "note": None} for line in value["lines"]
        )
        right = value["id"] == gid("Invoice", target.invoice) and value["tax"] == {"amount": "0"}
        return OK if right and lines_ok else f"wrong invoice tax {value!r}"

    return classify


def _add_seat(world: MatrixWorld, target: Tenant) -> dict[str, Any]:
    return {
        "subscriptionId": gid("Subscription", target.subscription),
        "actions": [{"addSeats": {"seats": 1}}],
    }


async def _quoted(api: Api, world: MatrixWorld, target: Tenant) -> dict[str, Any]:
    """`$token`: the admin's quote for one more seat on the target subscription."""
    variables: dict[str, Any] = {"input": _add_seat(world, target)}
    if takes_reason("orderQuote"):
        variables["reason"] = REASON
    data = await api.data(document_for("orderQuote"), variables, token=world.tokens["admin"])
    assert data["orderQuote"]["__typename"] == "Quote", data
    return {"token": data["orderQuote"]["token"]}


async def _subscriber(api: Api, world: MatrixWorld, target: Tenant) -> dict[str, Any]:
    """`$id`: a subscriber the admin registered."""
    variables = {"input": SUBSCRIBER_INPUT, "reason": REASON}
    data = await api.data(
        document_for("integrationSubscriberCreate"), variables, token=world.tokens["admin"]
    )
    return {"id": data["integrationSubscriberCreate"]["subscriber"]["id"]}


async def _promotion(api: Api, world: MatrixWorld, target: Tenant) -> dict[str, Any]:
    """`$id`: a promo code the admin created."""
    variables = {"input": PROMOTION_INPUT, "reason": REASON}
    data = await api.data(PROMOTION_CREATE, variables, token=world.tokens["admin"])
    return {"id": data["promotionCreate"]["promotion"]["id"]}


async def _event(api: Api, world: MatrixWorld, target: Tenant) -> dict[str, Any]:
    """`$event`: the event of an order the admin placed, told to a subscriber."""
    subscriber = await _subscriber(api, world, target)
    quoted = await _quoted(api, world, target)
    variables = {"key": "matrix-event-order", **quoted, "reason": REASON}
    await api.data(document_for("orderPlace"), variables, token=world.tokens["admin"])
    data = await api.data(
        "query($id: ID!) { integrationDeliveries(subscriberId: $id) { nodes { event { id } } } }",
        subscriber,
        token=world.tokens["admin"],
    )
    return {"event": data["integrationDeliveries"]["nodes"][0]["event"]["id"]}


async def _paid_invoice(api: Api, world: MatrixWorld, target: Tenant) -> dict[str, Any]:
    """The target invoice paid by the admin first, so there is money to give back."""
    variables = {
        "input": {"invoiceId": gid("Invoice", target.invoice), "idempotencyKey": "matrix-paid"},
        "reason": REASON,
    }
    data = await api.data(document_for("invoicePay"), variables, token=world.tokens["admin"])
    assert data["invoicePay"]["__typename"] == "InvoicePayPayload", data
    return {}


def _credit_notes(expected_id: str) -> Classify:
    def classify(value: Any) -> str:
        if value is None:
            return NULL
        shown = {"amountCredited": {"amount": "0"}, "creditNotes": [], "id": expected_id}
        return OK if value == shown else f"wrong credit notes {value!r}"

    return classify


def _past_due(expected_id: str) -> Classify:
    """The subscription's open invoice, due 2026-01-31, is past due on the test's day."""

    def classify(value: Any) -> str:
        if value is None:
            return NULL
        late = {"id": expected_id, "dunning": {"status": "PAST_DUE", "attempts": 0}}
        return OK if value == late else f"wrong {value!r}"

    return classify


async def _activated(api: Api, world: MatrixWorld, target: Tenant) -> dict[str, Any]:
    """`$key`: the license key of A's instance, activated (with its code, no bearer) first."""
    variables = {"code": world.license_a.activation_code, "instance": INSTANCE}
    data = await api.data(LICENSE_ACTIVATE, variables)
    assert data["licenseActivate"]["__typename"] == "LicenseActivatePayload", data
    return {"key": data["licenseActivate"]["licenseKey"]}


def _drift(seeded: bool) -> Classify:
    """The subscription's open findings (OK: the one seeded on A's, none on P's), or
    withheld (HIDDEN)."""

    def classify(value: Any) -> str:
        if value is None:
            return NULL
        if value["drift"] is None:
            return HIDDEN
        fields = [finding["field"] for finding in value["drift"]]
        if not seeded:
            return OK if fields == [] else f"{fields!r}"
        return OK if len(fields) == 1 and fields[0].startswith("invoice.total:") else f"{fields!r}"

    return classify


def _one_task(world: MatrixWorld) -> Classify:
    def classify(value: Any) -> str:
        ids = [task["id"] for task in value]
        return OK if ids == [to_global_id("AdminTask", world.task_a)] else f"{ids!r}"

    return classify


NODE = "query($id: ID!) { node(id: $id) { id } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
SEAT_HOLDERS = """query($id: ID!) { node(id: $id) { ... on AddOnPurchase {
  availableSeats assignments(first: 5) { nodes { userId } } } } }"""
CUSTOMERS = "query($s: String!) { customers(first: 10, search: $s) { nodes { id } } }"
CUSTOMER = "query($id: ID!) { customer(id: $id) { id } }"
SUBSCRIPTIONS = """query($c: ID!) {
  subscriptions(first: 10, filter: {customerId: $c}) { nodes { id } } }"""
SUBSCRIPTION_BY_ID = "query($id: ID!) { subscription(id: $id) { id } }"
ACTIVATION_CODE = "query($id: ID!) { subscription(id: $id) { license { activationCode } } }"
HISTORY = """query($id: ID!) { subscription(id: $id) {
  history(first: 10) { nodes { kind action actor { kind name } } }
  billingAccount { billingAddress { city country } } } }"""
DRIFT = "query($id: ID!) { subscription(id: $id) { drift { field } } }"
ADMIN_TASKS = "{ adminTasks { id kind status subscription { id } } }"
TASK_RESOLVE = """mutation($id: ID!, $reason: String!) {
  adminTaskResolve(id: $id, reason: $reason) {
    __typename ... on AdminTaskResolvePayload { adminTask { status resolution } }
    ... on UserError { code } } }"""
RESYNC = """mutation($id: ID!, $reason: String!) {
  subscriptionResync(id: $id, reason: $reason) {
    __typename ... on SubscriptionResyncPayload { subscription { syncStatus } }
    ... on UserError { code } } }"""
PROMOTIONS = "{ promotions(first: 10, filter: {active: true}) { nodes { id redemptionsLeft } } }"
PROMOTION_CREATE = """mutation($input: PromotionCreateInput!, $reason: String!) {
  promotionCreate(input: $input, reason: $reason) {
    __typename ... on PromotionPayload { promotion { id code } } ... on UserError { code } } }"""
PROMOTION_EXPIRE = """mutation($id: ID!, $reason: String!) {
  promotionExpire(id: $id, reason: $reason) {
    __typename ... on PromotionPayload { promotion { active } } ... on UserError { code } } }"""
PROMOTION_INPUT = {"code": "matrix10", "percentOff": 10, "maxRedemptions": 5}
INVOICES = "query($c: ID!) { invoices(first: 10, filter: {customerId: $c}) { nodes { id } } }"
INVOICE = "query($id: ID!) { invoice(id: $id) { id } }"
INVOICE_TAX = """query($id: ID!) { invoice(id: $id) { id tax { amount }
  lines { amount { amount } tax { treatment ratePercent amount { amount } note } } } }"""
QUOTE_TAX = """mutation($input: OrderInput! __REASON_VAR__) {
  orderQuote(input: $input __REASON_ARG__) {
    __typename
    ... on Quote { subtotal { amount } tax { amount } total { amount }
      lines { amount { amount } tax { treatment ratePercent amount { amount } note } } }
    ... on UserError { code } } }"""

CUSTOMER_MEMBERS = "query($id: ID!) { customer(id: $id) { id members { role } } }"
MEMBER_INVITE = """mutation($input: CustomerMemberInviteInput! __REASON_VAR__) {
  customerMemberInvite(input: $input __REASON_ARG__) {
    __typename ... on CustomerMemberPayload { member { user { externalId } role } }
    ... on UserError { code } } }"""
MEMBER_ROLE_CHANGE = """mutation($input: CustomerMemberRoleChangeInput! __REASON_VAR__) {
  customerMemberRoleChange(input: $input __REASON_ARG__) {
    __typename ... on CustomerMemberPayload { member { user { externalId } role } }
    ... on UserError { code } } }"""
MEMBER_REMOVE = """mutation($input: CustomerMemberRemoveInput! __REASON_VAR__) {
  customerMemberRemove(input: $input __REASON_ARG__) {
    __typename ... on CustomerMemberRemovePayload { removedExternalId }
    ... on UserError { code } } }"""
QUOTE = """mutation($input: OrderInput! __REASON_VAR__) {
  orderQuote(input: $input __REASON_ARG__) {
    __typename ... on Quote { token total { amount } } ... on UserError { code } } }"""
PLACE = """mutation($token: String!, $key: String! __REASON_VAR__) {
  orderPlace(quoteToken: $token, idempotencyKey: $key __REASON_ARG__) {
    __typename ... on OrderPlacePayload { order { status } } ... on UserError { code } } }"""
TRIAL = """mutation($input: TrialStartInput! __REASON_VAR__) {
  trialStart(input: $input __REASON_ARG__) {
    __typename ... on TrialStartPayload { subscription { status } } ... on UserError { code } } }"""
AUTO_RENEW = """mutation($id: ID!, $on: Boolean! __REASON_VAR__) {
  subscriptionSetAutoRenew(id: $id, autoRenew: $on __REASON_ARG__) {
    __typename ... on SubscriptionSetAutoRenewPayload { subscription { autoRenew } }
    ... on UserError { code } } }"""
CANCEL_PENDING = """mutation($id: ID! __REASON_VAR__) {
  subscriptionCancelPendingChange(id: $id __REASON_ARG__) {
    __typename ... on SubscriptionCancelPendingChangePayload {
      subscription { pendingChange { effectiveOn } } }
    ... on UserError { code } } }"""
SEAT_ASSIGN = """mutation($id: ID!, $users: [String!]! __REASON_VAR__) {
  addOnSeatAssign(addOnPurchaseId: $id, userIds: $users __REASON_ARG__) {
    __typename ... on AddOnSeatAssignPayload { assignedUserIds } ... on UserError { code } } }"""
SEAT_UNASSIGN = """mutation($id: ID!, $users: [String!]! __REASON_VAR__) {
  addOnSeatUnassign(addOnPurchaseId: $id, userIds: $users __REASON_ARG__) {
    __typename ... on AddOnSeatUnassignPayload { assignedUserIds } ... on UserError { code } } }"""
SET_PAYMENT_METHOD = """mutation($input: BillingAccountSetPaymentMethodInput! __REASON_VAR__) {
  billingAccountSetPaymentMethod(input: $input __REASON_ARG__) {
    __typename ... on BillingAccountSetPaymentMethodPayload { billingAccount { paymentMethod } }
    ... on UserError { code } } }"""
INVOICE_PAY = """mutation($input: InvoicePayInput! __REASON_VAR__) {
  invoicePay(input: $input __REASON_ARG__) {
    __typename ... on InvoicePayPayload { invoice { status amountDue { amount } } }
    ... on UserError { code } } }"""
CREDIT_NOTES = """query($id: ID!) {
  invoice(id: $id) { id amountCredited { amount } creditNotes { number } } }"""
DUNNING = """query($id: ID!) {
  subscription(id: $id) { id dunning { status attempts } } }"""
CREDIT_NOTE_CREATE = """mutation($input: CreditNoteCreateInput!, $reason: String!) {
  creditNoteCreate(input: $input, reason: $reason) {
    __typename ... on CreditNoteCreatePayload {
      creditNote { kind status amount { amount } } invoice { amountCredited { amount } } }
    ... on UserError { code } } }"""
INVOICE_VOID = """mutation($id: ID!, $reason: String!) {
  invoiceVoid(invoiceId: $id, reason: $reason) {
    __typename ... on InvoiceVoidPayload { invoice { status } } ... on UserError { code } } }"""
LICENSE_ACTIVATE = """mutation($code: String!, $instance: String!) {
  licenseActivate(activationCode: $code, instanceId: $instance) {
    __typename ... on LicenseActivatePayload { licenseKey license { instanceId } }
    ... on UserError { code } } }"""
MARK_READ = """mutation($ids: [ID!]) {
  notificationsMarkRead(ids: $ids) {
    __typename ... on NotificationsMarkReadPayload { marked } ... on UserError { code } } }"""
SUBSCRIBER_CREATE = """mutation($input: IntegrationSubscriberCreateInput! __REASON_VAR__) {
  integrationSubscriberCreate(input: $input __REASON_ARG__) {
    __typename ... on IntegrationSubscriberCreatePayload { secret subscriber { id } }
    ... on UserError { code } } }"""
SUBSCRIBER_UPDATE = """mutation($id: ID! __REASON_VAR__) {
  integrationSubscriberUpdate(id: $id, input: {name: "renamed"} __REASON_ARG__) {
    __typename ... on IntegrationSubscriberPayload { subscriber { name } }
    ... on UserError { code } } }"""
SUBSCRIBER_DEACTIVATE = """mutation($id: ID! __REASON_VAR__) {
  integrationSubscriberDeactivate(id: $id __REASON_ARG__) {
    __typename ... on IntegrationSubscriberPayload { subscriber { active } }
    ... on UserError { code } } }"""
EVENT_REDELIVER = """mutation($event: ID! __REASON_VAR__) {
  integrationEventRedeliver(eventId: $event __REASON_ARG__) {
    __typename ... on IntegrationEventRedeliverPayload { queued }
    ... on UserError { code } } }"""
SUBSCRIBER_INPUT = {"name": "Warehouse", "url": "https://dwh.example/hooks"}
CLOCK = """mutation($to: DateTime! __REASON_VAR__) {
  testClockAdvance(to: $to __REASON_ARG__) {
    __typename ... on TestClockAdvancePayload { now } ... on UserError { code } } }"""
SEAT_REPORT = """mutation($d: String!) {
  seatUsageReport(deployment: $d, billableUsers: 3, reportedAt: "2026-05-31T10:00:00Z") {
    __typename ... on SeatUsageReportPayload { recorded day { billableUsers } }
    ... on UserError { code } } }"""
COMPUTE_REPORT = """mutation($d: String!) {
  computeUsageReport(deployment: $d, eventId: "matrix-event-1", minutes: 25) {
    __typename ... on ComputeUsageReportPayload { duplicate event { minutes } }
    ... on UserError { code } } }"""
LICENSE_SYNC = """mutation($key: String!) {
  licenseSync(licenseKey: $key, billableUsers: 3, maxHistoricalUsers: 4) {
    __typename ... on LicenseSyncPayload { license { billableUsers } }
    ... on UserError { code } } }"""


COMP_SEATS = """mutation($id: ID!, $reason: String!) {
  subscriptionCompSeatsSet(id: $id, compSeats: 2, reason: $reason) {
    __typename ... on SubscriptionCompSeatsSetPayload { subscription { compSeats seats } }
    ... on UserError { code } } }"""
EXTEND = """mutation($id: ID!, $reason: String!) {
  subscriptionExtend(id: $id, kind: TRIAL, days: 7, reason: $reason) {
    __typename ... on SubscriptionExtendPayload { subscription { termEnd } }
    ... on UserError { code } } }"""
TERM_END = """mutation($id: ID!, $reason: String!) {
  subscriptionTermEndChange(id: $id, termEnd: "2027-02-01", reason: $reason) {
    __typename ... on SubscriptionTermEndChangePayload { subscription { termEnd } }
    ... on UserError { code } } }"""
PROVISIONING_RETRY = """mutation($id: ID!, $reason: String!) {
  subscriptionProvisioningRetry(id: $id, reason: $reason) {
    __typename ... on SubscriptionProvisioningRetryPayload { subscription { provisioningStatus } }
    ... on UserError { code } } }"""
LICENSE_REISSUE = """mutation($id: ID!, $reason: String!) {
  licenseReissue(subscriptionId: $id, reason: $reason) {
    __typename ... on LicenseReissuePayload { license { activated activationCode } }
    ... on UserError { code } } }"""
LICENSE_RESEND = """mutation($id: ID!, $reason: String!) {
  licenseResend(subscriptionId: $id, reason: $reason) {
    __typename ... on LicenseResendPayload { recipients } ... on UserError { code } } }"""
OFFLINE_FILE = """mutation($id: ID! __REASON_VAR__) {
  licenseOfflineFileCreate(subscriptionId: $id __REASON_ARG__) {
    __typename ... on LicenseOfflineFilePayload { instanceId content }
    ... on UserError { code } } }"""
READ_ONLY_VIEW = """mutation($id: ID!, $reason: String!) {
  customerReadOnlyViewStart(customerId: $id, reason: $reason) {
    __typename ... on CustomerReadOnlyViewStartPayload { token customer { id } }
    ... on UserError { code } } }"""


def _staff_tools() -> dict[str, Op]:
    def sub(w: MatrixWorld, t: Tenant) -> dict[str, Any]:
        return {"id": gid("Subscription", t.subscription)}

    return {
        "subscriptionCompSeatsSet": Op(
            COMP_SEATS,
            sub,
            lambda w, t: result(
                "SubscriptionCompSeatsSetPayload",
                lambda v: v["subscription"] == {"compSeats": 2, "seats": 10},
            ),
            writes=True,
        ),
        "subscriptionExtend": Op(
            EXTEND,
            sub,
            lambda w, t: result("SubscriptionExtendPayload", lambda v: False),
            writes=True,
        ),
        "subscriptionTermEndChange": Op(
            TERM_END,
            sub,
            lambda w, t: result(
                "SubscriptionTermEndChangePayload",
                lambda v: v["subscription"]["termEnd"] == "2027-02-01",
            ),
            writes=True,
        ),
        "subscriptionProvisioningRetry": Op(
            PROVISIONING_RETRY,
            sub,
            lambda w, t: result("SubscriptionProvisioningRetryPayload", lambda v: False),
            writes=True,
        ),
        "licenseReissue": Op(
            LICENSE_REISSUE,
            sub,
            lambda w, t: result(
                "LicenseReissuePayload",
                lambda v: (
                    v["license"]["activated"] is False
                    and v["license"]["activationCode"] not in (None, w.license_a.activation_code)
                ),
            ),
            writes=True,
        ),
        "licenseResend": Op(
            LICENSE_RESEND,
            sub,
            lambda w, t: result("LicenseResendPayload", lambda v: v["recipients"] == 2),
            writes=True,
        ),
        "licenseOfflineFileCreate": Op(
            OFFLINE_FILE,
            sub,
            lambda w, t: result(
                "LicenseOfflineFilePayload",
                lambda v: (
                    v["instanceId"] == t.deployment.external_id
                    and "BEGIN OFFLINE LICENSE" in v["content"]
                ),
            ),
            writes=True,
        ),
        "customerReadOnlyViewStart": Op(
            READ_ONLY_VIEW,
            lambda w, t: {"id": gid("Customer", t.customer)},
            lambda w, t: result(
                "CustomerReadOnlyViewStartPayload",
                lambda v: (
                    v["token"].startswith("fsv_")
                    and v["customer"]["id"] == gid("Customer", t.customer)
                ),
            ),
            writes=True,
        ),
    }


def _reads(tenant: str) -> dict[str, Op]:
    """The read rows aimed at one tenant's objects (suffix `@P` for P)."""
    at = "" if tenant == "A" else f"@{tenant}"
    return {
        f"nodes{at}": Op(
            NODES,
            lambda w, t: {"ids": _object_ids(t)},
            lambda w, t: node_list(_object_ids(t)),
            tenant,
        ),
        f"customers{at}": Op(
            CUSTOMERS,
            lambda w, t: {"s": t.customer.name},
            lambda w, t: listing([gid("Customer", t.customer)]),
            tenant,
        ),
        f"customer{at}": Op(
            CUSTOMER,
            lambda w, t: {"id": gid("Customer", t.customer)},
            lambda w, t: single(gid("Customer", t.customer)),
            tenant,
        ),
        f"subscriptions{at}": Op(
            SUBSCRIPTIONS,
            lambda w, t: {"c": gid("Customer", t.customer)},
            lambda w, t: listing([gid("Subscription", t.subscription)]),
            tenant,
        ),
        f"invoices{at}": Op(
            INVOICES,
            lambda w, t: {"c": gid("Customer", t.customer)},
            lambda w, t: listing([gid("Invoice", invoice) for invoice in t.invoices]),
            tenant,
        ),
        f"invoice{at}": Op(
            INVOICE,
            lambda w, t: {"id": gid("Invoice", t.invoice)},
            lambda w, t: single(gid("Invoice", t.invoice)),
            tenant,
        ),
        f"invoice@creditNotes{tenant if at else ''}": Op(
            CREDIT_NOTES,
            lambda w, t: {"id": gid("Invoice", t.invoice)},
            lambda w, t: _credit_notes(gid("Invoice", t.invoice)),
            tenant,
        ),
        f"subscription@dunning{tenant if at else ''}": Op(
            DUNNING,
            lambda w, t: {"id": gid("Subscription", t.subscription)},
            lambda w, t: _past_due(gid("Subscription", t.subscription)),
            tenant,
        ),
    }


def _members_of(value: Any) -> str:
    """The customer with its members (OK: the three member principals and the seat holder
    NEW_SEAT, by role), or the members withheld (HIDDEN)."""
    if value is None:
        return NULL
    if value["members"] is None:
        return HIDDEN
    roles = sorted(member["role"] for member in value["members"])
    return OK if roles == ["BILLING_ADMIN", "OWNER", "VIEWER", "VIEWER"] else f"{roles!r}"


def _member(external_id: str, role: str) -> Classify:
    return result(
        "CustomerMemberPayload",
        lambda v: v["member"] == {"user": {"externalId": external_id}, "role": role},
    )


NEW_CUSTOMER_INPUT = {
    "name": "Matrix Newco",
    "soldTo": {"name": "Nina New", "email": "nina@newco.example"},
    "billingAddress": {"country": "DE", "city": "Berlin"},
    "vatId": "DE123456789",
}


def _writes(tenant: str) -> dict[str, Op]:
    """The mutation rows aimed at one tenant's objects (suffix `@P` for P)."""
    at = "" if tenant == "A" else f"@{tenant}"
    return {
        f"orderQuote{at}": Op(
            QUOTE,
            lambda w, t: {"input": _add_seat(w, t)},
            lambda w, t: result("Quote", lambda v: int(v["total"]["amount"]) > 0),
            tenant,
        ),
        f"orderPlace{at}": Op(
            PLACE,
            lambda w, t: {"key": "matrix-order-1"},
            lambda w, t: result("OrderPlacePayload", lambda v: v["order"]["status"] == "COMPLETED"),
            tenant,
            writes=True,
            prepare=_quoted,
        ),
        f"trialStart{at}": Op(
            TRIAL,
            lambda w, t: {
                "input": {
                    "customerId": gid("Customer", t.customer),
                    "deployment": {"externalId": TRIAL_NAMESPACE},
                }
            },
            lambda w, t: result(
                "TrialStartPayload", lambda v: v["subscription"]["status"] == "TRIAL"
            ),
            tenant,
            writes=True,
        ),
        f"subscriptionSetAutoRenew{at}": Op(
            AUTO_RENEW,
            lambda w, t: {"id": gid("Subscription", t.subscription), "on": False},
            lambda w, t: result(
                "SubscriptionSetAutoRenewPayload",
                lambda v: v["subscription"]["autoRenew"] is False,
            ),
            tenant,
            writes=True,
        ),
        f"subscriptionCancelPendingChange{at}": Op(
            CANCEL_PENDING,
            lambda w, t: {"id": gid("Subscription", t.subscription)},
            lambda w, t: result(
                "SubscriptionCancelPendingChangePayload",
                lambda v: v["subscription"]["pendingChange"] is None,
            ),
            tenant,
            writes=True,
        ),
        f"billingAccountSetPaymentMethod{at}": Op(
            SET_PAYMENT_METHOD,
            lambda w, t: {
                "input": {
                    "billingAccountId": to_global_id(
                        "BillingAccount", t.subscription.billing_account_id
                    ),
                    "paymentMethodToken": "pm_card_mastercard",
                    "idempotencyKey": "matrix-card-1",
                }
            },
            lambda w, t: result(
                "BillingAccountSetPaymentMethodPayload",
                lambda v: v["billingAccount"]["paymentMethod"] == "pm_card_mastercard",
            ),
            tenant,
            writes=True,
        ),
        f"invoicePay{at}": Op(
            INVOICE_PAY,
            lambda w, t: {
                "input": {"invoiceId": gid("Invoice", t.invoice), "idempotencyKey": "matrix-pay-1"}
            },
            lambda w, t: result(
                "InvoicePayPayload",
                lambda v: v["invoice"] == {"status": "PAID", "amountDue": {"amount": "0"}},
            ),
            tenant,
            writes=True,
        ),
        f"addOnSeatAssign{at}": Op(
            SEAT_ASSIGN,
            lambda w, t: {"id": gid("AddOnPurchase", t.add_on), "users": [NEW_SEAT]},
            lambda w, t: result(
                "AddOnSeatAssignPayload", lambda v: v["assignedUserIds"] == [HELD_SEAT, NEW_SEAT]
            ),
            tenant,
            writes=True,
        ),
        f"addOnSeatUnassign{at}": Op(
            SEAT_UNASSIGN,
            lambda w, t: {"id": gid("AddOnPurchase", t.add_on), "users": [HELD_SEAT]},
            lambda w, t: result("AddOnSeatUnassignPayload", lambda v: v["assignedUserIds"] == []),
            tenant,
            writes=True,
        ),
    }


OPERATIONS: dict[str, Op] = {
    "viewer": Op("{ viewer { kind name } }", _nothing, lambda w, t: _present),
    "node": Op(
        NODE,
        lambda w, t: {"id": gid("Subscription", t.subscription)},
        lambda w, t: single(gid("Subscription", t.subscription)),
    ),
    "node@P": Op(
        NODE,
        lambda w, t: {"id": gid("AddOnPurchase", t.add_on)},
        lambda w, t: single(gid("AddOnPurchase", t.add_on)),
        "P",
    ),
    **{
        f"node@seatHolders{at}": Op(
            SEAT_HOLDERS,
            lambda w, t: {"id": gid("AddOnPurchase", t.add_on)},
            lambda w, t: _seat_holders,
            tenant,
        )
        for at, tenant in (("", "A"), ("P", "P"))
    },
    "products": Op("{ products { id } }", _nothing, lambda w, t: _not_empty),
    "subscription": Op(
        "query($n: String!) { subscription(number: $n) { id } }",
        lambda w, t: {"n": t.subscription.number},
        lambda w, t: single(gid("Subscription", t.subscription)),
    ),
    "subscription@P": Op(
        SUBSCRIPTION_BY_ID,
        lambda w, t: {"id": gid("Subscription", t.subscription)},
        lambda w, t: single(gid("Subscription", t.subscription)),
        "P",
    ),
    "subscription@deployment": Op(
        "query($d: String!) { subscription(deployment: $d) { id } }",
        lambda w, t: {"d": t.deployment.external_id},
        lambda w, t: single(gid("Subscription", t.subscription)),
    ),
    "subscription@code": Op(
        ACTIVATION_CODE,
        lambda w, t: {"id": gid("Subscription", t.subscription)},
        lambda w, t: _activation_code(w.license_a.activation_code),
    ),
    "subscription@codeP": Op(
        ACTIVATION_CODE,
        lambda w, t: {"id": gid("Subscription", t.subscription)},
        lambda w, t: _activation_code(w.license_p.activation_code),
        "P",
    ),
    "subscription@history": Op(
        HISTORY,
        lambda w, t: {"id": gid("Subscription", t.subscription)},
        lambda w, t: _history(
            [
                {
                    "kind": "CHANGE",
                    "action": "subscription.auto_renew_changed",
                    "actor": {"kind": "STAFF", "name": "staff"},
                }
            ],
            ADDRESS_A,
        ),
    ),
    "subscription@historyP": Op(
        HISTORY,
        lambda w, t: {"id": gid("Subscription", t.subscription)},
        lambda w, t: _history(
            [
                {
                    "kind": "CHANGE",
                    "action": "subscription.grace_started",
                    "actor": {"kind": "SYSTEM", "name": "system"},
                }
            ],
            ADDRESS_P,
        ),
        "P",
    ),
    **{
        f"orderQuote@tax{at}": Op(
            QUOTE_TAX,
            lambda w, t: {"input": _add_seat(w, t)},
            check,
            tenant,
        )
        for at, tenant, check in (
            ("", "A", lambda w, t: _quote_tax(190_000, "19", "DE")),
            ("P", "P", lambda w, t: _quote_tax(210_000, "21", "NL")),
        )
    },
    **{
        f"invoice@tax{at}": Op(
            INVOICE_TAX,
            lambda w, t: {"id": gid("Invoice", t.invoice)},
            lambda w, t: _invoice_tax(t),
            tenant,
        )
        for at, tenant in (("", "A"), ("P", "P"))
    },
    "subscription@drift": Op(
        DRIFT, lambda w, t: {"id": gid("Subscription", t.subscription)}, lambda w, t: _drift(True)
    ),
    "subscription@driftP": Op(
        DRIFT,
        lambda w, t: {"id": gid("Subscription", t.subscription)},
        lambda w, t: _drift(False),
        "P",
    ),
    **{
        f"customer@members{at}": Op(
            CUSTOMER_MEMBERS,
            lambda w, t: {"id": gid("Customer", t.customer)},
            lambda w, t: _members_of,
            tenant,
        )
        for at, tenant in (("", "A"), ("P", "P"))
    },
    "orderQuote@newCustomer": Op(
        QUOTE,
        lambda w, t: {
            "input": {
                "newCustomer": NEW_CUSTOMER_INPUT,
                "actions": [
                    {
                        "createSubscription": {
                            "plan": "premium",
                            "seats": 5,
                            "deployment": {"externalId": "matrix-newco-ns"},
                        }
                    }
                ],
            }
        },
        lambda w, t: result("Quote", lambda v: int(v["total"]["amount"]) == 174_000),
    ),
    "customerMemberInvite": Op(
        MEMBER_INVITE,
        lambda w, t: {
            "input": {
                "customerId": gid("Customer", t.customer),
                "externalId": "matrix-invitee",
                "role": "VIEWER",
                "email": "invitee@matrix.example",
            }
        },
        lambda w, t: _member("matrix-invitee", "VIEWER"),
        writes=True,
    ),
    "customerMemberRoleChange": Op(
        MEMBER_ROLE_CHANGE,
        lambda w, t: {
            "input": {
                "customerId": gid("Customer", t.customer),
                "externalId": NEW_SEAT,
                "role": "BILLING_ADMIN",
            }
        },
        lambda w, t: _member(NEW_SEAT, "BILLING_ADMIN"),
        writes=True,
    ),
    "customerMemberRemove": Op(
        MEMBER_REMOVE,
        lambda w, t: {"input": {"customerId": gid("Customer", t.customer), "externalId": NEW_SEAT}},
        lambda w, t: result(
            "CustomerMemberRemovePayload", lambda v: v["removedExternalId"] == NEW_SEAT
        ),
        writes=True,
    ),
    "adminTasks": Op(ADMIN_TASKS, _nothing, lambda w, t: _one_task(w)),
    "adminTaskResolve": Op(
        TASK_RESOLVE,
        lambda w, t: {"id": to_global_id("AdminTask", w.task_a)},
        lambda w, t: result(
            "AdminTaskResolvePayload",
            lambda v: v["adminTask"] == {"status": "RESOLVED", "resolution": REASON},
        ),
        writes=True,
    ),
    "promotions": Op(
        PROMOTIONS,
        _nothing,
        lambda w, t: lambda v: OK if [n["redemptionsLeft"] for n in v["nodes"]] == [5] else EMPTY,
        prepare=_promotion,
    ),
    "promotionCreate": Op(
        PROMOTION_CREATE,
        lambda w, t: {"input": PROMOTION_INPUT},
        lambda w, t: result("PromotionPayload", lambda v: v["promotion"]["code"] == "MATRIX10"),
        writes=True,
    ),
    "promotionExpire": Op(
        PROMOTION_EXPIRE,
        _nothing,
        lambda w, t: result("PromotionPayload", lambda v: v["promotion"]["active"] is False),
        writes=True,
        prepare=_promotion,
    ),
    "creditNoteCreate": Op(
        CREDIT_NOTE_CREATE,
        lambda w, t: {
            "input": {
                "invoiceId": gid("Invoice", t.invoice),
                "kind": "REFUND",
                "reason": "GOODWILL",
                "currency": "USD",
                "amount": "1000",
                "idempotencyKey": "matrix-credit-1",
            }
        },
        lambda w, t: result(
            "CreditNoteCreatePayload",
            lambda v: (
                v
                == {
                    "__typename": "CreditNoteCreatePayload",
                    "creditNote": {
                        "kind": "REFUND",
                        "status": "ISSUED",
                        "amount": {"amount": "1000"},
                    },
                    "invoice": {"amountCredited": {"amount": "1000"}},
                }
            ),
        ),
        writes=True,
        prepare=_paid_invoice,
    ),
    "invoiceVoid": Op(
        INVOICE_VOID,
        lambda w, t: {"id": gid("Invoice", t.invoice)},
        lambda w, t: result("InvoiceVoidPayload", lambda v: v["invoice"]["status"] == "VOID"),
        writes=True,
    ),
    "subscriptionResync": Op(
        RESYNC,
        lambda w, t: {"id": gid("Subscription", t.subscription)},
        lambda w, t: result(
            "SubscriptionResyncPayload", lambda v: v["subscription"]["syncStatus"] == "PENDING"
        ),
        writes=True,
    ),
    "auditEvents": Op(
        "query($t: ID!) { auditEvents(first: 10, filter: {targetId: $t}) { nodes { id } } }",
        lambda w, t: {"t": gid("Subscription", t.subscription)},
        lambda w, t: listing([gid("AuditEvent", w.audit_a)]),
    ),
    "auditEvents@customer": Op(
        "query($c: ID!) { auditEvents(first: 10, filter: {customerId: $c}) { nodes { id } } }",
        lambda w, t: {"c": gid("Customer", t.customer)},
        lambda w, t: listing([gid("AuditEvent", w.audit_a)]),
    ),
    # The credential is the activation code, then the license key; a bearer adds nothing.
    "licenseActivate": Op(
        LICENSE_ACTIVATE,
        lambda w, t: {"code": w.license_a.activation_code, "instance": INSTANCE},
        lambda w, t: result(
            "LicenseActivatePayload", lambda v: v["license"]["instanceId"] == INSTANCE
        ),
        writes=True,
    ),
    "licenseSync": Op(
        LICENSE_SYNC,
        _nothing,
        lambda w, t: result("LicenseSyncPayload", lambda v: v["license"]["billableUsers"] == 3),
        writes=True,
        prepare=_activated,
    ),
    "notificationsMarkRead": Op(
        MARK_READ,
        lambda w, t: {"ids": [to_global_id("Notification", w.notification_a)]},
        lambda w, t: result("NotificationsMarkReadPayload", lambda v: v["marked"] == 1),
        writes=True,
    ),
    "integrationSubscribers": Op(
        "{ integrationSubscribers { nodes { id } } }",
        _nothing,
        lambda w, t: lambda v: OK if v["nodes"] else EMPTY,
        prepare=_subscriber,
    ),
    "integrationDeliveries": Op(
        "query($id: ID!) { integrationDeliveries(subscriberId: $id) { nodes { id } } }",
        _nothing,
        lambda w, t: _present,
        prepare=_subscriber,
    ),
    "integrationSubscriberCreate": Op(
        SUBSCRIBER_CREATE,
        lambda w, t: {"input": SUBSCRIBER_INPUT},
        lambda w, t: result(
            "IntegrationSubscriberCreatePayload", lambda v: v["secret"].startswith("whsec_")
        ),
        writes=True,
    ),
    "integrationSubscriberUpdate": Op(
        SUBSCRIBER_UPDATE,
        _nothing,
        lambda w, t: result(
            "IntegrationSubscriberPayload", lambda v: v["subscriber"]["name"] == "renamed"
        ),
        writes=True,
        prepare=_subscriber,
    ),
    "integrationSubscriberDeactivate": Op(
        SUBSCRIBER_DEACTIVATE,
        _nothing,
        lambda w, t: result(
            "IntegrationSubscriberPayload", lambda v: v["subscriber"]["active"] is False
        ),
        writes=True,
        prepare=_subscriber,
    ),
    "integrationEventRedeliver": Op(
        EVENT_REDELIVER,
        _nothing,
        lambda w, t: result("IntegrationEventRedeliverPayload", lambda v: v["queued"] == 1),
        writes=True,
        prepare=_event,
    ),
    "testClockAdvance": Op(
        CLOCK,
        lambda w, t: {"to": "2026-06-02T06:00:00+00:00"},
        lambda w, t: result(
            "TestClockAdvancePayload", lambda v: v["now"].startswith("2026-06-02T06")
        ),
        writes=True,
    ),
    "seatUsageReport": Op(
        SEAT_REPORT,
        lambda w, t: {"d": t.deployment.external_id},
        lambda w, t: result(
            "SeatUsageReportPayload",
            lambda v: v["recorded"] is True and v["day"]["billableUsers"] == 3,
        ),
        writes=True,
    ),
    "computeUsageReport": Op(
        COMPUTE_REPORT,
        lambda w, t: {"d": t.deployment.external_id},
        lambda w, t: result(
            "ComputeUsageReportPayload",
            lambda v: v["duplicate"] is False and v["event"]["minutes"] == 25,
        ),
        writes=True,
    ),
    **_staff_tools(),
    **_reads("A"),
    **_reads("P"),
    **_writes("A"),
    **_writes("P"),
}


# --- the schema's root fields -----------------------------------------------------------------


def root_fields() -> dict[str, dict[str, list[str]]]:
    """{"Query": {field: [argument names]}, "Mutation": {...}} of the live schema."""
    graphql_schema = built_schema._schema
    found: dict[str, dict[str, list[str]]] = {}
    for root in (graphql_schema.query_type, graphql_schema.mutation_type):
        assert root is not None
        found[root.name] = {name: list(spec.args) for name, spec in root.fields.items()}
    return found


def field_of(key: str) -> str:
    return key.split("@", 1)[0]


def takes_reason(key: str) -> bool:
    return "reason" in root_fields()["Mutation"].get(field_of(key), [])


def document_for(key: str) -> str:
    reason = takes_reason(key)
    return (
        OPERATIONS[key]
        .document.replace(REASON_VAR, " $reason: String" if reason else "")
        .replace(REASON_ARG, " reason: $reason" if reason else "")
    )


# --- the matrix itself ------------------------------------------------------------------------


def test_every_root_field_has_a_row() -> None:
    fields = root_fields()
    in_schema = set(fields["Query"]) | set(fields["Mutation"])
    in_matrix = {field_of(key) for key in MATRIX}
    assert sorted(in_schema - in_matrix) == [], "root fields without a row in MATRIX"
    assert sorted(in_matrix - in_schema) == [], "MATRIX rows for fields the schema lacks"
    assert set(OPERATIONS) == set(MATRIX), "every row needs exactly one operation"
    for key, cells in MATRIX.items():
        assert tuple(cells) == PRINCIPALS, f"{key}: a cell per principal, in order"
    for row_key, principal in KNOWN_BUGS:
        assert row_key in MATRIX and principal in PRINCIPALS, (row_key, principal)


def _cells() -> list[Any]:
    params = []
    for key, cells in MATRIX.items():
        for principal, expected in cells.items():
            bug = KNOWN_BUGS.get((key, principal))
            marks = [pytest.mark.xfail(strict=True, reason=f"BUG: {bug}")] if bug else []
            params.append(
                pytest.param(key, principal, expected, id=f"{key}-{principal}", marks=marks)
            )
    return params


@pytest.fixture
async def world(db: AsyncSession, settings: Settings) -> MatrixWorld:
    return await build_world(db, settings)


@pytest.mark.parametrize(("key", "principal", "expected"), _cells())
async def test_access_cell(
    key: str, principal: str, expected: str, world: MatrixWorld, api: Api, db: AsyncSession
) -> None:
    op = OPERATIONS[key]
    target = world.tenant(op.tenant)
    variables = op.variables(world, target)
    if takes_reason(key):
        variables["reason"] = REASON
    if op.prepare is not None:
        variables |= await op.prepare(api, world, target)
    before = await table_counts(db)

    body = await api.query(document_for(key), variables, token=world.token(principal, op.tenant))

    assert outcome(body, field_of(key), op.check(world, target)) == expected, body
    if not (expected == OK and op.writes):
        assert await table_counts(db) == before, "a refused or read-only call changed rows"
