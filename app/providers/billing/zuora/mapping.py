"""Zuora objects -> neutral records, and amounts both ways.

Zuora speaks decimal amounts in the currency's major unit (348.00); records speak integer
minor units (34800), converted exactly through Decimal (an amount with more decimals than the
currency has is refused rather than rounded). Zuora's service periods end on their last day
(inclusive); a record's period_end is the day after (exclusive), like a term end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from app.domain.money import minor_unit_exponent
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
from app.providers.billing.zuora.errors import PROVIDER
from app.providers.errors import ProviderRejected

Obj = Mapping[str, Any]
# Custom fields the tenant defines (docs/providers.md "Zuora"): on Subscription, the product codes
# in the caller's order; on Invoice, the subscription it bills; on Payment, the invoice it pays;
# on Order, the digest of the neutral request (subscriptions.py).
ITEM_ORDER = "ItemOrder__c"
SUBSCRIPTION = "SubscriptionNumber__c"
INVOICE = "InvoiceNumber__c"
DIGEST = "RequestDigest__c"


def major(amount: int, currency: str) -> float:
    """Minor units -> the decimal Zuora takes (a float prints back exactly: 872.38)."""
    return float(Decimal(amount).scaleb(-minor_unit_exponent(currency)))


def minor(value: Any, currency: str) -> int:
    scaled = Decimal(str(value or 0)).scaleb(minor_unit_exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ProviderRejected(PROVIDER, "invalid_request", f"{value} has sub-minor units")
    return int(scaled)


def day(value: Any) -> date:
    return date.fromisoformat(str(value)[:10])


def last_day(end: date) -> str:
    """An exclusive end -> Zuora's inclusive one."""
    return (end - timedelta(days=1)).isoformat()


def account(found: Obj, payment_token: str | None) -> BillingAccountRecord:
    basic, billing = found.get("basicInfo") or {}, found.get("billingAndPayment") or {}
    contact = found.get("billToContact") or {}
    return BillingAccountRecord(
        ref=str(basic["accountNumber"]),
        name=str(basic.get("name") or ""),
        email=str(contact.get("workEmail") or ""),
        currency=str(billing.get("currency") or basic.get("currency") or ""),
        payment_method=payment_token,
    )


def subscription(found: Obj) -> BillingSubscriptionRecord:
    currency = str(found.get("currency") or "USD")
    items: list[SubscriptionItem] = []
    for plan in found.get("ratePlans") or []:
        if plan.get("lastChangeType") == "Remove":
            continue
        for charge in plan.get("ratePlanCharges") or []:
            items.append(
                SubscriptionItem(
                    product_code=str(plan["productSku"]),
                    quantity=int(Decimal(str(charge.get("quantity") or 0))),
                    unit_amount=minor(charge.get("price"), currency),
                )
            )
    order = str(found.get(ITEM_ORDER) or "").split(",")
    items.sort(
        key=lambda item: (
            order.index(item.product_code) if item.product_code in order else len(order)
        )
    )
    auto_renew = bool(found.get("autoRenew"))
    active = auto_renew and found.get("status") == "Active"
    return BillingSubscriptionRecord(
        ref=str(found["subscriptionNumber"]),
        account_ref=str(found["accountNumber"]),
        status=(SubscriptionStatus.ACTIVE if active else SubscriptionStatus.CANCELLED).value,
        term_start=day(found["termStartDate"]),
        term_end=day(found["termEndDate"]),
        auto_renew=auto_renew,
        items=tuple(items),
    )


def invoice(found: Obj, items: Sequence[Obj]) -> InvoiceRecord:
    currency = str(found["currency"])
    balance = minor(found.get("balance"), currency)
    status = InvoiceStatus.OPEN
    if found.get("status") == "Canceled":
        status = InvoiceStatus.VOID
    elif balance == 0:
        status = InvoiceStatus.PAID
    return InvoiceRecord(
        ref=str(found["invoiceNumber"]),
        account_ref=str(found["accountNumber"]),
        subscription_ref=found.get(SUBSCRIPTION) or None,
        currency=currency,
        total=minor(found.get("amount"), currency),
        balance=balance,
        status=status.value,
        issued_on=day(found["invoiceDate"]),
        due_on=day(found["dueDate"]),
        lines=tuple(_line(item, currency) for item in items),
    )


def _line(item: Obj, currency: str) -> InvoiceLineRecord:
    start, end = item.get("serviceStartDate"), item.get("serviceEndDate")
    return InvoiceLineRecord(
        description=str(item.get("description") or ""),
        quantity=int(Decimal(str(item.get("quantity") or 0))),
        unit_amount=minor(item.get("unitPrice"), currency),
        amount=minor(item.get("chargeAmount", item.get("amount")), currency),
        product_code=item.get("sku") or None,
        period_start=day(start) if start else None,
        period_end=day(end) + timedelta(days=1) if end else None,
    )


def payment(found: Obj) -> PaymentRecord:
    currency = str(found["currency"])
    succeeded = found.get("status") == "Processed"
    return PaymentRecord(
        ref=str(found["number"]),
        invoice_ref=str(found.get(INVOICE) or ""),
        amount=minor(found.get("amount"), currency),
        currency=currency,
        status=(PaymentStatus.SUCCEEDED if succeeded else PaymentStatus.FAILED).value,
        failure_code=None if succeeded else str(found.get("gatewayResponseCode") or "declined"),
    )


def refund(found: Obj, paid: PaymentRecord) -> RefundRecord:
    return RefundRecord(
        ref=str(found["number"]),
        payment_ref=paid.ref,
        invoice_ref=paid.invoice_ref,
        amount=minor(found.get("amount"), paid.currency),
        currency=paid.currency,
        status=RefundStatus.SUCCEEDED.value,
    )
