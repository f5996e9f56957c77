"""Invoice sync: check the local copies of a subscription's invoices against the billing
provider, which owns them once issued (docs/architecture.md, Source of truth).

Runs with each `billing.sync_subscription` message (after `subscriptions.sync`), so an
invoice an order or a job issued is checked by the sync that follows it. An invoice issued
at the provider (it has a `provider_ref`) and still `PENDING` becomes `SYNCED` when the
provider's total, balance and currency are the local ones, `DRIFTED` when they differ, and
`FAILED` when the provider has no such invoice (it will not appear by retrying). One not
issued there yet stays `PENDING`.
"""

from __future__ import annotations

from app.db.repositories import invoices as repo
from app.db.tables import Invoice
from app.db.unit_of_work import unit_of_work
from app.domain.enums import SyncStatus
from app.providers.billing import InvoiceRecord
from app.runtime import Runtime


async def check(runtime: Runtime, subscription_id: int) -> dict[int, SyncStatus]:
    """The verdict for each of the subscription's unchecked invoices, by invoice id."""
    async with unit_of_work(runtime.sessions, write=False) as session:
        pending = await repo.awaiting_sync(session, subscription_id)
    if not pending:
        return {}
    refs = [invoice.provider_ref for invoice in pending if invoice.provider_ref]
    remote = await runtime.providers.billing.get_invoices(refs)
    return {
        invoice.id or 0: verdict(invoice, remote.get(invoice.provider_ref or ""))
        for invoice in pending
    }


def verdict(local: Invoice, remote: InvoiceRecord | None) -> SyncStatus:
    if remote is None:
        return SyncStatus.FAILED
    same = (remote.currency, remote.total, remote.balance) == (
        local.currency,
        local.total,
        local.total - local.amount_paid,
    )
    return SyncStatus.SYNCED if same else SyncStatus.DRIFTED
