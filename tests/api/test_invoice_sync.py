"""Invoice sync status through the API: an invoice an order issued reads PENDING until the
worker's billing sync checks it against the provider, then SYNCED; DRIFTED when the provider's
copy differs, FAILED when the provider has no such invoice."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import FixedClock
from app.config import Settings
from app.db.tables import Subscription
from app.domain.enums import MemberRole
from app.providers.billing import BillingProvider, InvoiceRecord
from app.runtime import Runtime
from app.services.worker.options import WorkerOptions
from app.services.worker.runner import Worker
from resolvers.ids import to_global_id
from tests.api.orders_support import at, place, quote
from tests.support import factories as f
from tests.support.graphql import Api, user_token

INVOICE = """query($n: String!) { subscription(number: $n) {
  syncStatus invoices(first: 5) { nodes { number status syncStatus total { amount } } } } }"""


class ProviderView:
    """The local provider, with its invoices read back as `change` makes them."""

    def __init__(self, inner: BillingProvider, change: Any) -> None:
        self.inner, self.change = inner, change

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def get_invoices(self, refs: Sequence[str]) -> Mapping[str, InvoiceRecord]:
        found = await self.inner.get_invoices(refs)
        return {ref: changed for ref, r in found.items() if (changed := self.change(r))}


async def _ordered(
    api: Api, db: AsyncSession, settings: Settings, clock: FixedClock
) -> tuple[Subscription, str]:
    customer = await f.customer(db)
    token = user_token(settings, await f.user(db, member_of=customer, role=MemberRole.OWNER))
    sub = await f.subscription(db, customer, seats=10)
    clock.set(at(date(2026, 7, 2)))
    order = {
        "subscriptionId": to_global_id("Subscription", sub.id or 0),
        "actions": [{"addSeats": {"seats": 5}}],
    }
    placed = await place(api, token, (await quote(api, token, **order))["token"])
    assert placed["order"]["invoice"]["status"] == "PAID", placed
    return sub, token


async def _after_the_worker(
    api: Api, runtime: Runtime, clock: FixedClock, sub: Subscription, token: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    before = (await api.data(INVOICE, {"n": sub.number}, token=token))["subscription"]
    # Orders queue their messages on the wall clock; move the test clock past it.
    clock.set(max(clock.now(), datetime.now(UTC)) + timedelta(minutes=1))
    await Worker(runtime, WorkerOptions(jitter=0, worker_id="invoice-sync")).run_once()
    after = (await api.data(INVOICE, {"n": sub.number}, token=token))["subscription"]
    return before, after


async def test_an_order_invoice_reads_synced_after_the_worker_runs(
    api: Api, db: AsyncSession, settings: Settings, clock: FixedClock, runtime: Runtime
) -> None:
    sub, token = await _ordered(api, db, settings, clock)

    before, after = await _after_the_worker(api, runtime, clock, sub, token)

    assert [n["syncStatus"] for n in before["invoices"]["nodes"]] == ["PENDING"]
    assert after["syncStatus"] == "SYNCED"
    assert [(n["status"], n["syncStatus"], int(n["total"]["amount"])) for n in
            after["invoices"]["nodes"]] == [("PAID", "SYNCED", 87_238)]  # fmt: skip


async def test_an_invoice_the_provider_does_not_have_reads_failed(
    api: Api, db: AsyncSession, settings: Settings, clock: FixedClock, runtime: Runtime
) -> None:
    sub, token = await _ordered(api, db, settings, clock)
    runtime.providers.billing = ProviderView(runtime.providers.billing, lambda record: None)  # type: ignore[assignment]

    _, after = await _after_the_worker(api, runtime, clock, sub, token)

    assert [n["syncStatus"] for n in after["invoices"]["nodes"]] == ["FAILED"]


async def test_an_invoice_whose_provider_copy_differs_reads_drifted(
    api: Api, db: AsyncSession, settings: Settings, clock: FixedClock, runtime: Runtime
) -> None:
    sub, token = await _ordered(api, db, settings, clock)
    still_open = ProviderView(runtime.providers.billing, lambda r: replace(r, balance=r.total))
    runtime.providers.billing = still_open  # type: ignore[assignment]

    _, after = await _after_the_worker(api, runtime, clock, sub, token)

    assert [n["syncStatus"] for n in after["invoices"]["nodes"]] == ["DRIFTED"]
