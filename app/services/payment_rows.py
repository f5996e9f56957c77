"""The local copy of a payment the billing provider answered (orders, lifecycle charges and
order settlement record it alike)."""

from __future__ import annotations

from app.db.tables import Invoice, Payment
from app.domain.enums import PaymentStatus
from app.providers.billing import PaymentRecord


def payment_row(invoice: Invoice, payment: PaymentRecord) -> Payment:
    succeeded = payment.status == PaymentStatus.SUCCEEDED.value
    return Payment(
        invoice_id=invoice.id or 0,
        amount=payment.amount,
        currency=payment.currency,
        status=PaymentStatus.SUCCEEDED if succeeded else PaymentStatus.FAILED,
        failure_code=payment.failure_code,
        provider_ref=payment.ref,
    )
