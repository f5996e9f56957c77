"""Stripe objects (as plain dicts, `StripeObject.to_dict()`) -> the neutral records.

What Stripe has no field for is kept in metadata and read back here: an account's currency,
a subscription's term and item order, an invoice's subscription, due date and, per line, the
caller's quantity, unit amount, product code and period (Stripe's invoice item holds only the
line's amount). Stripe's currencies are lower case; the records' are upper case.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time
from typing import Any

from app.providers.billing.records import (
    BillingAccountRecord,
    BillingSubscriptionRecord,
    InvoiceLineRecord,
    InvoiceRecord,
    InvoiceStatus,
    PaymentRecord,
    PaymentStatus,
    RefundRecord,
    RefundStatus,
    SubscriptionItem,
    SubscriptionStatus,
)

Obj = Mapping[str, Any]

_INVOICE_STATUS = {
    "draft": InvoiceStatus.OPEN,
    "open": InvoiceStatus.OPEN,
    "uncollectible": InvoiceStatus.OPEN,
    "paid": InvoiceStatus.PAID,
    "void": InvoiceStatus.VOID,
}


def timestamp(day: date) -> int:
    """Midnight UTC of `day`, as Stripe's Unix timestamps."""
    return int(datetime.combine(day, time(), UTC).timestamp())


def day_of(stamp: int) -> date:
    return datetime.fromtimestamp(stamp, UTC).date()


def ref_of(value: Any) -> str:
    """An expandable field: an id, or the expanded object."""
    return str(value["id"] if isinstance(value, Mapping) else value)


def metadata(obj: Obj) -> Mapping[str, str]:
    return obj.get("metadata") or {}


def item_order(codes: Sequence[str]) -> str:
    return json.dumps(list(codes), separators=(",", ":"))


# The caller's payment-method token, and the PaymentMethod attached from it, as the
# customer's metadata keeps them (accounts.py).
TOKEN, ATTACHED = "payment_method_token", "payment_method_id"


def payment_method(customer: Obj) -> tuple[str | None, str | None]:
    """The customer's default PaymentMethod id, and the token it was attached from (None when
    the default was set some other way, e.g. in Stripe's dashboard)."""
    default = (customer.get("invoice_settings") or {}).get("default_payment_method")
    if not default:
        return None, None
    default_id, meta = ref_of(default), metadata(customer)
    return default_id, meta.get(TOKEN) if meta.get(ATTACHED) == default_id else None


def account(customer: Obj) -> BillingAccountRecord:
    default_id, token = payment_method(customer)
    return BillingAccountRecord(
        ref=customer["id"],
        name=customer.get("name") or "",
        email=customer.get("email") or "",
        currency=metadata(customer).get("currency") or str(customer.get("currency", "")).upper(),
        payment_method=token or default_id,
    )


def subscription(sub: Obj, items: Sequence[Obj]) -> BillingSubscriptionRecord:
    meta = metadata(sub)
    ended = sub.get("status") in ("canceled", "incomplete_expired")
    renewing = not ended and not sub.get("cancel_at_period_end")
    mapped = {
        price_code(item["price"]): SubscriptionItem(
            product_code=price_code(item["price"]),
            quantity=int(item.get("quantity") or 0),
            unit_amount=int(item["price"]["unit_amount"]),
        )
        for item in items
    }
    order = json.loads(meta.get("item_order") or "[]")
    ordered = [mapped[code] for code in order if code in mapped]
    ordered += [item for code, item in mapped.items() if code not in order]
    return BillingSubscriptionRecord(
        ref=sub["id"],
        account_ref=ref_of(sub["customer"]),
        status=(SubscriptionStatus.ACTIVE if renewing else SubscriptionStatus.CANCELLED).value,
        term_start=date.fromisoformat(meta["term_start"]),
        term_end=date.fromisoformat(meta["term_end"]),
        auto_renew=renewing,
        items=tuple(ordered),
    )


def price_code(price: Obj) -> str:
    return metadata(price).get("product_code") or str(price.get("lookup_key") or price["id"])


def invoice(inv: Obj, lines: Sequence[Obj]) -> InvoiceRecord:
    meta = metadata(inv)
    issued = (inv.get("status_transitions") or {}).get("finalized_at") or inv["created"]
    ordered = sorted(lines, key=lambda line: int(metadata(line).get("line", "0")))
    return InvoiceRecord(
        ref=inv["id"],
        account_ref=ref_of(inv["customer"]),
        subscription_ref=meta.get("subscription_ref") or None,
        currency=str(inv["currency"]).upper(),
        total=int(inv["total"]),
        balance=int(inv["amount_remaining"]),
        status=_INVOICE_STATUS[inv["status"]].value,
        issued_on=day_of(int(issued)),
        due_on=_due_on(meta, day_of(int(issued))),
        lines=tuple(invoice_line(line) for line in ordered),
    )


def invoice_line(line: Obj) -> InvoiceLineRecord:
    meta = metadata(line)
    start, end = meta.get("period_start"), meta.get("period_end")
    return InvoiceLineRecord(
        description=line.get("description") or "",
        quantity=int(meta.get("quantity", line.get("quantity") or 1)),
        unit_amount=int(meta.get("unit_amount", line["amount"])),
        amount=int(line["amount"]),
        product_code=meta.get("product_code") or None,
        period_start=date.fromisoformat(start) if start else None,
        period_end=date.fromisoformat(end) if end else None,
    )


def line_metadata(n: int, line: InvoiceLineRecord) -> dict[str, str]:
    meta = {"line": str(n), "quantity": str(line.quantity), "unit_amount": str(line.unit_amount)}
    if line.product_code is not None:
        meta["product_code"] = line.product_code
    if line.period_start is not None:
        meta["period_start"] = line.period_start.isoformat()
    if line.period_end is not None:
        meta["period_end"] = line.period_end.isoformat()
    return meta


def failure_code(charge: Obj) -> str | None:
    """The decline code when the issuer gave one, else Stripe's failure code."""
    outcome = charge.get("outcome") or {}
    reason = outcome.get("reason") if outcome.get("type") == "issuer_declined" else None
    return reason or charge.get("failure_code")


def payment(charge: Obj, invoice_ref: str) -> PaymentRecord:
    succeeded = charge.get("status") == "succeeded"
    return PaymentRecord(
        ref=charge["id"],
        invoice_ref=invoice_ref,
        amount=int(charge["amount"]),
        currency=str(charge["currency"]).upper(),
        status=(PaymentStatus.SUCCEEDED if succeeded else PaymentStatus.FAILED).value,
        failure_code=None if succeeded else failure_code(charge),
    )


def refund(re: Obj, invoice_ref: str) -> RefundRecord:
    return RefundRecord(
        ref=re["id"],
        payment_ref=ref_of(re["charge"]),
        invoice_ref=invoice_ref,
        amount=int(re["amount"]),
        currency=str(re["currency"]).upper(),
        status=RefundStatus.SUCCEEDED.value,
    )


def _due_on(meta: Mapping[str, str], issued_on: date) -> date:
    """Due as the caller asked, but never before the issue date (NewInvoice: a retried
    request keeps its first due date)."""
    asked = date.fromisoformat(meta["due_on"]) if "due_on" in meta else issued_on
    return max(asked, issued_on)
