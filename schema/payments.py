"""Payment methods and pay-now: billingAccountSetPaymentMethod puts a provider's token on a
billing account; invoicePay charges an open invoice with it. Each takes a `reason`: required
of admins, optional for everyone else, kept on the audit row."""

from __future__ import annotations

import strawberry

from app.domain.errors import DomainError
from resolvers import payments as resolve
from schema import described
from schema.audit import Reason
from schema.customers import BillingAccount
from schema.errors import (
    NotFoundError,
    PaymentDeclinedError,
    PaymentMethodRejectedError,
    ProviderError,
    QuoteError,
    RuleViolation,
    ValidationError,
    result_union,
    user_error,
)
from schema.invoices import Invoice, Payment
from schema.subscriptions import Subscription


@strawberry.input
class BillingAccountSetPaymentMethodInput:
    billing_account_id: strawberry.ID
    payment_method_token: str = strawberry.field(
        description="The billing provider's payment-method token from the frontend (such as "
        "`pm_...`), never card data: anything that looks like a card number is refused."
    )
    idempotency_key: str = strawberry.field(
        description="1-128 printable ASCII characters; a retry with it sets the same token once."
    )


@strawberry.type
class BillingAccountSetPaymentMethodPayload:
    billing_account: BillingAccount


@strawberry.input
class InvoicePayInput:
    invoice_id: strawberry.ID
    idempotency_key: str = strawberry.field(
        description="1-128 printable ASCII characters, per paying account: a retry with it answers "
        "as the first call did and never charges twice; with another invoice it is refused."
    )


@strawberry.type
class InvoicePayPayload:
    invoice: Invoice
    payment: Payment | None = strawberry.field(
        description="The successful payment; null when nothing was owed."
    )
    renewed_subscription: Subscription | None = strawberry.field(
        description="The subscription this payment renewed (a declined renewal in grace)."
    )


BillingAccountSetPaymentMethodResult = result_union(
    "BillingAccountSetPaymentMethodResult",
    BillingAccountSetPaymentMethodPayload,
    ValidationError,
    NotFoundError,
    RuleViolation,
    QuoteError,
    ProviderError,
    PaymentMethodRejectedError,
)
InvoicePayResult = result_union(
    "InvoicePayResult",
    InvoicePayPayload,
    ValidationError,
    NotFoundError,
    RuleViolation,
    QuoteError,
    PaymentDeclinedError,
    ProviderError,
)


@strawberry.type
class PaymentMutations:
    @described.mutation(
        description="Put a payment-method token on a billing account: at the billing provider "
        "first (its account created if it has none), then here. Owners and billing admins of "
        "the account's customer, the partner whose account it is, and admins."
    )
    async def billing_account_set_payment_method(
        self,
        info: strawberry.Info,
        input: BillingAccountSetPaymentMethodInput,
        reason: Reason = None,
    ) -> BillingAccountSetPaymentMethodResult:  # type: ignore[valid-type]
        found = await resolve.set_method(
            info.context,
            input.billing_account_id,
            input.payment_method_token,
            input.idempotency_key,
            reason,
        )
        if isinstance(found, DomainError):
            return user_error(found)
        return BillingAccountSetPaymentMethodPayload(billing_account=BillingAccount.from_row(found))

    @described.mutation(
        description="Charge an open invoice's balance now with the account's payment method, "
        "once per idempotency key. A declined renewal in grace renews when paid."
    )
    async def invoice_pay(
        self, info: strawberry.Info, input: InvoicePayInput, reason: Reason = None
    ) -> InvoicePayResult:  # type: ignore[valid-type]
        found = await resolve.pay(info.context, input.invoice_id, input.idempotency_key, reason)
        if isinstance(found, DomainError):
            return user_error(found)
        view = await resolve.renewed_subscription(info.context, found)
        return InvoicePayPayload(
            invoice=Invoice.from_row(found.invoice),
            payment=None if found.payment is None else Payment.from_row(found.payment),
            renewed_subscription=None if view is None else Subscription.from_view(view),
        )
