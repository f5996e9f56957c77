"""`Subscription.history`: every source's events of that subscription, newest first, amounts
where money moved, actors named as a customer may read them; one statement per source per
page, and a cursor that pages a long history without a gap or a repeat."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.tables import (
    AuditEvent,
    Order,
    OutboxMessage,
    Payment,
    PayNowRequest,
    Reconciliation,
    Renewal,
    Subscription,
)
from app.domain.enums import (
    MemberRole,
    OrderStatus,
    OutboxStatus,
    PaymentStatus,
    PayNowStatus,
)
from app.domain.lifecycle import RenewalStatus
from app.domain.reconciliation import ReconciliationStatus
from resolvers.ids import to_global_id
from tests.api.conftest import StatementCounter
from tests.support import factories as f
from tests.support.graphql import Api, user_token

HISTORY = """query($id: ID!, $first: Int!, $after: String) {
  subscription(id: $id) { history(first: $first, after: $after) {
    nodes { kind occurredAt action status amount { amount currency } actor { kind name } }
    edges { cursor }
    pageInfo { hasNextPage hasPreviousPage endCursor } } } }"""
NO_HISTORY = "query($id: ID!) { subscription(id: $id) { number } }"
T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)


def _at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _audit(sub: Subscription, minutes: int, action: str, kind: str, actor: str) -> AuditEvent:
    return AuditEvent(
        occurred_at=_at(minutes),
        actor_kind=kind,
        actor_id=actor,
        action=action,
        target_type="Subscription",
        target_id=str(sub.id),
        reason="ticket 4711: internal note",
        after={"auto_renew": False},
    )


def _order(sub: Subscription, minutes: int, placed_by: str, total: int, n: int = 1) -> Order:
    return Order(
        customer_id=sub.customer_id,
        subscription_id=sub.id,
        status=OrderStatus.COMPLETED,
        idempotency_key=f"history-{n}",
        quote_digest="d" * 64,
        currency="USD",
        subtotal=total,
        total=total,
        placed_by=placed_by,
        created_at=_at(minutes),
    )


def _push(sub: Subscription, minutes: int, n: int, topic: str = "provisioning.push") -> Any:
    return OutboxMessage(
        topic=topic,
        payload={"subscription_id": sub.id},
        idempotency_key=f"history-push-{n}",
        status=OutboxStatus.DONE,
        subscription_id=sub.id,
        created_at=_at(minutes),
    )


async def _history(api: Api, token: str, sub: Subscription, first: int = 20, **kw: Any) -> Any:
    variables = {"id": to_global_id("Subscription", sub.id or 0), "first": first, **kw}
    data = await api.data(HISTORY, variables, token=token)
    return data["subscription"]["history"]


async def test_every_source_merged_newest_first_with_customer_safe_actors(
    api: Api, db: AsyncSession, settings: Settings
) -> None:
    customer = await f.customer(db)
    owner = await f.user(db, member_of=customer, name="Olivia Owner")
    viewer = await f.user(db, member_of=customer, role=MemberRole.VIEWER, name="Vic Viewer")
    sub = await f.subscription(db, customer)
    other = await f.subscription(db, customer)
    invoice = await f.invoice(db, sub, amounts=(417_600,))
    mine = f"customer_user:{owner.external_id}"
    db.add_all(
        [
            _audit(sub, 1, "subscription.auto_renew_off", "CUSTOMER_USER", owner.external_id),
            _audit(sub, 2, "subscription.auto_renew_on", "ADMIN", "7"),
            _audit(sub, 3, "order.placed", "CUSTOMER_USER", owner.external_id),  # the order's
            _audit(other, 4, "subscription.auto_renew_off", "ADMIN", "7"),  # another's
            _order(sub, 3, mine, 87_238),
            Renewal(
                subscription_id=sub.id,
                term_start=date(2027, 1, 1),
                term_end=date(2028, 1, 1),
                status=RenewalStatus.PAID,
                plan_id=sub.plan_id,
                seats=12,
                invoice_id=invoice.id,
                created_at=_at(5),
            ),
            Reconciliation(
                subscription_id=sub.id,
                term_start=sub.term_start,
                quarter=1,
                quarter_start=sub.term_start,
                quarter_end=date(2026, 4, 1),
                invoice_on=date(2026, 4, 8),
                status=ReconciliationStatus.NOTICED,
                amount=261_000,
                noticed_at=_at(6),
            ),
            Reconciliation(  # scheduled, not an event yet
                subscription_id=sub.id,
                term_start=sub.term_start,
                quarter=2,
                quarter_start=date(2026, 4, 1),
                quarter_end=date(2026, 7, 1),
                invoice_on=date(2026, 7, 8),
                status=ReconciliationStatus.SCHEDULED,
            ),
            _push(sub, 8, 1),
            _push(sub, 9, 2, topic="billing.sync_subscription"),  # not a provisioning push
        ]
    )
    payment = await f.add(
        db,
        Payment(
            invoice_id=invoice.id or 0,
            amount=417_600,
            currency="USD",
            status=PaymentStatus.SUCCEEDED,
            created_at=_at(7),
        ),
    )
    db.add(
        PayNowRequest(
            billing_account_id=invoice.billing_account_id,
            idempotency_key="history-pay",
            invoice_id=invoice.id or 0,
            status=PayNowStatus.PAID,
            charge_key="charge",
            attempt=1,
            payment_id=payment.id,
            requested_by=mine,
        )
    )
    await db.flush()

    as_owner = await _history(api, user_token(settings, owner), sub)
    as_viewer = await _history(api, user_token(settings, viewer), sub)

    def event(kind: str, minute: int, action: str, status: Any, amount: Any, actor: Any) -> Any:
        money = None if amount is None else {"amount": str(amount), "currency": "USD"}
        return {
            "kind": kind,
            "occurredAt": _at(minute).isoformat(),
            "action": action,
            "status": status,
            "amount": money,
            "actor": actor,
        }

    you, olivia = {"kind": "YOU", "name": "you"}, {"kind": "USER", "name": "Olivia Owner"}
    system, staff = {"kind": "SYSTEM", "name": "system"}, {"kind": "STAFF", "name": "staff"}

    def expected(me: Any) -> list[Any]:
        return [
            event("PROVISIONING", 8, "provisioning.push", "DONE", None, system),
            event("PAYMENT", 7, "invoice.payment", "SUCCEEDED", 417_600, me),
            event("RECONCILIATION", 6, "reconciliation", "NOTICED", 261_000, system),
            event("RENEWAL", 5, "subscription.renewal", "PAID", 417_600, system),
            event("ORDER", 3, "order.placed", "COMPLETED", 87_238, me),
            event("CHANGE", 2, "subscription.auto_renew_on", None, None, staff),
            event("CHANGE", 1, "subscription.auto_renew_off", None, None, me),
        ]

    assert as_owner["nodes"] == expected(you)
    assert as_viewer["nodes"] == expected(olivia)
    assert as_owner["pageInfo"]["hasNextPage"] is False
    text = repr(as_owner)
    assert "4711" not in text and "internal" not in text  # staff's reason never shows


async def test_a_long_history_pages_with_a_stable_cursor_in_one_statement_per_source(
    api: Api, db: AsyncSession, settings: Settings, sql_statements: StatementCounter
) -> None:
    customer = await f.customer(db)
    owner = await f.user(db, member_of=customer)
    token = user_token(settings, owner)
    sub = await f.subscription(db, customer)
    actor = f"customer_user:{owner.external_id}"
    # 500 events, three to a minute: ties within a source and across sources.
    rows: list[Any] = []
    for n in range(500):
        minute = n // 3
        if n % 5 == 0:
            rows.append(_order(sub, minute, actor, 100 + n, n))
        elif n % 5 == 1:
            rows.append(_push(sub, minute, n))
        else:
            rows.append(_audit(sub, minute, f"change.{n}", "ADMIN", "1"))
    db.add_all(rows)
    await db.flush()
    sql_statements.reset()
    await api.data(NO_HISTORY, {"id": to_global_id("Subscription", sub.id or 0)}, token=token)
    baseline = sql_statements.count

    seen: list[tuple[str, str]] = []
    counts, after = [], None
    while True:
        sql_statements.reset()
        page = await _history(api, token, sub, first=100, after=after)
        counts.append(sql_statements.count)
        seen += [(node["occurredAt"], node["action"]) for node in page["nodes"]]
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        # An event added now, newer than every page, changes nothing of the pages to come.
        db.add(_audit(sub, 10_000 + len(counts), "change.late", "ADMIN", "1"))
        await db.flush()

    assert len(counts) == 5
    assert counts == [baseline + 7] * 5, sql_statements.statements  # one per source
    assert len(seen) == len(set(seen)) == 500
    assert [moment for moment, _ in seen] == sorted((m for m, _ in seen), reverse=True)
    orders = [action for _, action in seen if action == "order.placed"]
    assert len(orders) == 100


async def test_a_cursor_from_elsewhere_is_refused(
    api: Api, db: AsyncSession, settings: Settings
) -> None:
    customer = await f.customer(db)
    token = user_token(settings, await f.user(db, member_of=customer))
    sub = await f.subscription(db, customer)
    variables = {
        "id": to_global_id("Subscription", sub.id or 0),
        "first": 5,
        "after": to_global_id("Subscription", sub.id or 0),
    }

    body = await api.query(HISTORY, variables, token=token)

    assert [error["extensions"]["code"] for error in body["errors"]] == ["VALIDATION"]
    count = await db.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    assert count == 0


async def test_a_list_of_histories_costs_one_statement_per_source_however_long(
    api: Api, db: AsyncSession, settings: Settings, sql_statements: StatementCounter
) -> None:
    listing = """query($c: ID!) { subscriptions(first: 100, filter: {customerId: $c}) {
      nodes { number history(first: 2) { nodes { action } pageInfo { hasNextPage } } } } }"""
    counts, answers, index = [], [], {}
    for size in (2, 12):
        customer = await f.customer(db)
        token = user_token(settings, await f.user(db, member_of=customer))
        subs = [await f.subscription(db, customer) for _ in range(size)]
        for n, sub in enumerate(subs):
            index[sub.number] = n
            db.add_all(_audit(sub, m, f"change.{n}.{m}", "ADMIN", "1") for m in range(3))
            db.add(_push(sub, 5, 1000 * size + n))
        await db.flush()
        sql_statements.reset()
        data = await api.data(
            listing, {"c": to_global_id("Customer", customer.id or 0)}, token=token
        )
        counts.append(sql_statements.count)
        answers.append(data["subscriptions"]["nodes"])

    assert counts[0] == counts[1], sql_statements.statements
    assert len(answers[1]) == 12
    for node in answers[1]:
        n = index[node["number"]]
        assert node["history"] == {
            "nodes": [{"action": "provisioning.push"}, {"action": f"change.{n}.2"}],
            "pageInfo": {"hasNextPage": True},
        }
