"""The practical upper bound: the dashboard's JSON from a hand-written Starlette endpoint.

Same authentication (JWT check + the user's memberships), same scoping, the same SQL
shape as the DataLoaders (one batched SELECT per level, invoices ranked per subscription),
but SQLAlchemy Core rows straight into dicts and orjson; no ORM objects, no GraphQL.
Serves POST /graphql (the body is ignored: it always answers the dashboard) and /readyz.
Run as `uvicorn bench.handwritten:create_app --factory`."""

from __future__ import annotations

import base64
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from app.auth.authenticate import bearer_credential
from app.auth.tokens import InvalidCredentials, verify_user_jwt
from app.config import Settings
from app.db import tables as t
from app.domain.enums import SubscriptionStatus
from app.domain.money import Money
from app.domain.seats import seat_figures
from bench.asgi import Endpoint, bench_app
from bench.settings import bench_engine

PAGE_SIZE = 100
INVOICES_PER_SUBSCRIPTION = 3

sub_t = t.Subscription.__table__  # type: ignore[attr-defined]
product_t = t.Product.__table__  # type: ignore[attr-defined]
add_on_t = t.AddOnPurchase.__table__  # type: ignore[attr-defined]
assignment_t = t.AddOnAssignment.__table__  # type: ignore[attr-defined]
invoice_t = t.Invoice.__table__  # type: ignore[attr-defined]
line_t = t.InvoiceLine.__table__  # type: ignore[attr-defined]
user_t = t.PortalUser.__table__  # type: ignore[attr-defined]
membership_t = t.Membership.__table__  # type: ignore[attr-defined]


def _gid(type_name: str, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")


def _money(amount: int, currency: str, *fields: str) -> dict[str, Any]:
    money = Money(amount, currency)
    # MinorUnits: the amount as a string of digits, as the API serves it.
    values = {"amount": str(money.amount), "currency": money.currency, "formatted": money.formatted}
    return {name: values[name] for name in fields}


async def _customer_ids(
    conn: AsyncConnection, settings: Settings, authorization: str | None
) -> list[int]:
    credential = bearer_credential(authorization)
    if credential is None:
        raise InvalidCredentials("this endpoint needs a customer user's token")
    claims = verify_user_jwt(settings, credential)
    stmt = (
        sa.select(user_t.c.id, membership_t.c.customer_id)
        .outerjoin(membership_t, membership_t.c.user_id == user_t.c.id)
        .where(user_t.c.external_id == claims.external_id)
    )
    rows = (await conn.execute(stmt)).all()
    if not rows:
        raise InvalidCredentials("unknown user")
    return sorted({row.customer_id for row in rows if row.customer_id is not None})


async def dashboard(conn: AsyncConnection, customer_ids: Sequence[int]) -> dict[str, Any]:
    subs = (
        await conn.execute(
            sa.select(
                sub_t.c.id,
                sub_t.c.number,
                sub_t.c.status,
                sub_t.c.seats,
                sub_t.c.seats_in_use,
                sub_t.c.max_seats_used,
                sub_t.c.term_start,
                sub_t.c.term_end,
                sub_t.c.auto_renew,
                sub_t.c.plan_id,
            )
            .where(sub_t.c.customer_id.in_(customer_ids))
            .order_by(sub_t.c.id)
            .limit(PAGE_SIZE + 1)
        )
    ).all()[:PAGE_SIZE]
    if not subs:
        return {"subscriptions": {"nodes": []}}
    sub_ids = [sub.id for sub in subs]

    add_ons = (
        await conn.execute(
            sa.select(
                add_on_t.c.id,
                add_on_t.c.subscription_id,
                add_on_t.c.product_id,
                add_on_t.c.quantity,
            )
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
            invoice_t.c.issued_on,
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
            sa.select(
                line_t.c.invoice_id,
                line_t.c.position,
                line_t.c.description,
                line_t.c.quantity,
                line_t.c.amount,
            )
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
                "issuedOn": inv.issued_on,
                "total": _money(inv.total, inv.currency, "amount", "currency", "formatted"),
                "lines": [
                    {
                        "position": line.position,
                        "description": line.description,
                        "quantity": line.quantity,
                        "amount": _money(line.amount, inv.currency, "amount", "formatted"),
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
        nodes.append(
            {
                "id": _gid("Subscription", sub.id),
                "number": sub.number,
                "status": sub.status,
                "seats": figures.seats,
                "seatsInUse": figures.seats_in_use,
                "maxSeatsUsed": figures.max_seats_used,
                "seatsOwed": figures.seats_owed,
                "seatsRemaining": figures.seats_remaining,
                "seatAlert": figures.alert,
                "termStart": sub.term_start,
                "termEnd": sub.term_end,
                "autoRenew": sub.auto_renew,
                "plan": {"code": plan.code, "name": plan.name},
                "addOns": [
                    {
                        "quantity": a.quantity,
                        "assignedSeats": assigned.get(a.id, 0),
                        "product": {
                            "code": products[a.product_id].code,
                            "name": products[a.product_id].name,
                        },
                    }
                    for a in add_ons_by_sub[sub.id]
                ],
                "invoices": {"nodes": invoices_by_sub[sub.id]},
            }
        )
    return {"subscriptions": {"nodes": nodes}}


async def assigned_counts(conn: AsyncConnection, add_on_ids: Iterable[int]) -> dict[int, int]:
    """Assigned seats per add-on purchase, in one statement (none for no ids)."""
    ids = sorted(add_on_ids)
    if not ids:
        return {}
    purchase = assignment_t.c.add_on_purchase_id
    stmt = sa.select(purchase, sa.func.count()).where(purchase.in_(ids)).group_by(purchase)
    return {purchase_id: count for purchase_id, count in (await conn.execute(stmt)).all()}


def engine_app(endpoint: Endpoint, engine: AsyncEngine, *, owns_engine: bool) -> Starlette:
    """`endpoint` served with a /readyz that asks the database (and the engine disposed at
    shutdown when the app owns it)."""

    async def ping() -> None:
        async with engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    return bench_app(endpoint, ping, engine.dispose if owns_engine else None)


def build_app(engine: AsyncEngine, settings: Settings, *, owns_engine: bool = False) -> Starlette:
    async def endpoint(request: Request) -> Response:
        await request.body()
        async with engine.connect() as conn:
            try:
                customer_ids = await _customer_ids(
                    conn, settings, request.headers.get("authorization")
                )
            except InvalidCredentials as exc:
                body = {"data": None, "errors": [{"message": f"Invalid credentials: {exc}."}]}
                return Response(orjson.dumps(body), 401, media_type="application/json")
            data = await dashboard(conn, customer_ids)
        return Response(orjson.dumps({"data": data}), media_type="application/json")

    return engine_app(endpoint, engine, owns_engine=owns_engine)


def create_app() -> Starlette:
    settings = Settings()
    return build_app(bench_engine(settings), settings, owns_engine=True)
