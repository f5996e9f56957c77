"""Field-by-field comparison of a subscription's local copy with the billing provider's and
the CRM's. Values are rendered as text, as a finding stores them.

Billing: the plan (the item of the local plan's product), its seats (that item's quantity),
the other items (add-ons, co-termed storage packs: product, quantity, price per term), the
term and the status (ACTIVE, or CANCELLED when auto-renew is off), then each invoice issued
there: total, balance (total less paid), state and currency. CRM: plan, seats, term and
status of its mirror (app/services/crm_mirror.py)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date

from app.db.tables import Invoice
from app.domain.drift import Difference
from app.domain.enums import DriftSystem, InvoiceStatus
from app.providers.billing import BillingSubscriptionRecord, InvoiceRecord, SubscriptionItem
from app.providers.billing.records import SubscriptionStatus as BillingStatus
from app.providers.crm import CrmSubscription
from app.services.billing.subscriptions import LocalState

BILLING, CRM = DriftSystem.BILLING, DriftSystem.CRM
# Local invoice states the provider has a name for; others (DRAFT, REFUNDED, ...) have no
# counterpart there, and only their amounts are compared.
_COMPARABLE_STATES = frozenset({InvoiceStatus.OPEN, InvoiceStatus.PAID, InvoiceStatus.VOID})


def billing_differences(
    state: LocalState, plan_code: str, remote: BillingSubscriptionRecord | None
) -> list[Difference]:
    local = state.subscription
    if remote is None:
        return [Difference(BILLING, "missing", local.provider_ref, None)]
    found: list[Difference] = []
    local_plan = _plan_item(state.items, plan_code)
    remote_plans = [item for item in remote.items if item.product_code == plan_code]
    remote_plan = remote_plans[0] if len(remote_plans) == 1 else None
    if remote_plan is None:
        others = sorted({item.product_code for item in remote.items} - _codes(state.items))
        found.append(Difference(BILLING, "plan", plan_code, ",".join(others) or None))
    elif local_plan is not None and remote_plan.quantity != local_plan.quantity:
        found.append(
            Difference(BILLING, "seats", str(local_plan.quantity), str(remote_plan.quantity))
        )
    local_rest = [item for item in state.items if item is not local_plan]
    remote_rest = [item for item in remote.items if item is not remote_plan]
    priced_alike = (
        remote_plan is None
        or local_plan is None
        or remote_plan.unit_amount == local_plan.unit_amount
    )
    if Counter(local_rest) != Counter(remote_rest) or not priced_alike:
        found.append(Difference(BILLING, "items", _items(state.items), _items(remote.items)))
    found += _term(BILLING, local.term_start, local.term_end, remote.term_start, remote.term_end)
    expected = BillingStatus.ACTIVE if local.auto_renew else BillingStatus.CANCELLED
    if remote.status != expected or remote.auto_renew != local.auto_renew:
        found.append(Difference(BILLING, "status", expected.value, remote.status))
    return found


def invoice_differences(
    invoices: Sequence[Invoice], remote: Mapping[str, InvoiceRecord]
) -> list[Difference]:
    """The money of each invoice issued at the provider (one with a `provider_ref`)."""
    found: list[Difference] = []
    for invoice in invoices:
        if invoice.provider_ref is None:
            continue
        there = remote.get(invoice.provider_ref)
        name = invoice.number
        if there is None:
            found.append(Difference(BILLING, f"invoice.missing:{name}", invoice.provider_ref, None))
            continue
        pairs = [
            ("total", str(invoice.total), str(there.total)),
            ("balance", str(invoice.total - invoice.amount_paid), str(there.balance)),
            ("currency", invoice.currency, there.currency),
        ]
        if invoice.status in _COMPARABLE_STATES:
            pairs.append(("state", invoice.status.value, there.status))
        found += [
            Difference(BILLING, f"invoice.{field}:{name}", mine, theirs)
            for field, mine, theirs in pairs
            if mine != theirs
        ]
    return found


def crm_differences(mirror: CrmSubscription, remote: CrmSubscription | None) -> list[Difference]:
    if remote is None:
        return [Difference(CRM, "missing", mirror.ref, None)]
    found = [
        Difference(CRM, field, str(mine), str(theirs))
        for field, mine, theirs in (
            ("plan", mirror.plan, remote.plan),
            ("seats", mirror.seats, remote.seats),
            ("status", mirror.status, remote.status),
        )
        if mine != theirs
    ]
    return found + _term(
        CRM, mirror.term_start, mirror.term_end, remote.term_start, remote.term_end
    )


def _term(
    system: DriftSystem, start: date, end: date, remote_start: date, remote_end: date
) -> list[Difference]:
    pairs = (("term_start", start, remote_start), ("term_end", end, remote_end))
    return [
        Difference(system, field, mine.isoformat(), theirs.isoformat())
        for field, mine, theirs in pairs
        if mine != theirs
    ]


def _plan_item(items: Sequence[SubscriptionItem], plan_code: str) -> SubscriptionItem | None:
    return next((item for item in items if item.product_code == plan_code), None)


def _codes(items: Sequence[SubscriptionItem]) -> set[str]:
    return {item.product_code for item in items}


def _items(items: Sequence[SubscriptionItem]) -> str:
    """ "duo_pro x5 @ 22800, premium x10 @ 34800": product, quantity, price per term."""
    rendered = sorted(f"{i.product_code} x{i.quantity} @ {i.unit_amount}" for i in items)
    return ", ".join(rendered)[:500]
