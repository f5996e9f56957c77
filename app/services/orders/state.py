"""Load what an order is priced on: the target (customer, subscription or deployment, all
within the caller's scope), the catalog in the order's currency, a promotion."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.repositories import commerce, customers, orders, subscriptions
from app.db.scope import ReadScope
from app.db.tables import BillingAccount, Customer, Deployment, Price, Product, Subscription
from app.db.tables import Promotion as PromotionRow
from app.domain.enums import CustomerKind
from app.domain.errors import DomainError, ErrorCode
from app.domain.pricing import Catalog, CatalogItem, Promotion, SubscriptionSnapshot
from app.services.orders.requests import OrderRequest

NOT_FOUND = DomainError(ErrorCode.NOT_FOUND, "No such customer, subscription or deployment.")


@dataclass(frozen=True, slots=True)
class OrderTarget:
    customer: Customer
    subscription: Subscription | None  # the live subscription the order changes (or converts)
    deployment: Deployment | None  # for a new subscription: the existing deployment, if any

    @property
    def partner_id(self) -> int | None:
        return (
            self.subscription.partner_id if self.subscription else self.customer.managing_partner_id
        )

    @property
    def partner_managed(self) -> bool:
        if self.subscription is not None and self.subscription.partner_id is not None:
            return True
        return self.customer.kind is CustomerKind.PARTNER_MANAGED


async def load_target(
    session: AsyncSession, scope: ReadScope, request: OrderRequest
) -> OrderTarget:
    if request.subscription_id is not None:
        found = await subscriptions.subscriptions_by_ids(session, scope, [request.subscription_id])
        subscription = found.get(request.subscription_id)
        if subscription is None or subscription.customer_id != request.customer_id:
            raise NOT_FOUND
        customer = await session.get(Customer, subscription.customer_id)
        assert customer is not None
        return OrderTarget(customer, subscription, None)
    customer = (await customers.customers_by_ids(session, scope, [request.customer_id])).get(
        request.customer_id
    )
    if customer is None or request.deployment is None:
        raise NOT_FOUND
    deployment = await orders.deployment_by_external_id(session, request.deployment.external_id)
    if deployment is None:
        return OrderTarget(customer, None, None)
    if deployment.customer_id != customer.id:
        raise NOT_FOUND
    assert deployment.id is not None
    return OrderTarget(
        customer, await orders.live_subscription_on(session, deployment.id), deployment
    )


async def paying_account(session: AsyncSession, target: OrderTarget) -> BillingAccount | None:
    """The account an order on `target` invoices: the subscription's, else the customer's
    (or its managing partner's); None when there is none yet."""
    if target.subscription is not None:
        return await session.get(BillingAccount, target.subscription.billing_account_id)
    return await orders.paying_account(
        session, customer_id=target.customer.id, partner_id=target.partner_id
    )


def order_currency(target: OrderTarget, account: BillingAccount | None) -> str:
    if target.subscription is not None:
        return target.subscription.currency
    if account is None:
        raise DomainError(ErrorCode.VALIDATION, "The customer has no billing account yet.")
    return account.currency


async def load_catalog(session: AsyncSession, currency: str) -> Catalog:
    rows = await orders.priced_catalog(session, currency)
    if not rows:
        raise DomainError(ErrorCode.CURRENCY_MISMATCH, f"Nothing is sold in {currency}.")
    return Catalog(currency=currency, items={p.code: _item(p, price) for p, price in rows})


def _item(product: Product, price: Price) -> CatalogItem:
    return CatalogItem(
        code=product.code,
        name=product.name,
        kind=product.kind,
        tier=product.tier,
        unit_amount=price.amount,
        period=price.period,
        pack_units=product.pack_units,
        validity_months=product.validity_months,
        eligible_plans=tuple(product.eligible_plans),
    )


async def snapshot(session: AsyncSession, target: OrderTarget) -> SubscriptionSnapshot | None:
    subscription = target.subscription
    if subscription is None:
        return None
    assert subscription.id is not None
    plan = await session.get(Product, subscription.plan_id)
    pending = (
        await session.get(Product, subscription.pending_plan_id)
        if subscription.pending_plan_id is not None
        else None
    )
    assert plan is not None
    add_ons: dict[str, int] = {}
    for purchase, code in await orders.add_on_purchases(session, subscription.id):
        add_ons[code] = add_ons.get(code, 0) + purchase.quantity
    return SubscriptionSnapshot(
        status=subscription.status,
        plan_code=plan.code,
        seats=subscription.seats,
        billable_users=subscription.seats_in_use,
        max_seats_used=subscription.max_seats_used,
        term_start=subscription.term_start,
        term_end=subscription.term_end,
        reconciliation_mode=subscription.reconciliation_mode,
        add_ons=add_ons,
        storage_packs=await orders.storage_packs(session, subscription.id, subscription.term_end),
        pending_plan_code=pending.code if pending else None,
        auto_renew=subscription.auto_renew,
        partner_managed=target.partner_managed,
        comp_seats=subscription.comp_seats,
    )


async def load_promotion(
    session: AsyncSession, code: str | None
) -> tuple[PromotionRow | None, Promotion | None]:
    if not code:
        return None, None
    row = await commerce.find_promotion(session, code)
    if row is None:
        raise DomainError(ErrorCode.PROMO_CODE_INVALID, f"The promo code `{code}` is not valid.")
    left = None if row.max_redemptions is None else row.max_redemptions - row.redemptions
    return row, Promotion(
        code=row.code,
        percent_off=row.percent_off,
        amount_off=row.amount_off,
        currency=row.currency,
        starts_on=row.starts_on,
        expires_on=row.expires_on,
        redemptions_left=left,
        plan_codes=tuple(row.plan_codes),
    )
