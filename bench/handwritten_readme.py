"""The hand-written ceiling for the README dashboard document (documents/dashboard.graphql):
viewer with memberships and their customers' CRM accounts, and the subscriptions with plan,
seat figures, add-ons, allowed actions and the latest 3 invoices with lines.

Same authentication as the app (app.auth.authenticate: the JWT and the membership query),
the same scoping (the user's customers), the same rules for the answer's values
(app.domain.seats, app.domain.eligibility with app.auth.policy's caller), one batched
SELECT per level in SQLAlchemy Core (bench.handwritten's), the CRM account from the local
CRM's table, dicts in the document's key order and orjson: no ORM objects, no GraphQL.
Serves POST /graphql (reads only `variables.first`) and /readyz. Customer users only.
Run as `uvicorn bench.handwritten_readme:create_app --factory`."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from app.auth.authenticate import authenticate
from app.auth.policy import caller_for
from app.auth.principals import Principal, PrincipalKind
from app.auth.tokens import InvalidCredentials
from app.clock import SystemClock
from app.config import Settings
from app.db import tables as t
from app.db.engine import create_session_factory
from app.domain.eligibility import Action, SubscriptionFacts, evaluate_actions
from app.domain.enums import SubscriptionStatus
from app.domain.money import Money
from app.domain.seats import seat_figures
from bench.handwritten import (
    _gid,
    add_on_t,
    assigned_counts,
    engine_app,
    invoice_t,
    line_t,
    product_t,
    sub_t,
)
from bench.settings import bench_engine

INVOICES_PER_SUBSCRIPTION = 3
customer_t = t.Customer.__table__  # type: ignore[attr-defined]
crm_t = t.CrmAccountRecord.__table__  # type: ignore[attr-defined]


async def readme_dashboard(
    conn: AsyncConnection, principal: Principal, first: int, today: Any
) -> dict[str, Any]:
    customer_ids = sorted(principal.roles)
    customers = {
        row.id: row
        for row in await conn.execute(
            sa.select(customer_t.c.id, customer_t.c.name, customer_t.c.crm_ref).where(
                customer_t.c.id.in_(customer_ids)
            )
        )
    }
    refs = sorted({row.crm_ref for row in customers.values() if row.crm_ref})
    crm = {
        row.ref: row
        for row in await conn.execute(
            sa.select(crm_t.c.ref, crm_t.c.name, crm_t.c.segment).where(crm_t.c.ref.in_(refs))
        )
    }
    memberships = []
    for customer_id in customer_ids:
        customer = customers.get(customer_id)
        if customer is None:
            continue
        account = crm.get(customer.crm_ref) if customer.crm_ref else None
        memberships.append(
            {
                "role": principal.roles[customer_id].value,
                "customer": {
                    "name": customer.name,
                    "crmAccount": None
                    if account is None
                    else {"name": account.name, "segment": account.segment},
                },
            }
        )
    viewer = {"kind": principal.kind.value, "name": principal.name, "memberships": memberships}

    subs = list(
        (
            await conn.execute(
                sa.select(sub_t)
                .where(sub_t.c.customer_id.in_(customer_ids))
                .order_by(sub_t.c.id)
                .limit(first + 1)
            )
        ).all()[:first]
    )
    nodes: list[dict[str, Any]] = []
    if subs:
        nodes = await _nodes(conn, principal, subs, customer_ids, today)
    return {"viewer": viewer, "subscriptions": {"nodes": nodes}}


async def _nodes(
    conn: AsyncConnection,
    principal: Principal,
    subs: list[Any],
    customer_ids: list[int],
    today: Any,
) -> list[dict[str, Any]]:
    sub_ids = [sub.id for sub in subs]
    add_ons = (
        await conn.execute(
            sa.select(add_on_t.c.id, add_on_t.c.subscription_id, add_on_t.c.product_id)
            .add_columns(add_on_t.c.quantity)
            .where(add_on_t.c.subscription_id.in_(sub_ids))
            .order_by(add_on_t.c.id)
        )
    ).all()
    product_ids = sorted({sub.plan_id for sub in subs} | {a.product_id for a in add_ons})
    products = {
        row.id: row
        for row in await conn.execute(
            sa.select(product_t.c.id, product_t.c.code, product_t.c.name, product_t.c.tier).where(
                product_t.c.id.in_(product_ids)
            )
        )
    }
    low, high = (
        await conn.execute(
            sa.select(sa.func.min(product_t.c.tier), sa.func.max(product_t.c.tier)).where(
                product_t.c.active, product_t.c.kind == "PLAN", product_t.c.tier > 0
            )
        )
    ).one()
    bounds = (low or 0, high or 0)
    assigned = await assigned_counts(conn, (a.id for a in add_ons))
    rank = (
        sa.func.row_number()
        .over(partition_by=invoice_t.c.subscription_id, order_by=invoice_t.c.id.desc())
        .label("rank")
    )
    ranked = (
        sa.select(
            invoice_t.c.id,
            invoice_t.c.subscription_id,
            invoice_t.c.number,
            invoice_t.c.status,
            invoice_t.c.total,
            invoice_t.c.currency,
            rank,
        )
        .where(invoice_t.c.subscription_id.in_(sub_ids), invoice_t.c.customer_id.in_(customer_ids))
        .subquery()
    )
    invoices = (
        await conn.execute(
            sa.select(ranked)
            .where(ranked.c.rank <= INVOICES_PER_SUBSCRIPTION)
            .order_by(ranked.c.subscription_id, ranked.c.rank)
        )
    ).all()
    lines_by_invoice: dict[int, list[Any]] = defaultdict(list)
    if invoices:
        for line in await conn.execute(
            sa.select(line_t.c.invoice_id, line_t.c.description, line_t.c.amount)
            .where(line_t.c.invoice_id.in_(sorted(i.id for i in invoices)))
            .order_by(line_t.c.position)
        ):
            lines_by_invoice[line.invoice_id].append(line)

    add_ons_by_sub: dict[int, list[Any]] = defaultdict(list)
    for add_on in add_ons:
        add_ons_by_sub[add_on.subscription_id].append(add_on)
    invoices_by_sub: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for inv in invoices:
        invoices_by_sub[inv.subscription_id].append(
            {
                "number": inv.number,
                "status": inv.status,
                "total": {"formatted": Money(inv.total, inv.currency).formatted},
                "lines": [
                    {
                        "description": line.description,
                        "amount": {"formatted": Money(line.amount, inv.currency).formatted},
                    }
                    for line in lines_by_invoice[inv.id]
                ],
            }
        )
    nodes = []
    for sub in subs:
        plan = products[sub.plan_id]
        figures = seat_figures(
            seats=sub.seats,
            seats_in_use=sub.seats_in_use,
            max_seats_used=sub.max_seats_used,
            paid=plan.tier > 0,
            trial=sub.status is SubscriptionStatus.TRIAL,
        )
        facts = SubscriptionFacts(
            status=sub.status,
            plan_tier=plan.tier,
            top_plan_tier=bounds[1],
            lowest_paid_tier=bounds[0],
            partner_managed=sub.partner_id is not None,
            auto_renew=sub.auto_renew,
            has_pending_change=sub.pending_plan_id is not None,
            term_end=sub.term_end,
            today=today,
        )
        verdicts = evaluate_actions(facts, caller_for(principal, sub.customer_id, sub.partner_id))
        nodes.append(
            {
                "id": _gid("Subscription", sub.id),
                "number": sub.number,
                "status": sub.status,
                "plan": {"code": plan.code, "name": plan.name},
                "seats": figures.seats,
                "seatsInUse": figures.seats_in_use,
                "maxSeatsUsed": figures.max_seats_used,
                "seatsOwed": figures.seats_owed,
                "seatAlert": figures.alert,
                "termStart": sub.term_start,
                "termEnd": sub.term_end,
                "autoRenew": sub.auto_renew,
                "addOns": [
                    {
                        "quantity": a.quantity,
                        "assignedSeats": assigned.get(a.id, 0),
                        "product": {"code": products[a.product_id].code},
                    }
                    for a in add_ons_by_sub[sub.id]
                ],
                "actions": {
                    "canAddSeats": verdicts.allowed(Action.ADD_SEATS),
                    "canUpgrade": verdicts.allowed(Action.UPGRADE),
                    "canRenew": verdicts.allowed(Action.RENEW),
                    "reason": verdicts.reason,
                },
                "invoices": {"nodes": invoices_by_sub[sub.id]},
            }
        )
    return nodes


def build_app(engine: AsyncEngine, settings: Settings, *, owns_engine: bool = False) -> Starlette:
    sessions = create_session_factory(engine)
    clock = SystemClock()

    async def endpoint(request: Request) -> Response:
        body = orjson.loads(await request.body())
        first = int((body.get("variables") or {}).get("first", 10))
        async with sessions() as session:
            try:
                principal = await authenticate(
                    session, settings, request.headers.get("authorization")
                )
            except InvalidCredentials as exc:
                error = {"data": None, "errors": [{"message": f"Invalid credentials: {exc}."}]}
                return Response(orjson.dumps(error), 401, media_type="application/json")
            if principal.kind is not PrincipalKind.CUSTOMER_USER:
                return Response(b'{"errors":[{"message":"customer users only"}]}', 400)
            conn = await session.connection()
            data = await readme_dashboard(conn, principal, first, clock.today())
        return Response(orjson.dumps({"data": data}), media_type="application/json")

    return engine_app(endpoint, engine, owns_engine=owns_engine)


def create_app() -> Starlette:
    settings = Settings()
    return build_app(bench_engine(settings), settings, owns_engine=True)
