"""POST /webhooks/stripe, over HTTP, and the worker that processes what it stored.

A delivery is checked (signature, freshness, size, shape) and stored once per event id with
an outbox message, answered 202 with no provider call; a replay is 200 and stores nothing.
The worker then reads each object's CURRENT state from the billing provider (the local one
here, whose refs are the Stripe ids of these events), so duplicated or reordered events end
in the same state."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.clock import FixedClock
from app.config import Settings
from app.db.tables import (
    AuditEvent,
    BillingAccount,
    Invoice,
    Notification,
    Order,
    Payment,
    Subscription,
)
from app.domain.enums import MemberRole, NotificationKind, OrderStatus, SyncStatus
from app.main import create_app
from app.providers.billing import InvoiceLineRecord, NewAccount, NewInvoice, SubscriptionItem
from app.runtime import Runtime, build_runtime
from app.services import outbox
from tests.api.webhook_support import (
    SECRET,
    deliver,
    event,
    hooked_runtime,
    outcomes,
    run_outbox,
    stored,
)
from tests.fakes.stripe.signing import signature_header
from tests.support import factories as f
from tests.support.graphql import Api, user_token

TOTAL = 348_000


@pytest.fixture
def runtime(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], clock: FixedClock
) -> Runtime:
    return hooked_runtime(settings, session_factory, clock)


@pytest.fixture
def client(api: Api) -> httpx.AsyncClient:
    return api.client


@dataclass
class Billed:
    """A customer (one owner) with a billing account, a subscription and an OPEN invoice,
    each known to the billing provider by its ref."""

    customer_id: int
    account_ref: str
    invoice_id: int
    invoice_ref: str
    subscription: Subscription
    token: str


def _key() -> str:
    return f"test:{uuid.uuid4().hex}"


async def billed(db: AsyncSession, settings: Settings, runtime: Runtime) -> Billed:
    billing = runtime.providers.billing
    customer = await f.customer(db)
    owner = await f.user(db, member_of=customer, role=MemberRole.OWNER)
    remote_account = await billing.create_account(
        NewAccount("Acme", "bill@example.com", "USD", "pm_card_visa"), idempotency_key=_key()
    )
    account = await f.billing_account(db, customer, provider_ref=remote_account.ref)
    sub = await f.subscription(db, customer, account=account)
    line = InvoiceLineRecord("Premium, 10 seats", 10, 34_800, TOTAL)
    remote = await billing.create_invoice(
        NewInvoice(remote_account.ref, None, "USD", (line,), date(2026, 6, 30)),
        idempotency_key=_key(),
    )
    invoice = await f.invoice(db, sub, (TOTAL,), provider_ref=remote.ref)
    assert customer.id is not None and invoice.id is not None
    return Billed(
        customer.id, remote_account.ref, invoice.id, remote.ref, sub, user_token(settings, owner)
    )


async def pay(runtime: Runtime, billed: Billed, card: str) -> str:
    """A payment attempt at the provider (as a Stripe retry would make): its ref."""
    payment = await runtime.providers.billing.collect_payment(
        billed.invoice_ref, card, idempotency_key=_key()
    )
    return payment.ref


def invoice_event(event_type: str, billed: Billed, event_id: str | None = None) -> bytes:
    # The payload says PAID whatever happened: the worker must not believe it.
    obj = {"id": billed.invoice_ref, "object": "invoice", "status": "paid", "amount_paid": 1}
    return event(event_type, obj, event_id)


async def invoice_state(db: AsyncSession, billed: Billed) -> tuple[str, int, str]:
    invoice = await db.get(Invoice, billed.invoice_id, populate_existing=True)
    assert invoice is not None
    return invoice.status.value, invoice.amount_paid, invoice.sync_status.value


async def payments(db: AsyncSession, billed: Billed) -> list[tuple[str | None, str]]:
    rows = await db.execute(
        sa.select(col(Payment.provider_ref), col(Payment.status))
        .where(col(Payment.invoice_id) == billed.invoice_id)
        .order_by(col(Payment.provider_ref))
    )
    return [(ref, status.value) for ref, status in rows]


async def failure_notices(db: AsyncSession, billed: Billed) -> list[str]:
    rows = await db.scalars(
        sa.select(col(Notification.dedupe_key)).where(
            col(Notification.customer_id) == billed.customer_id,
            col(Notification.kind) == NotificationKind.PAYMENT_FAILED,
        )
    )
    return list(rows)


# -- one event, twice -------------------------------------------------------------------------


async def test_a_failed_payment_is_recorded_and_notified_once_however_often_it_arrives(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, runtime: Runtime
) -> None:
    billed_ = await billed(db, settings, runtime)
    declined = await pay(runtime, billed_, "pm_card_declined")
    body = invoice_event("invoice.payment_failed", billed_, "evt_failed_once")

    first = await deliver(client, body)
    again = await deliver(client, body)  # Stripe retries when it missed our answer
    await run_outbox(runtime)
    late = await deliver(client, body)  # and again after it was processed
    await run_outbox(runtime)

    assert (first.status_code, again.status_code, late.status_code) == (202, 200, 200)
    assert first.json() == {"received": True, "eventId": "evt_failed_once", "duplicate": False}
    assert again.json()["duplicate"] is True
    assert await stored(db) == (1, 1)
    assert await invoice_state(db, billed_) == ("OPEN", 0, "SYNCED")
    assert await payments(db, billed_) == [(declined, "FAILED")]
    assert await failure_notices(db, billed_) == [f"payment-failed:{declined}"]
    assert await outcomes(db) == [("invoice.payment_failed", "refreshed")]


async def test_two_events_about_one_payment_record_it_once(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, runtime: Runtime
) -> None:
    billed_ = await billed(db, settings, runtime)
    declined = await pay(runtime, billed_, "pm_card_declined")

    for event_type in ("invoice.payment_failed", "invoice.payment_failed", "invoice.voided"):
        assert (await deliver(client, invoice_event(event_type, billed_))).status_code == 202
    await run_outbox(runtime)

    assert await stored(db) == (3, 3)
    assert await payments(db, billed_) == [(declined, "FAILED")]
    assert await failure_notices(db, billed_) == [f"payment-failed:{declined}"]
    assert await invoice_state(db, billed_) == ("OPEN", 0, "SYNCED")  # not voided at all


# -- order ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "arrival",
    [
        ("invoice.payment_failed", "invoice.paid"),
        ("invoice.paid", "invoice.payment_failed"),
    ],
)
async def test_events_in_any_order_end_in_the_providers_current_state(
    client: httpx.AsyncClient,
    db: AsyncSession,
    settings: Settings,
    runtime: Runtime,
    arrival: Sequence[str],
) -> None:
    billed_ = await billed(db, settings, runtime)
    declined = await pay(runtime, billed_, "pm_card_declined")
    paid = await pay(runtime, billed_, "pm_card_visa")

    for event_type in arrival:  # each processed before the next arrives
        assert (await deliver(client, invoice_event(event_type, billed_))).status_code == 202
        await run_outbox(runtime)

    assert await invoice_state(db, billed_) == ("PAID", TOTAL, "SYNCED")
    assert await payments(db, billed_) == sorted([(declined, "FAILED"), (paid, "SUCCEEDED")])
    # By the time we heard of the decline, the invoice was paid: nothing for the customer to do.
    assert await failure_notices(db, billed_) == []


async def test_a_decline_heard_while_open_notifies_then_the_payment_settles_it(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, runtime: Runtime
) -> None:
    billed_ = await billed(db, settings, runtime)
    declined = await pay(runtime, billed_, "pm_card_declined")
    await deliver(client, invoice_event("invoice.payment_failed", billed_))
    await run_outbox(runtime)
    paid = await pay(runtime, billed_, "pm_card_visa")
    await deliver(client, invoice_event("invoice.paid", billed_))
    await run_outbox(runtime)

    assert await invoice_state(db, billed_) == ("PAID", TOTAL, "SYNCED")
    assert await payments(db, billed_) == sorted([(declined, "FAILED"), (paid, "SUCCEEDED")])
    assert await failure_notices(db, billed_) == [f"payment-failed:{declined}"]


async def test_a_voided_invoice_reads_void(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, runtime: Runtime
) -> None:
    billed_ = await billed(db, settings, runtime)
    await runtime.providers.billing.void_invoice(billed_.invoice_ref, idempotency_key=_key())

    await deliver(client, invoice_event("invoice.voided", billed_))
    await run_outbox(runtime)

    assert await invoice_state(db, billed_) == ("VOID", 0, "SYNCED")
    assert await payments(db, billed_) == []


# -- refused ----------------------------------------------------------------------------------


GOOD = event("invoice.paid", {"id": "inv_000001", "object": "invoice"}, "evt_refused")
STALE = int(time.time()) - 301
REFUSALS = {
    "signed with another secret": (GOOD, {"secret": "whsec_someone_else"}, "SIGNATURE_INVALID"),
    "no signature": (GOOD, {"unsigned": True}, "SIGNATURE_INVALID"),
    "an empty signature": (GOOD, {"signature": ""}, "SIGNATURE_INVALID"),
    "a header without v1": (GOOD, {"signature": "t=1,v0=abc"}, "SIGNATURE_INVALID"),
    "an unreadable header": (GOOD, {"signature": "garbage"}, "SIGNATURE_INVALID"),
    "older than 300 s": (GOOD, {"timestamp": STALE}, "SIGNATURE_INVALID"),
    "not JSON": (b"{not json", {}, "PAYLOAD_INVALID"),
    "not UTF-8": (b"\xff\xfe", {}, "PAYLOAD_INVALID"),
    "not an object": (b"[1, 2]", {}, "PAYLOAD_INVALID"),
    "no event id": (b'{"type": "invoice.paid", "data": {"object": {}}}', {}, "PAYLOAD_INVALID"),
    "no data.object": (b'{"id": "evt_1", "type": "invoice.paid"}', {}, "PAYLOAD_INVALID"),
    "too large": (b" " * (256 * 1024) + GOOD, {}, "PAYLOAD_TOO_LARGE"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
async def test_a_delivery_that_is_not_verifiably_stripes_is_refused_and_nothing_stored(
    client: httpx.AsyncClient, db: AsyncSession, case: str
) -> None:
    body, changes, code = REFUSALS[case]

    response = await deliver(client, body, **changes)

    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == code
    assert await stored(db) == (0, 0)


async def test_a_signed_body_changed_on_the_way_is_refused(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    header = signature_header(GOOD, SECRET, int(time.time()))
    forged = GOOD.replace(b"inv_000001", b"inv_000002")

    response = await deliver(client, forged, signature=header)

    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "SIGNATURE_INVALID"
    assert await stored(db) == (0, 0)


async def test_without_a_secret_configured_there_is_no_such_route(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    db: AsyncSession,
) -> None:
    plain = build_runtime(settings, sessions=session_factory, clock=clock)
    transport = httpx.ASGITransport(app=create_app(runtime=plain))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await deliver(client, GOOD)
        get = await client.get("/webhooks/stripe")

    assert response.status_code == 404
    assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert get.status_code == 405
    assert await stored(db) == (0, 0)


# -- fast answer ------------------------------------------------------------------------------


class CountingBilling:
    """The billing provider, with the names of the methods called on it."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.calls = inner, list[str]()

    def __getattr__(self, name: str) -> Any:
        self.calls.append(name)
        return getattr(self.inner, name)


async def test_only_the_events_id_type_and_object_ref_are_stored(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """The event's customer data is never read, so it is not kept (docs/api-guide.md "Webhooks
    in")."""
    customer = {
        "id": "cus_stored_1",
        "object": "customer",
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "address": {"line1": "12 St James's Square", "city": "London"},
        "invoice_settings": {"default_payment_method": "pm_card_visa"},
    }
    body = event("customer.updated", customer, event_id="evt_stored_1")

    assert (await deliver(client, body)).status_code == 202

    row = (await db.execute(sa.text("SELECT * FROM webhook_event"))).mappings().one()
    assert sorted(row) == [
        "event_id",
        "id",
        "kind",
        "object_ref",
        "outcome",
        "processed_at",
        "provider",
        "received_at",
        "type",
    ]
    assert (row["event_id"], row["type"], row["kind"], row["object_ref"]) == (
        "evt_stored_1",
        "customer.updated",
        "ACCOUNT",
        "cus_stored_1",
    )
    assert not any("ada" in str(value).lower() for value in row.values())


async def test_the_answer_comes_before_any_provider_call(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, runtime: Runtime
) -> None:
    billed_ = await billed(db, settings, runtime)
    await pay(runtime, billed_, "pm_card_visa")
    counting = CountingBilling(runtime.providers.billing)
    runtime.providers.billing = counting  # type: ignore[assignment]

    response = await deliver(client, invoice_event("invoice.paid", billed_))

    assert response.status_code == 202
    assert counting.calls == []
    assert await invoice_state(db, billed_) == ("OPEN", 0, "PENDING")
    await run_outbox(runtime)
    assert counting.calls == ["get_invoices", "get_invoice_payments"]
    assert await invoice_state(db, billed_) == ("PAID", TOTAL, "SYNCED")


# -- payment methods --------------------------------------------------------------------------


async def _payment_method(db: AsyncSession, ref: str) -> str | None:
    stmt = sa.select(BillingAccount).where(col(BillingAccount.provider_ref) == ref)
    account = (await db.scalars(stmt.execution_options(populate_existing=True))).one()
    return account.payment_method


@pytest.mark.parametrize("event_type", ["customer.updated", "payment_method.attached"])
async def test_a_payment_method_changed_at_the_provider_is_copied(
    client: httpx.AsyncClient,
    db: AsyncSession,
    settings: Settings,
    runtime: Runtime,
    event_type: str,
) -> None:
    billed_ = await billed(db, settings, runtime)
    await runtime.providers.billing.set_payment_method(
        billed_.account_ref, "pm_card_mastercard", idempotency_key=_key()
    )
    obj = (
        {"id": billed_.account_ref, "object": "customer"}
        if event_type == "customer.updated"
        else {"id": "pm_123", "object": "payment_method", "customer": billed_.account_ref}
    )

    await deliver(client, event(event_type, obj))
    await run_outbox(runtime)

    assert await _payment_method(db, billed_.account_ref) == "pm_card_mastercard"
    assert await outcomes(db) == [(event_type, "refreshed")]


# -- nothing to do ----------------------------------------------------------------------------


async def test_unknown_objects_and_event_types_are_stored_and_processed_as_no_ops(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    deliveries = [
        event("invoice.paid", {"id": "inv_999999", "object": "invoice"}),
        event("customer.subscription.updated", {"id": "sub_999999", "object": "subscription"}),
        event("customer.updated", {"id": "acct_999999", "object": "customer"}),
        event("payment_method.detached", {"id": "pm_1", "object": "payment_method"}),
        event("charge.refunded", {"id": "ch_1", "object": "charge"}),
    ]
    for body in deliveries:
        assert (await deliver(client, body)).status_code == 202

    with caplog.at_level("INFO", logger="app.inbound"):
        await run_outbox(runtime)

    assert await outcomes(db) == [
        ("invoice.paid", "unknown_object"),
        ("customer.subscription.updated", "unknown_object"),
        ("customer.updated", "unknown_object"),
        ("payment_method.detached", "ignored"),  # no customer to refresh
        ("charge.refunded", "ignored"),
    ]
    assert sum("charge.refunded" in r.getMessage() for r in caplog.records) == 1
    assert await stored(db) == (5, 5)


# -- subscriptions ----------------------------------------------------------------------------

SYNC_STATUS = "query($n: String!) { subscription(number: $n) { syncStatus seats } }"


async def _billing_sync(db: AsyncSession, runtime: Runtime, sub: Subscription) -> None:
    payload = {"subscription_id": sub.id}
    await outbox.enqueue(db, outbox.BILLING_SYNC, payload, _key(), now=runtime.clock.now())
    await db.flush()
    await run_outbox(runtime)


async def _sync_audit(db: AsyncSession, sub: Subscription) -> list[tuple[str, str, Any]]:
    rows = await db.execute(
        sa.select(AuditEvent.actor_id, AuditEvent.action, AuditEvent.after)
        .where(col(AuditEvent.target_type) == "Subscription")
        .where(col(AuditEvent.target_id) == str(sub.id))
        .where(col(AuditEvent.action).like("subscription.billing_%"))
        .order_by(col(AuditEvent.id))
    )
    return [(actor, action, after) for actor, action, after in rows]


async def test_a_subscription_changed_at_the_provider_reads_drifted_until_billing_sync(
    api: Api, db: AsyncSession, settings: Settings, runtime: Runtime, clock: FixedClock
) -> None:
    billed_ = await billed(db, settings, runtime)
    sub = billed_.subscription
    await _billing_sync(db, runtime, sub)  # the provider learns of it
    await db.refresh(sub)
    ref = sub.provider_ref
    assert ref is not None
    billing = runtime.providers.billing
    expected = (await billing.get_subscriptions([ref]))[ref].items
    changed = (SubscriptionItem("premium", 15, 34_800),)

    async def status() -> str:
        data = await api.data(SYNC_STATUS, {"n": sub.number}, token=billed_.token)
        value: str = data["subscription"]["syncStatus"]
        return value

    async def told(ref: str) -> None:
        sent = event("customer.subscription.updated", {"id": ref, "object": "subscription"})
        assert (await deliver(api.client, sent)).status_code == 202
        await run_outbox(runtime)

    assert await status() == "SYNCED"
    await billing.amend_subscription(
        sub.provider_ref, changed, clock.today(), idempotency_key=_key()
    )
    await told(ref)
    drifted = await status()
    await told(ref)  # the same news again changes nothing
    await _billing_sync(db, runtime, sub)  # amends the provider back to what we sell
    after_sync = await status()
    await told(ref)  # the provider reports the amendment

    assert (drifted, after_sync, await status()) == ("DRIFTED", "SYNCED", "SYNCED")
    assert (await billing.get_subscriptions([ref]))[ref].items == expected
    assert await _sync_audit(db, sub) == [
        ("billing-webhooks", "subscription.billing_drifted",
         {"sync_status": "DRIFTED", "differs": ["items"]}),
    ]  # fmt: skip


async def test_a_drift_undone_at_the_provider_reads_synced_again(
    api: Api, db: AsyncSession, settings: Settings, runtime: Runtime, clock: FixedClock
) -> None:
    billed_ = await billed(db, settings, runtime)
    sub = billed_.subscription
    await _billing_sync(db, runtime, sub)
    await db.refresh(sub)
    ref = sub.provider_ref
    assert ref is not None
    billing = runtime.providers.billing
    await billing.cancel_subscription(ref, idempotency_key=_key())
    await deliver(api.client, event("customer.subscription.updated", {"id": ref}))
    await run_outbox(runtime)
    await billing.reactivate_subscription(ref, idempotency_key=_key())
    await deliver(api.client, event("customer.subscription.updated", {"id": ref}))
    await run_outbox(runtime)

    await db.refresh(sub)
    assert sub.sync_status.value == "SYNCED"
    assert [(actor, action, after["differs"]) for actor, action, after in
            await _sync_audit(db, sub)] == [
        ("billing-webhooks", "subscription.billing_drifted", ["auto_renew"]),
        ("billing-webhooks", "subscription.billing_synced", []),
    ]  # fmt: skip


# -- left to a local change in progress -------------------------------------------------------


async def test_an_invoice_whose_order_is_executing_is_left_to_the_order(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, runtime: Runtime
) -> None:
    billed_ = await billed(db, settings, runtime)
    order = await f.add(
        db,
        Order(
            customer_id=billed_.customer_id,
            status=OrderStatus.PENDING,
            idempotency_key=_key(),
            quote_digest="d" * 64,
            currency="USD",
            subtotal=TOTAL,
            total=TOTAL,
            placed_by="user:1",
        ),
    )
    invoice = await db.get(Invoice, billed_.invoice_id)
    assert invoice is not None
    invoice.order_id = order.id
    await db.flush()
    await pay(runtime, billed_, "pm_card_visa")  # the order's charge, not recorded yet

    await deliver(client, invoice_event("invoice.paid", billed_))
    await run_outbox(runtime)

    assert await outcomes(db) == [("invoice.paid", "left_to_local_change")]
    assert await invoice_state(db, billed_) == ("OPEN", 0, "PENDING")
    assert await payments(db, billed_) == []


async def test_a_subscription_with_a_billing_sync_queued_is_left_to_it(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, runtime: Runtime
) -> None:
    billed_ = await billed(db, settings, runtime)
    sub = billed_.subscription
    await _billing_sync(db, runtime, sub)
    await db.refresh(sub)
    ref = sub.provider_ref
    assert ref is not None
    await runtime.providers.billing.cancel_subscription(ref, idempotency_key=_key())
    sub.sync_status = SyncStatus.PENDING  # a local change queued its sync
    await db.flush()

    await deliver(client, event("customer.subscription.deleted", {"id": ref}))
    await run_outbox(runtime)

    await db.refresh(sub)
    assert sub.sync_status is SyncStatus.PENDING
    assert await outcomes(db) == [("customer.subscription.deleted", "left_to_local_change")]
    assert await _sync_audit(db, sub) == []
