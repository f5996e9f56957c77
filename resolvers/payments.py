"""billingAccountSetPaymentMethod and invoicePay: decode the ids, run the use case, and turn
expected failures into values for the result unions. The caller's reason (required of
admins) and the request id go to the use case for its audit row."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from app.db.tables import BillingAccount
from app.domain.errors import DomainError
from app.services.orders.errors import NotAllowed
from app.services.payments.pay_now import PaidInvoice, pay_invoice
from app.services.payments.payment_methods import set_payment_method
from resolvers.access import require_member
from resolvers.context import RequestContext
from resolvers.errors import forbidden
from resolvers.ids import expect_global_id
from resolvers.subscriptions import SubscriptionView, by_id

__all__ = ["PaidInvoice", "pay", "renewed_subscription", "set_method"]

T = TypeVar("T")


async def _answer(ctx: RequestContext, work: Callable[[], Awaitable[T]]) -> T | DomainError:
    """Run to its end even if the request is cut meanwhile: a charge is never left half-way
    (a cut request's retry with the same key replays it)."""
    require_member(ctx)
    try:
        return await ctx.uncancelled(work())
    except NotAllowed as exc:
        raise forbidden() from exc
    except DomainError as error:
        return error


async def set_method(
    ctx: RequestContext,
    billing_account_id: str,
    token: str,
    idempotency_key: str,
    reason: str | None = None,
) -> BillingAccount | DomainError:
    pk = expect_global_id(billing_account_id, "BillingAccount") or 0
    return await _answer(
        ctx,
        lambda: set_payment_method(
            ctx.runtime,
            ctx.principal,
            pk,
            token,
            idempotency_key,
            reason=reason,
            request_id=ctx.request_id,
        ),
    )


async def pay(
    ctx: RequestContext, invoice_id: str, idempotency_key: str, reason: str | None = None
) -> PaidInvoice | DomainError:
    pk = expect_global_id(invoice_id, "Invoice") or 0
    return await _answer(
        ctx,
        lambda: pay_invoice(
            ctx.runtime,
            ctx.principal,
            pk,
            idempotency_key,
            reason=reason,
            request_id=ctx.request_id,
        ),
    )


async def renewed_subscription(ctx: RequestContext, paid: PaidInvoice) -> SubscriptionView | None:
    if paid.renewed_subscription_id is None:
        return None
    return await by_id(ctx, paid.renewed_subscription_id)
