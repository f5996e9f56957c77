"""Helpers of the payment-method and pay-now tests: the two mutations over the API, a billing
provider that counts the writes it is asked for, and a customer with an open invoice."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.clock import Clock
from app.config import Settings
from app.db.tables import (
    AuditEvent,
    BillingAccount,
    Customer,
    Invoice,
    LedgerPayment,
    Payment,
    PayNowRequest,
    Subscription,
)
from app.domain.enums import MemberRole
from app.providers.billing import BillingProvider
from app.runtime import Runtime
from resolvers.ids import to_global_id
from tests.support import counting_billing as counting
from tests.support import factories as f
from tests.support.graphql import Api, user_token

# The writes the payment tests count (the subscription sync's are left to its own tests).
WRITES = frozenset(
    {"create_account", "set_payment_method", "create_invoice", "collect_payment"}
    | {"renew_subscription", "void_invoice", "refund_payment"}
)

SET_METHOD = """mutation($input: BillingAccountSetPaymentMethodInput!, $reason: String) {
  billingAccountSetPaymentMethod(input: $input, reason: $reason) {
    __typename
    ... on BillingAccountSetPaymentMethodPayload { billingAccount { id paymentMethod } }
    ... on PaymentMethodRejectedError { providerCode }
    ... on UserError { code message } } }"""

PAY = """mutation($input: InvoicePayInput!, $reason: String) {
  invoicePay(input: $input, reason: $reason) {
    __typename
    ... on InvoicePayPayload {
      invoice { number status total { amount } amountPaid { amount } amountDue { amount }
                payments { status amount { amount } failureCode } }
      payment { status amount { amount } }
      renewedSubscription { number status termStart termEnd seats } }
    ... on PaymentDeclinedError { declineCode }
    ... on QuoteError { retryAfterSeconds }
    ... on UserError { code message } } }"""


class CountingBilling(counting.CountingBilling):
    """The billing provider as it is, with the payment tests' writes counted by name."""

    def __init__(self, inner: BillingProvider, calls: Counter[str]) -> None:
        super().__init__(inner, calls, WRITES)


def counted_runtime(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    calls: Counter[str],
) -> Runtime:
    return counting.counted_runtime(settings, sessions, clock, calls, WRITES)


@dataclass
class Payer:
    customer: Customer
    account: BillingAccount
    subscription: Subscription
    invoice: Invoice
    owner: str  # bearer tokens
    billing_admin: str

    @property
    def account_id(self) -> str:
        return to_global_id("BillingAccount", self.account.id or 0)

    @property
    def invoice_id(self) -> str:
        return to_global_id("Invoice", self.invoice.id or 0)


async def payer(
    db: AsyncSession,
    settings: Settings,
    *,
    payment_method: str | None = "pm_card_visa",
    amounts: tuple[int, ...] = (348_000,),
    **invoice: Any,
) -> Payer:
    """A customer (an owner, a billing admin) whose subscription has an OPEN invoice."""
    customer = await f.customer(db)
    account = await f.billing_account(db, customer, payment_method=payment_method)
    subscription = await f.subscription(db, customer, account=account)
    return Payer(
        customer=customer,
        account=account,
        subscription=subscription,
        invoice=await f.invoice(db, subscription, amounts=amounts, **invoice),
        owner=user_token(settings, await f.user(db, member_of=customer)),
        billing_admin=user_token(
            settings, await f.user(db, member_of=customer, role=MemberRole.BILLING_ADMIN)
        ),
    )


async def set_method(
    api: Api, token: str, account_id: str, card: str, key: str = "card-1", **extra: Any
) -> dict[str, Any]:
    variables = {
        "input": {"billingAccountId": account_id, "paymentMethodToken": card, "idempotencyKey": key}
    }
    data = await api.data(SET_METHOD, variables | extra, token=token)
    result: dict[str, Any] = data["billingAccountSetPaymentMethod"]
    return result


async def pay(
    api: Api, token: str, invoice_id: str, key: str = "pay-1", **extra: Any
) -> dict[str, Any]:
    variables = {"input": {"invoiceId": invoice_id, "idempotencyKey": key}}
    data = await api.data(PAY, variables | extra, token=token)
    result: dict[str, Any] = data["invoicePay"]
    return result


async def rows(db: AsyncSession, table: type, *where: Any) -> list[Any]:
    """Every row of the table (matching `where`), as read now, oldest first."""
    stmt = (
        sa.select(table)
        .where(*where)
        .order_by(table.id)  # type: ignore[attr-defined]
        .execution_options(populate_existing=True)
    )
    return list((await db.scalars(stmt)).all())


def dumped(found: list[Any]) -> list[dict[str, Any]]:
    return [row.model_dump() for row in found]


async def money_rows(db: AsyncSession) -> dict[str, list[dict[str, Any]]]:
    """What a payment could change, row by row: to compare before and after a refusal."""
    return {
        table.__tablename__: dumped(await rows(db, table))  # type: ignore[attr-defined]
        for table in (BillingAccount, Invoice, Payment, LedgerPayment, PayNowRequest, AuditEvent)
    }


async def audit_of(db: AsyncSession, target_type: str, target_id: int | None) -> list[AuditEvent]:
    return await rows(
        db,
        AuditEvent,
        col(AuditEvent.target_type) == target_type,
        col(AuditEvent.target_id) == str(target_id),
    )
