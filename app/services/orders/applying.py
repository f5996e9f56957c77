"""Make a paid order true: the subscription's new state, add-ons, packs, and the follow-up
work (provisioning, billing sync) queued in the same transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.authenticate import read_scope
from app.auth.principals import Principal, PrincipalKind
from app.db.repositories import orders
from app.db.tables import AddOnPurchase, ConsumablePurchase, Deployment, Order, Subscription
from app.domain.enums import Channel, ConsumableKind, ProductKind, ReconciliationMode
from app.domain.pricing import PricedOrder, SubscriptionSnapshot
from app.services import audit, crm_sync, licenses, outbox, subscription_sync
from app.services.billing import keys
from app.services.lifecycle.expiry import lapse_renewal
from app.services.numbering import subscription_number
from app.services.orders.context import OrderDeps
from app.services.orders.requests import OrderRequest
from app.services.orders.state import OrderTarget, load_target

# Who creates a subscription decides how it is sold and reconciled (docs/domain.md section 6).
SALES_CHANNELS = {
    PrincipalKind.CUSTOMER_USER: (Channel.WEB_DIRECT, ReconciliationMode.QUARTERLY),
    PrincipalKind.PARTNER: (Channel.PARTNER, ReconciliationMode.ANNUAL_TRUE_UP),
    PrincipalKind.ADMIN: (Channel.SALES_ASSISTED, ReconciliationMode.ANNUAL_TRUE_UP),
}


async def apply_order(
    session: AsyncSession,
    deps: OrderDeps,
    principal: Principal,
    attributed: audit.Attribution,
    request: OrderRequest,
    priced: PricedOrder,
    order: Order,
) -> int:
    target = await load_target(session, read_scope(principal), request)
    codes = {priced.after.plan_code, *priced.after.add_ons, *(p.code for p in priced.packs)}
    if priced.after.pending_plan_code:
        codes.add(priced.after.pending_plan_code)
    products = {
        code: p.id or 0 for code, p in (await orders.products_by_code(session, codes)).items()
    }
    if target.subscription is None:
        subscription = await _create(session, deps, principal, request, target, priced, products)
        await licenses.ensure_license(session, subscription)  # self-managed: an activation code
        before: dict[str, Any] | None = None
    else:
        subscription = await orders.subscription_for_update(session, target.subscription.id or 0)
        before = _summary(subscription)
        old_term_end = subscription.term_end
        _update(subscription, priced.after, products, deps)
        if subscription.term_start == old_term_end:  # renewed: no automatic renewal follows
            await lapse_renewal(session, subscription.id or 0, old_term_end, deps.now())
    sid = subscription.id or 0
    await _add_ons(session, sid, priced.after.add_ons, products)
    _packs(session, sid, priced, products, order.id or 0)
    await _follow_up(session, principal, attributed, order, subscription, before, deps.now())
    return sid


async def _create(
    session: AsyncSession,
    deps: OrderDeps,
    principal: Principal,
    request: OrderRequest,
    target: OrderTarget,
    priced: PricedOrder,
    products: dict[str, int],
) -> Subscription:
    deployment = target.deployment or await _new_deployment(session, request, target)
    account = await orders.paying_account(
        session, customer_id=target.customer.id, partner_id=target.customer.managing_partner_id
    )
    assert account is not None
    channel, mode = SALES_CHANNELS[principal.kind]
    after = priced.after
    subscription = Subscription(
        number=await subscription_number(session),
        customer_id=target.customer.id or 0,
        deployment_id=deployment.id or 0,
        plan_id=products[after.plan_code],
        billing_account_id=account.id or 0,
        partner_id=target.customer.managing_partner_id,
        channel=channel,
        reconciliation_mode=mode,
        status=after.status,
        currency=priced.currency,
        seats=after.seats,
        seats_in_use=after.billable_users,
        max_seats_used=after.max_seats_used,
        term_start=after.term_start,
        term_end=after.term_end,
        auto_renew=after.auto_renew,
    )
    session.add(subscription)
    await session.flush()
    return subscription


async def _new_deployment(
    session: AsyncSession, request: OrderRequest, target: OrderTarget
) -> Deployment:
    assert request.deployment is not None
    ref = request.deployment
    deployment = Deployment(
        customer_id=target.customer.id or 0,
        kind=ref.kind,
        external_id=ref.external_id,
        name=ref.name or ref.external_id,
    )
    session.add(deployment)
    await session.flush()
    return deployment


def _update(
    subscription: Subscription,
    after: SubscriptionSnapshot,
    products: dict[str, int],
    deps: OrderDeps,
) -> None:
    new_term = after.term_start != subscription.term_start
    subscription.plan_id = products[after.plan_code]
    subscription.pending_plan_id = products.get(after.pending_plan_code or "")
    subscription.seats, subscription.status = after.seats, after.status
    subscription.term_start, subscription.term_end = after.term_start, after.term_end
    subscription.auto_renew = after.auto_renew
    if new_term:  # a new term (renewal, trial conversion) resets the high-water mark
        subscription.max_seats_used = after.max_seats_used
        subscription.comp_seats = 0  # staff's comp seats are for the term they were given in
    subscription.lock_version += 1
    subscription.updated_at = deps.now()


async def _add_ons(
    session: AsyncSession,
    subscription_id: int,
    wanted: dict[str, int] | Any,
    products: dict[str, int],
) -> None:
    held: dict[str, AddOnPurchase] = {
        code: row for row, code in await orders.add_on_purchases(session, subscription_id)
    }
    for code, quantity in wanted.items():
        if code in held:
            held[code].quantity = quantity
        else:
            session.add(
                AddOnPurchase(
                    subscription_id=subscription_id, product_id=products[code], quantity=quantity
                )
            )


def _packs(
    session: AsyncSession,
    subscription_id: int,
    priced: PricedOrder,
    products: dict[str, int],
    order_id: int,
) -> None:
    for pack in priced.packs:
        kind = (
            ConsumableKind.COMPUTE_MINUTES
            if pack.kind is ProductKind.ONE_TIME_PACK
            else ConsumableKind.STORAGE
        )
        session.add(
            ConsumablePurchase(
                subscription_id=subscription_id,
                product_id=products[pack.code],
                kind=kind,
                packs=pack.quantity,
                units=pack.units,
                amount=pack.amount,
                currency=priced.currency,
                purchased_on=pack.purchased_on,
                expires_on=pack.expires_on,
                order_id=order_id,
            )
        )


async def _follow_up(
    session: AsyncSession,
    principal: Principal,
    attributed: audit.Attribution,
    order: Order,
    subscription: Subscription,
    before: dict[str, Any] | None,
    now: datetime,
) -> None:
    sid = subscription.id or 0
    payload = {"subscription_id": sid, "order_id": order.id}
    order_id = order.id or 0
    provision_key = f"order:{order_id}:provision"  # the provisioning push's message
    await outbox.enqueue(session, outbox.PROVISION, payload, provision_key, now=now)
    sync_key = keys.order_sync(order_id)
    await subscription_sync.queue(session, payload, sync_key, now=now)
    await crm_sync.order_applied(session, order, subscription, now)
    await audit.record(
        session,
        principal,
        "order.placed",
        ("Subscription", sid),
        before=before,
        after={**_summary(subscription), "order_id": order.id, "total": order.total},
        attributed=attributed,
        now=now,
    )


def _summary(subscription: Subscription) -> dict[str, Any]:
    return {
        "plan_id": subscription.plan_id,
        "seats": subscription.seats,
        "status": subscription.status.value,
        "term_end": subscription.term_end.isoformat(),
        "pending_plan_id": subscription.pending_plan_id,
    }
