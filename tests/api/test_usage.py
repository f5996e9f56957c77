"""Usage over the API: seatUsageReport and computeUsageReport (the product's service token
only), worked example 5 end to end (the pack bought with an order), the seat usage history
of a subscription (pages, ranges, tenant scope) and its flat statement count."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import FixedClock
from app.config import Settings
from app.db.repositories.usage import SeatUsageWindow, seat_usage_pages
from app.db.scope import ReadScope
from app.db.tables import Deployment, Subscription
from app.domain.enums import MemberRole, SubscriptionStatus, TokenKind
from resolvers.ids import to_cursor, to_global_id
from schema.build import schema
from tests.api.conftest import StatementCounter
from tests.api.orders_support import at, place, quote
from tests.support import factories as f
from tests.support.graphql import Api, api_token, error_codes, user_token
from tests.support.snapshots import table_counts

SEAT_REPORT = """mutation($d: String!, $n: Int!, $at: DateTime!) {
  seatUsageReport(deployment: $d, billableUsers: $n, reportedAt: $at) {
    __typename
    ... on SeatUsageReportPayload { recorded day { reportedOn billableUsers }
      seats { subscriptionNumber seats seatsInUse maxSeatsUsed seatsOwed seatAlert } }
    ... on UserError { code message } } }"""

COMPUTE_REPORT = """mutation($d: String!, $e: String!, $m: Int!) {
  computeUsageReport(deployment: $d, eventId: $e, minutes: $m) {
    __typename
    ... on ComputeUsageReportPayload { duplicate
      event { eventId minutes periodStart fromQuota fromPurchased uncovered }
      computeMinutes { monthlyQuota quotaUsed purchasedUsed purchasedRemaining available }
      subscriptionNumber }
    ... on UserError { code message } } }"""

COMPUTE_MINUTES = """query($id: ID!) { subscription(id: $id) { computeMinutes {
  periodStart periodEnd monthlyQuota quotaUsed quotaRemaining purchasedUsed
  purchasedRemaining available uncovered } } }"""

SEAT_USAGE = """query($id: ID!, $first: Int, $after: String, $from: Date, $to: Date) {
  subscription(id: $id) { seatUsage(first: $first, after: $after, from: $from, to: $to) {
    nodes { reportedOn billableUsers } edges { cursor }
    pageInfo { hasNextPage hasPreviousPage endCursor } } } }"""


CREATED = datetime(2025, 12, 31, 23, 30, tzinfo=UTC)  # the day before the term


@pytest.fixture
async def acme(db: AsyncSession, settings: Settings) -> dict[str, Any]:
    customer = await f.customer(db, name="Acme")
    owner = await f.user(db, member_of=customer, role=MemberRole.OWNER)
    sub = await f.subscription(
        db, customer, "premium", seats=10, seats_in_use=3, created_at=CREATED
    )
    deployment = await db.get(Deployment, sub.deployment_id)
    assert deployment is not None
    return {
        "customer": customer,
        "sub": sub,
        "ns": deployment.external_id,
        "id": to_global_id("Subscription", sub.id or 0),
        "owner": user_token(settings, owner),
        "service": await api_token(db, TokenKind.SERVICE),
    }


async def seat_report(api: Api, acme: dict[str, Any], users: int, when: str) -> dict[str, Any]:
    variables = {"d": acme["ns"], "n": users, "at": when}
    data = await api.data(SEAT_REPORT, variables, token=acme["service"])
    result: dict[str, Any] = data["seatUsageReport"]
    return result


async def compute_report(
    api: Api, acme: dict[str, Any], event_id: str, minutes: int
) -> dict[str, Any]:
    variables = {"d": acme["ns"], "e": event_id, "m": minutes}
    data = await api.data(COMPUTE_REPORT, variables, token=acme["service"])
    result: dict[str, Any] = data["computeUsageReport"]
    return result


# --- seatUsageReport ---------------------------------------------------------------------------


async def test_a_seat_report_updates_the_subscriptions_figures_once(
    acme: dict[str, Any], api: Api, db: AsyncSession
) -> None:
    first = await seat_report(api, acme, 12, "2026-05-20T09:00:00Z")
    before = await table_counts(db)
    again = await seat_report(api, acme, 12, "2026-05-20T11:00:00+02:00")  # the same instant

    expected_seats = {
        "subscriptionNumber": acme["sub"].number,
        "seats": 10,
        "seatsInUse": 12,
        "maxSeatsUsed": 12,
        "seatsOwed": 2,
        "seatAlert": True,
    }
    day = {"reportedOn": "2026-05-20", "billableUsers": 12}
    assert first == {
        "__typename": "SeatUsageReportPayload",
        "recorded": True,
        "day": day,
        "seats": expected_seats,
    }
    assert again == first | {"recorded": False}
    assert await table_counts(db) == before


async def test_a_seat_report_from_the_future_is_a_validation_error(
    acme: dict[str, Any], api: Api, db: AsyncSession
) -> None:
    before = await table_counts(db)

    refused = await seat_report(api, acme, 12, "2026-06-02T00:00:00Z")  # the clock: 2026-06-01

    assert refused == {
        "__typename": "ValidationError",
        "code": "VALIDATION",
        "message": "`reportedAt` is after today (2026-06-01, UTC); reports cannot come from the "
        "future.",
    }
    assert await table_counts(db) == before


@pytest.mark.parametrize("who", ["owner", "anonymous"])
async def test_only_the_product_may_report(
    acme: dict[str, Any], api: Api, db: AsyncSession, who: str
) -> None:
    before = await table_counts(db)
    token = acme["owner"] if who == "owner" else None

    seats = await api.query(
        SEAT_REPORT, {"d": acme["ns"], "n": 5, "at": "2026-05-20T09:00:00Z"}, token=token
    )
    minutes = await api.query(COMPUTE_REPORT, {"d": acme["ns"], "e": "e", "m": 5}, token=token)

    code = "FORBIDDEN" if who == "owner" else "UNAUTHENTICATED"
    assert error_codes(seats) == [code] and seats["data"] is None
    assert error_codes(minutes) == [code] and minutes["data"] is None
    assert await table_counts(db) == before


# --- computeUsageReport and Subscription.computeMinutes ----------------------------------------


async def test_worked_example_5_through_the_api(
    acme: dict[str, Any], api: Api, clock: FixedClock
) -> None:
    clock.set(at(date(2026, 3, 15)))
    pack = {"buyPack": {"pack": "compute_minutes_1000", "quantity": 5}}
    q = await quote(api, acme["owner"], subscriptionId=acme["id"], actions=[pack])
    assert q["total"] == {"amount": "5000"}
    assert (await place(api, acme["owner"], q["token"]))["order"]["status"] == "COMPLETED"

    clock.set(at(date(2026, 4, 10)))
    reports = [await compute_report(api, acme, f"april-{n}", 6_500) for n in range(2)]

    assert [r["event"] for r in reports] == [
        {
            "eventId": "april-0",
            "minutes": 6_500,
            "periodStart": "2026-04-01",
            "fromQuota": 6_500,
            "fromPurchased": 0,
            "uncovered": 0,
        },
        {
            "eventId": "april-1",
            "minutes": 6_500,
            "periodStart": "2026-04-01",
            "fromQuota": 3_500,
            "fromPurchased": 3_000,
            "uncovered": 0,
        },
    ]
    assert reports[1]["computeMinutes"] == {
        "monthlyQuota": 10_000,
        "quotaUsed": 10_000,
        "purchasedUsed": 3_000,
        "purchasedRemaining": 2_000,
        "available": 2_000,
    }
    april = await api.data(COMPUTE_MINUTES, {"id": acme["id"]}, token=acme["owner"])
    assert april["subscription"]["computeMinutes"] == {
        "periodStart": "2026-04-01",
        "periodEnd": "2026-05-01",
        "monthlyQuota": 10_000,
        "quotaUsed": 10_000,
        "quotaRemaining": 0,
        "purchasedUsed": 3_000,
        "purchasedRemaining": 2_000,
        "available": 2_000,
        "uncovered": 0,
    }

    clock.set(at(date(2026, 5, 1)))
    may = await api.data(COMPUTE_MINUTES, {"id": acme["id"]}, token=acme["owner"])
    assert may["subscription"]["computeMinutes"] == {
        "periodStart": "2026-05-01",
        "periodEnd": "2026-06-01",
        "monthlyQuota": 10_000,
        "quotaUsed": 0,
        "quotaRemaining": 10_000,
        "purchasedUsed": 0,
        "purchasedRemaining": 2_000,
        "available": 12_000,
        "uncovered": 0,
    }


async def test_a_compute_event_counts_once_and_its_id_cannot_be_reused(
    acme: dict[str, Any], api: Api, db: AsyncSession
) -> None:
    first = await compute_report(api, acme, "pipeline-42", 300)
    before = await table_counts(db)

    again = await compute_report(api, acme, "pipeline-42", 300)
    reused = await compute_report(api, acme, "pipeline-42", 301)

    assert first["duplicate"] is False and again == first | {"duplicate": True}
    assert first["computeMinutes"]["quotaUsed"] == 300
    assert first["subscriptionNumber"] == acme["sub"].number
    assert reused == {
        "__typename": "QuoteError",
        "code": "IDEMPOTENCY_KEY_REUSED",
        "message": "This event id was already reported with other minutes or for another "
        "deployment.",
    }
    assert await table_counts(db) == before


async def test_an_unknown_deployment_is_not_found(acme: dict[str, Any], api: Api) -> None:
    found = await compute_report(api, acme | {"ns": "ns-nowhere"}, "e-1", 5)

    assert (found["__typename"], found["code"]) == ("NotFoundError", "NOT_FOUND")


# --- Subscription.seatUsage ---------------------------------------------------------------------


async def _history(db: AsyncSession, sub: Subscription, start: date, figures: list[int]) -> None:
    for offset, users in enumerate(figures):
        await f.seat_report(db, sub, start + timedelta(days=offset), users)


async def seat_usage(api: Api, acme: dict[str, Any], **args: Any) -> dict[str, Any]:
    data = await api.data(SEAT_USAGE, {"id": acme["id"]} | args, token=acme["owner"])
    result: dict[str, Any] = data["subscription"]["seatUsage"]
    return result


def _days(page: dict[str, Any]) -> list[tuple[str, int]]:
    return [(n["reportedOn"], n["billableUsers"]) for n in page["nodes"]]


async def test_the_chart_shows_the_days_latest_and_highest_reports(
    acme: dict[str, Any], api: Api
) -> None:
    await seat_report(api, acme, 14, "2026-05-20T09:00:00Z")
    await seat_report(api, acme, 11, "2026-05-20T18:00:00Z")
    await seat_report(api, acme, 12, "2026-05-20T08:00:00Z")  # late, neither latest nor highest

    data = await api.data(
        'query($id: ID!) { subscription(id: $id) { seatUsage(from: "2026-05-01") { nodes { '
        "reportedOn billableUsers maxBillableUsers } } } }",
        {"id": acme["id"]},
        token=acme["owner"],
    )

    assert data["subscription"]["seatUsage"]["nodes"] == [
        {"reportedOn": "2026-05-20", "billableUsers": 11, "maxBillableUsers": 14}
    ]


async def test_seat_usage_pages_oldest_first_from_the_term_start(
    acme: dict[str, Any], api: Api, db: AsyncSession
) -> None:
    await _history(db, acme["sub"], date(2025, 12, 30), [1, 2, 3, 4, 5, 6])  # 2 before the term

    first = await seat_usage(api, acme, first=3)
    rest = await seat_usage(api, acme, first=3, after=first["pageInfo"]["endCursor"])

    assert _days(first) == [("2026-01-01", 3), ("2026-01-02", 4), ("2026-01-03", 5)]
    assert first["pageInfo"] == {
        "hasNextPage": True,
        "hasPreviousPage": False,
        "endCursor": to_cursor(date(2026, 1, 3).toordinal()),
    }
    assert _days(rest) == [("2026-01-04", 6)]
    assert rest["pageInfo"]["hasNextPage"] is False
    assert rest["pageInfo"]["hasPreviousPage"] is True


async def test_seat_usage_in_a_range(acme: dict[str, Any], api: Api, db: AsyncSession) -> None:
    await _history(db, acme["sub"], date(2025, 12, 29), [0, 1, 2, 3, 4, 5, 6])

    # Nothing before the subscription was created (12-31, UTC), whatever `from` asks.
    page = await seat_usage(api, acme, **{"from": "2025-12-29", "to": "2026-01-02"})

    assert _days(page) == [("2025-12-31", 2), ("2026-01-01", 3), ("2026-01-02", 4)]


async def test_seat_usage_stays_within_the_subscriptions_lifetime(
    db: AsyncSession, api: Api, settings: Settings
) -> None:
    """A partner's sold subscription ended (term end 2026-03-01, expired after the 14 grace
    days); the customer then bought directly on the same namespace. The partner reads
    neither the days before it created the subscription nor those after its lifetime,
    however wide the range it asks for."""
    partner_customer = await f.customer(db, name="Reseller's client")
    partner = await f.user(db, member_of=partner_customer, role=MemberRole.OWNER)
    old = await f.subscription(
        db,
        partner_customer,
        status=SubscriptionStatus.EXPIRED,
        term_start=date(2025, 3, 1),
        term_end=date(2026, 3, 1),
        created_at=datetime(2025, 2, 27, 22, tzinfo=UTC),
    )
    deployment = await db.get(Deployment, old.deployment_id)
    direct = await f.customer(db, name="Direct")
    await f.subscription(
        db,
        direct,
        deployment=deployment,
        term_start=date(2026, 3, 15),
        term_end=date(2027, 3, 15),
        created_at=datetime(2026, 3, 15, 9, tzinfo=UTC),
    )
    days = [date(2025, 2, 26), date(2025, 2, 27), date(2026, 2, 28), date(2026, 3, 1)]
    days += [date(2026, 3, 14), date(2026, 3, 15), date(2026, 5, 1)]
    for n, day in enumerate(days):
        await f.seat_report(db, old, day, n)

    data = await api.data(
        SEAT_USAGE,
        {"id": to_global_id("Subscription", old.id or 0), "from": "2025-01-01", "to": "2027-01-01"},
        token=user_token(settings, partner),
    )

    # Created 2025-02-27 (UTC); grace 2026-03-01 .. 03-14; expired on 03-15.
    assert _days(data["subscription"]["seatUsage"]) == [
        ("2025-02-27", 1),
        ("2026-02-28", 2),
        ("2026-03-01", 3),
        ("2026-03-14", 4),
    ]


@pytest.mark.parametrize(
    "args",
    [{"first": 101}, {"first": 0}, {"from": "2026-02-01", "to": "2026-01-01"}, {"after": "x"}],
    ids=["first-101", "first-0", "from-after-to", "bad-cursor"],
)
async def test_bad_seat_usage_arguments_are_refused(
    acme: dict[str, Any], api: Api, args: dict[str, Any]
) -> None:
    body = await api.query(SEAT_USAGE, {"id": acme["id"]} | args, token=acme["owner"])

    assert error_codes(body) == ["VALIDATION"]


async def test_no_tenant_reads_another_tenants_usage(
    acme: dict[str, Any], api: Api, db: AsyncSession, settings: Settings
) -> None:
    await _history(db, acme["sub"], date(2026, 3, 1), [7, 8])
    await compute_report(api, acme, "e-1", 100)
    other = await f.customer(db)
    stranger = user_token(settings, await f.user(db, member_of=other))
    sub_id = acme["sub"].id

    body = await api.data(
        "query($id: ID!) { subscription(id: $id) { seatUsage { nodes { billableUsers } } "
        "computeMinutes { quotaUsed } } }",
        {"id": acme["id"]},
        token=stranger,
    )
    in_sql = await seat_usage_pages(
        db, ReadScope(customer_ids=frozenset({other.id or 0})), [sub_id], SeatUsageWindow(10)
    )
    own = await seat_usage_pages(
        db, ReadScope(customer_ids=frozenset({acme["customer"].id})), [sub_id], SeatUsageWindow(10)
    )

    assert body == {"subscription": None}
    assert in_sql[sub_id].items == []  # scoped in SQL, not only by the parent lookup
    assert [p.billable_users for p in own[sub_id].items] == [7, 8]


# --- statement counts -------------------------------------------------------------------------

USAGE_LIST = """query($id: ID!) { customer(id: $id) { subscriptions(first: 100) { nodes {
  number seatUsage(first: 5) { nodes { reportedOn billableUsers } pageInfo { hasNextPage } }
  computeMinutes { quotaUsed purchasedRemaining available } } } } }"""


async def test_usage_fields_do_not_add_statements_per_subscription(
    db: AsyncSession, api: Api, sql_statements: StatementCounter
) -> None:
    admin = await api_token(db, TokenKind.ADMIN)
    counts = []
    for size in (3, 30):
        customer = await f.customer(db)
        account = await f.billing_account(db, customer)
        for _ in range(size):
            sub = await f.subscription(db, customer, account=account, created_at=CREATED)
            await _history(db, sub, date(2026, 5, 1), [4, 5, 6, 7, 8, 9])
        sql_statements.reset()
        data = await api.data(USAGE_LIST, {"id": to_global_id("Customer", customer.id or 0)}, admin)
        counts.append(sql_statements.count)
        nodes = data["customer"]["subscriptions"]["nodes"]
        assert len(nodes) == size
        assert all(len(n["seatUsage"]["nodes"]) == 5 for n in nodes)
        assert all(n["seatUsage"]["pageInfo"]["hasNextPage"] for n in nodes)
        assert all(n["computeMinutes"]["available"] == 10_000 for n in nodes)

    assert counts[0] == counts[1], sql_statements.statements


def _reachable_types(name: str) -> set[str]:
    """Every object type a query can reach from `name` (through lists, non-nulls, unions)."""
    graphql = schema._schema
    seen: set[str] = set()
    pending = [name]
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        found = graphql.get_type(current)
        members = getattr(found, "types", None) or []
        pending.extend(member.name for member in members)
        for field in getattr(found, "fields", {}).values():
            inner = field.type
            while hasattr(inner, "of_type"):
                inner = inner.of_type
            pending.append(inner.name)
    return seen


@pytest.mark.parametrize("payload", ["SeatUsageReportPayload", "ComputeUsageReportPayload"])
def test_a_usage_report_payload_exposes_no_tenant_object(payload: str) -> None:
    """The product's service token reads no tenant data: no Subscription (and through it no
    license, customer or add-ons) is reachable from what a report returns."""
    reachable = _reachable_types(payload)
    assert reachable.isdisjoint({"Subscription", "License", "Customer", "BillingAccount"})
