"""One subscription through a year, driven only through the API and the admin test clock:
the purchase, seat reports rising above the paid seats, three quarterly reconciliations with
the cents of worked example 4 (docs/domain.md 9), an upgrade and a downgrade scheduled for the
renewal, the renewal invoice with a declined card, the grace period with its retries, and
the expiry back to Free. Every job runs because the clock passes its date, as in real time.

It runs with the local providers, with Stripe (on Stripe test clocks), and with the
enterprise pair: Zuora billing and the Salesforce CRM (both against their fakes), each
provider's own view checked against the local one at the end."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.clock import FixedClock
from app.config import Settings
from app.db.tables import (
    BillingAccount,
    Customer,
    Invoice,
    LocalMail,
    ProvisionedEntitlement,
    Subscription,
)
from app.domain.enums import MemberRole, TokenKind
from app.providers.crm.salesforce import SalesforceCrmProvider
from app.runtime import Runtime
from resolvers.ids import to_global_id
from tests.api.orders_support import place, quote
from tests.fakes.salesforce import SalesforceFake, settings_for
from tests.fakes.salesforce import running_fake as running_salesforce
from tests.fakes.stripe import StripeFake
from tests.fakes.zuora import ZuoraFake
from tests.providers.factories import crm_account
from tests.support import factories as f
from tests.support.graphql import Api, api_token, user_token

NAMESPACE = "ns-yearly"
NEW_NAMESPACE = {"externalId": NAMESPACE}
ADVANCE = """mutation($to: DateTime!) { testClockAdvance(to: $to, reason: "year walk") {
  __typename ... on TestClockAdvancePayload { now reachedTarget }
  ... on UserError { code message } } }"""
REPORT = """mutation($users: Int!, $at: DateTime!) {
  seatUsageReport(deployment: "ns-yearly", billableUsers: $users, reportedAt: $at) {
    __typename ... on SeatUsageReportPayload { recorded } ... on UserError { code message } } }"""
STATE = """query($n: String!) { subscription(number: $n) {
  status seats seatsInUse maxSeatsUsed seatsOwed termStart termEnd plan { code }
  pendingChange { effectiveOn plan { code } } } }"""
INVOICES = """query($c: ID!) { invoices(first: 20, filter: {customerId: $c}) {
  nodes { total { amount } status issuedOn } } }"""
NOTIFICATIONS = """{ viewer { notifications(first: 50) { nodes { kind createdAt } } } }"""


class Year:
    """The actors of the walk and the calls they make."""

    def __init__(self, api: Api, tokens: dict[str, str], customer_id: int) -> None:
        self.api, self.tokens, self.customer = api, tokens, to_global_id("Customer", customer_id)
        self.number = ""

    async def advance(self, day: date) -> None:
        """As a client does: again until the clock reaches the target (a call has a budget)."""
        moment = datetime(day.year, day.month, day.day, 9, tzinfo=UTC)
        reached = False
        while not reached:
            data = await self.api.data(ADVANCE, {"to": moment.isoformat()}, self.tokens["admin"])
            assert data["testClockAdvance"]["__typename"] == "TestClockAdvancePayload", data
            reached = data["testClockAdvance"]["reachedTarget"]

    async def report(self, day: date, users: int) -> None:
        """The product reports billable users, then the clock moves past that day."""
        await self.advance(day)
        at = datetime(day.year, day.month, day.day, 9, tzinfo=UTC).isoformat()
        data = await self.api.data(REPORT, {"users": users, "at": at}, self.tokens["service"])
        assert data["seatUsageReport"] == {"__typename": "SeatUsageReportPayload", "recorded": True}

    async def order(self, *actions: dict[str, Any], **target: str) -> dict[str, Any]:
        q = await quote(self.api, self.tokens["owner"], actions=list(actions), **target)
        assert q["__typename"] == "Quote", q
        placed = await place(self.api, self.tokens["owner"], q["token"], key=q["token"][-24:])
        assert placed["__typename"] == "OrderPlacePayload", placed
        return placed["order"]

    async def state(self) -> dict[str, Any]:
        data = await self.api.data(STATE, {"n": self.number}, self.tokens["owner"])
        found: dict[str, Any] = data["subscription"]
        return found

    async def invoices(self) -> list[tuple[int, str, str]]:
        """(total, status, issued on), oldest first."""
        data = await self.api.data(INVOICES, {"c": self.customer}, self.tokens["owner"])
        nodes = data["invoices"]["nodes"]
        found = [(int(n["total"]["amount"]), n["status"], n["issuedOn"]) for n in nodes]
        return sorted(found, key=lambda invoice: invoice[2])

    async def notifications(self) -> list[tuple[str, str]]:
        data = await self.api.data(NOTIFICATIONS, token=self.tokens["owner"])
        nodes = data["viewer"]["notifications"]["nodes"]
        return sorted((n["createdAt"][:10], n["kind"]) for n in nodes)


async def _year(api: Api, db: AsyncSession, settings: Settings) -> tuple[Year, BillingAccount]:
    await f.catalog(db)
    customer = await f.customer(db, name="Yearly Co")
    owner = await f.user(db, member_of=customer, role=MemberRole.OWNER)
    account = await f.billing_account(db, customer, payment_method="pm_card_visa")
    tokens = {
        "owner": user_token(settings, owner),
        "admin": await api_token(db, TokenKind.ADMIN),
        "service": await api_token(db, TokenKind.SERVICE),
    }
    return Year(api, tokens, customer.id or 0), account


async def _payments(db: AsyncSession, runtime: Runtime) -> list[tuple[int, str]]:
    """Every payment the billing provider attempted, per invoice (oldest first): the money
    that moved where it moves (the local ledger, or Stripe's charges), not our copy."""
    refs = await db.scalars(
        sa.select(col(Invoice.provider_ref))
        .where(col(Invoice.provider_ref).is_not(None))
        .order_by(col(Invoice.id))
    )
    wanted = [ref for ref in refs.all() if ref]
    found = await runtime.providers.billing.get_invoice_payments(wanted)
    return [(p.amount, p.status) for ref in wanted for p in found.get(ref, ())]


@pytest.fixture
def app_settings(app_settings: Settings, billing: str) -> Settings:
    """With Stripe, as a developer runs it: TEST_CLOCK=true, so the customer is on a Stripe
    test clock that each testClockAdvance moves to the app's time."""
    if billing != "stripe":
        return app_settings
    return app_settings.model_copy(
        update={"test_clock": True, "stripe_test_clock_poll_seconds": 0.01}
    )


@pytest.fixture
async def salesforce(billing: str, runtime: Runtime) -> AsyncIterator[SalesforceFake | None]:
    """With Zuora billing, the CRM is Salesforce (its fake): the enterprise pair."""
    if billing != "zuora":
        yield None
        return
    async with running_salesforce() as fake:
        provider = SalesforceCrmProvider(settings_for(fake))
        runtime.providers.crm = provider
        try:
            yield fake
        finally:
            await provider.aclose()


@pytest.mark.parametrize("billing", ["local", "stripe", "zuora"])
async def test_a_year_of_one_subscription(
    api: Api,
    db: AsyncSession,
    settings: Settings,
    clock: FixedClock,
    runtime: Runtime,
    billing: str,
    salesforce: SalesforceFake | None,
    request: pytest.FixtureRequest,
) -> None:
    clock.set(datetime(2026, 1, 1, 9, tzinfo=UTC))
    year, account = await _year(api, db, settings)
    customer = await db.get(Customer, account.customer_id)
    assert customer is not None and customer.crm_ref
    if salesforce is not None:  # the account team's record of the customer, as sales left it
        await runtime.providers.crm.upsert_account(crm_account(customer.crm_ref))

    # January 1st: Premium, 100 seats, on a new namespace: a full year, 100 x 34 800.
    bought = await year.order(
        {"createSubscription": {"plan": "premium", "seats": 100, "deployment": NEW_NAMESPACE}},
        customerId=year.customer,
    )
    assert bought["invoice"]["total"] == {"amount": "3480000"}
    year.number = bought["subscription"]["number"]
    assert (await year.state())["termEnd"] == "2027-01-01"

    # Quarter 1: usage rises to 110 (10 seats owed); worked example 4 bills them on April 8th.
    await year.report(date(2026, 1, 2), 100)
    await year.report(date(2026, 2, 10), 104)
    await year.report(date(2026, 3, 15), 110)
    state = await year.state()
    assert (state["seats"], state["maxSeatsUsed"], state["seatsOwed"]) == (100, 110, 10)

    await year.advance(date(2026, 4, 1))
    assert ("2026-04-01", "RECONCILIATION_NOTICE") in await year.notifications()
    assert len(await year.invoices()) == 1  # the notice comes first; the invoice 7 days later

    await year.advance(date(2026, 4, 8))
    assert (await year.invoices())[-1] == (261_000, "PAID", "2026-04-08")
    state = await year.state()
    assert (state["seats"], state["seatsOwed"]) == (110, 0)

    # Quarter 2: at most 105 used, under the 110 paid: nothing to bill.
    await year.report(date(2026, 5, 5), 105)
    await year.advance(date(2026, 7, 8))
    assert len(await year.invoices()) == 2

    # Quarter 3: 120 used: 10 x 34 800 x 1/4.
    await year.report(date(2026, 8, 1), 120)
    await year.advance(date(2026, 10, 8))
    assert (await year.invoices())[-1] == (87_000, "PAID", "2026-10-08")
    assert (await year.state())["seats"] == 120

    # Quarter 4: an upgrade to Ultimate on October 15th (78 of 365 days left, 120 seats):
    # credit 892 405, charge 3 046 488. Quarter 4 is never reconciled.
    await year.advance(date(2026, 10, 15))
    upgraded = await year.order({"changePlan": {"plan": "ultimate"}}, **await _target(year))
    assert upgraded["invoice"]["total"] == {"amount": "2154083"}

    # December 1st: the owner schedules a downgrade back to Premium for the renewal.
    await year.advance(date(2026, 12, 1))
    await year.order({"changePlan": {"plan": "premium"}}, **await _target(year))
    assert (await year.state())["pendingChange"] == {
        "effectiveOn": "2027-01-01",
        "plan": {"code": "premium"},
    }
    await year.report(date(2026, 12, 10), 118)

    # The card expires before the renewal: Stripe's test card that attaches and then declines
    # every charge (both providers know it; "pm_card_declined" is the local provider's alone,
    # which Stripe refuses at attach, so no charge would be attempted there).
    account.payment_method = "pm_card_chargeCustomerFail"
    await db.flush()

    # January 1st 2027: renewal at max(120 seats, 118 users) on Premium (the downgrade
    # applies): 120 x 34 800; the card is declined, so the subscription enters grace.
    await year.advance(date(2027, 1, 1))
    state = await year.state()
    assert state["status"] == "GRACE"
    assert (await year.invoices())[-1] == (4_176_000, "OPEN", "2027-01-01")

    # Retries on days 3, 7 and 11 are declined too; on day 14 the subscription expires, the
    # unpaid renewal invoice is voided and the namespace falls back to Free.
    await year.advance(date(2027, 1, 15))
    assert (await year.state())["status"] == "EXPIRED"
    assert (await year.invoices())[-1] == (4_176_000, "VOID", "2027-01-01")

    assert await _payments(db, runtime) == [
        (3_480_000, "SUCCEEDED"),
        (261_000, "SUCCEEDED"),
        (87_000, "SUCCEEDED"),
        (2_154_083, "SUCCEEDED"),
        *[(4_176_000, "FAILED")] * 4,
    ]
    entitlement = await _entitlement(db)
    assert (entitlement["plan_code"], entitlement["seats"]) == ("free", 0)
    kinds = [kind for _, kind in await year.notifications()]
    for expected in (
        "SEAT_ALERT",
        "RECONCILIATION_NOTICE",
        "RECONCILIATION_INVOICE",
        "RENEWAL_REMINDER",
        "PAYMENT_FAILED",
        "SUBSCRIPTION_EXPIRED",
    ):
        assert expected in kinds, (expected, kinds)
    assert kinds.count("RECONCILIATION_NOTICE") == 2  # quarters 1 and 3
    mailed = (await db.scalars(sa.select(LocalMail))).all()
    assert len(mailed) == len(kinds)  # every notification was e-mailed, once
    if billing == "stripe":
        await _stripe_agrees(request.getfixturevalue("stripe_fake"), db, runtime, clock)
    if salesforce is not None:
        await _zuora_agrees(request.getfixturevalue("zuora_fake"), db, runtime)
        await _salesforce_agrees(salesforce, db, customer.crm_ref)


async def _stripe_agrees(
    fake: StripeFake, db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    """Stripe's view at the end, on the test clock the walk moved: its clock is at the app's
    now; the subscription's term is the app's, and it no longer renews (the app expired it
    and cancelled it there); the renewal Stripe made at its anchor (the term end) was voided
    at once, so Stripe never charged on its own."""
    (found,) = fake.objects("test_helpers.test_clock")
    assert (found["frozen_time"], found["status"]) == (int(clock.now().timestamp()), "ready")
    (sub,) = fake.objects("subscription")
    assert fake.store.objects[sub["customer"]]["test_clock"] == found["id"]
    local = (await db.scalars(sa.select(Subscription))).one()
    remote = (await runtime.providers.billing.get_subscriptions([sub["id"]]))[sub["id"]]
    assert (remote.term_start, remote.term_end) == (local.term_start, local.term_end)
    assert (remote.auto_renew, local.auto_renew) == (False, False)
    anchors = [inv for inv in fake.objects("invoice") if inv.get("billing_reason")]
    assert [(inv["status"], inv["created"]) for inv in anchors] == [
        ("void", int(datetime(2027, 1, 1, tzinfo=UTC).timestamp()))
    ]
    charged = [c["amount"] for c in fake.objects("charge") if c["status"] == "succeeded"]
    assert charged == [3_480_000, 261_000, 87_000, 2_154_083]


async def _zuora_agrees(fake: ZuoraFake, db: AsyncSession, runtime: Runtime) -> None:
    """Zuora's view at the end: the subscription's term is the app's and it no longer
    renews; its invoices are the app's, and only the four paid ones were collected."""
    local = (await db.scalars(sa.select(Subscription))).one()
    ref = local.provider_ref or ""
    remote = (await runtime.providers.billing.get_subscriptions([ref]))[ref]
    assert (remote.term_start, remote.term_end) == (local.term_start, local.term_end)
    assert (remote.auto_renew, local.auto_renew) == (False, False)
    assert [(i.product_code, i.quantity) for i in remote.items] == [("ultimate", local.seats)]
    # the purchase, two true-ups, the upgrade and the renewal; four paid, four declines
    assert (fake.count("invoice"), fake.count("payment")) == (5, 8)


async def _salesforce_agrees(fake: SalesforceFake, db: AsyncSession, account_ref: str) -> None:
    """Salesforce's view at the end: the subscription's mirror is the local copy, and each
    paid order is one won opportunity on the customer's account."""
    local = (await db.scalars(sa.select(Subscription))).one()
    (account,) = fake.records("Account")
    assert account["External_Id__c"] == account_ref
    (mirror,) = fake.records("Subscription__c")
    assert {k: mirror[k] for k in ("Subscription_Number__c", "Account__c", "Status__c")} == {
        "Subscription_Number__c": local.number,
        "Account__c": account["Id"],
        "Status__c": "expired",
    }
    assert (mirror["Plan__c"], mirror["Seats__c"]) == ("ultimate", local.seats)
    assert (mirror["Term_Start__c"], mirror["Term_End__c"]) == ("2026-01-01", "2027-01-01")
    won = [
        (o["AccountId"], o["StageName"], o["Amount_Cents__c"], o["CloseDate"])
        for o in fake.records("Opportunity")
    ]
    assert won == [
        (account["Id"], "Closed Won", 3_480_000, "2026-01-01"),  # the purchase
        (account["Id"], "Closed Won", 2_154_083, "2026-10-15"),  # the upgrade
    ]  # the scheduled downgrade charged nothing: no opportunity


async def _target(year: Year) -> dict[str, str]:
    data = await year.api.data(
        "query($n: String!) { subscription(number: $n) { id } }",
        {"n": year.number},
        year.tokens["owner"],
    )
    return {"subscriptionId": data["subscription"]["id"]}


async def _entitlement(db: AsyncSession) -> dict[str, Any]:
    row = (
        await db.scalars(
            sa.select(ProvisionedEntitlement)
            .where(col(ProvisionedEntitlement.deployment_ref) == NAMESPACE)
            .execution_options(populate_existing=True)
        )
    ).one()
    return dict(row.entitlement)
