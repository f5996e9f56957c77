"""An order completes, the worker records it in Salesforce (the fake) as one won
opportunity on the customer's account; carrying the message out again, or the client
placing the order again, adds none."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import FixedClock
from app.config import Settings
from app.db.tables import Order, OutboxMessage
from app.domain.enums import MemberRole, OutboxStatus
from app.providers.crm.salesforce import SalesforceCrmProvider
from app.runtime import Runtime
from app.services import crm_sync
from app.services.worker.options import WorkerOptions
from app.services.worker.runner import Worker
from resolvers.ids import to_global_id
from tests.api.orders_support import at, place, quote
from tests.fakes.salesforce import SalesforceFake, running_fake, settings_for
from tests.fakes.salesforce.server import API_LIMIT
from tests.providers.factories import crm_account
from tests.support import factories as f
from tests.support.graphql import Api, user_token
from tests.support.metrics import scrape

OPTIONS = WorkerOptions(jitter=0, worker_id="crm-worker")


@pytest.fixture
async def salesforce(runtime: Runtime) -> AsyncIterator[SalesforceFake]:
    async with running_fake() as fake:
        provider = SalesforceCrmProvider(settings_for(fake))
        runtime.providers.crm = provider
        try:
            yield fake
        finally:
            await provider.aclose()


async def crm_messages(db: AsyncSession) -> list[OutboxMessage]:
    query = sa.select(OutboxMessage).where(OutboxMessage.topic == crm_sync.CRM_OPPORTUNITY)
    return list((await db.scalars(query.execution_options(populate_existing=True))).all())


async def test_a_completed_order_is_one_won_opportunity_in_salesforce(
    db: AsyncSession,
    api: Api,
    runtime: Runtime,
    clock: FixedClock,
    settings: Settings,
    salesforce: SalesforceFake,
) -> None:
    customer = await f.customer(db, name="Acme")
    owner = await f.user(db, member_of=customer, role=MemberRole.OWNER)
    sub = await f.subscription(db, customer, seats=10, seats_in_use=8, max_seats_used=8)
    await runtime.providers.crm.upsert_account(crm_account(customer.crm_ref or ""))
    token = user_token(settings, owner)
    clock.set(at(date(2026, 7, 2)))
    order = {
        "subscriptionId": to_global_id("Subscription", sub.id or 0),
        "actions": [{"addSeats": {"seats": 5}}],
    }
    quoted = (await quote(api, token, **order))["token"]
    placed = await place(api, token, quoted)
    assert placed["order"]["status"] == "COMPLETED"
    total = int(placed["order"]["total"]["amount"])  # minor units, a string on the wire

    # Orders queue their messages on the wall clock for now; move the test clock past it.
    clock.set(max(clock.now(), datetime.now(UTC)) + timedelta(minutes=1))
    await Worker(runtime, OPTIONS).run_once()

    (record,) = salesforce.records("Opportunity")
    account = salesforce.records("Account")[0]
    assert record["AccountId"] == account["Id"]
    assert record["Name"] == f"Acme: premium, 15 seats ({sub.number})"
    assert (record["StageName"], record["Amount_Cents__c"]) == ("Closed Won", total)
    assert (record["CurrencyIsoCode"], record["CloseDate"]) == ("USD", "2026-07-02")
    (message,) = await crm_messages(db)
    order_row = (await db.scalars(sa.select(Order))).one()
    assert message.idempotency_key == f"order:{order_row.id}:crm"
    assert message.status == OutboxStatus.DONE

    # The answer was lost, say: the message is carried out again, under the same key.
    message.status, message.available_at = OutboxStatus.PENDING, clock.now()
    await db.flush()
    await Worker(runtime, OPTIONS).run_once()
    # And the client places the same order again with its key.
    again = await place(api, token, quoted)

    assert again["order"]["id"] == placed["order"]["id"]
    assert salesforce.calls("POST", "/services/data/*/composite") == 2
    assert len(salesforce.records("Opportunity")) == 1
    assert [m.status for m in await crm_messages(db)] == [OutboxStatus.DONE]


async def test_a_customer_without_a_crm_account_queues_nothing(
    db: AsyncSession, api: Api, runtime: Runtime, clock: FixedClock, settings: Settings
) -> None:
    customer = await f.customer(db, crm_ref=None)
    owner = await f.user(db, member_of=customer, role=MemberRole.OWNER)
    sub = await f.subscription(db, customer, seats=10, seats_in_use=8, max_seats_used=8)
    token = user_token(settings, owner)
    clock.set(at(date(2026, 7, 2)))
    order = {
        "subscriptionId": to_global_id("Subscription", sub.id or 0),
        "actions": [{"addSeats": {"seats": 1}}],
    }
    placed = await place(api, token, (await quote(api, token, **order))["token"])

    assert placed["order"]["status"] == "COMPLETED"
    assert await crm_messages(db) == []


async def test_salesforce_api_usage_is_on_metrics_as_its_last_answer_said(
    api: Api, runtime: Runtime, salesforce: SalesforceFake
) -> None:
    runtime.settings = runtime.settings.model_copy(update={"crm_provider": "salesforce"})
    used, limit = "fulfillment_vendor_api_requests_used", "fulfillment_vendor_api_requests_limit"
    assert (await scrape(api.client)).label_values(used, "implementation") == set()  # no call yet

    await runtime.providers.crm.upsert_account(crm_account("crm-usage"))
    await runtime.providers.crm.get_accounts(["crm-usage"])
    shown = await scrape(api.client)

    assert salesforce.api_used >= 2
    assert shown.value(used, kind="crm", implementation="salesforce") == salesforce.api_used
    assert shown.value(limit, kind="crm", implementation="salesforce") == API_LIMIT
