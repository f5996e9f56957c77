"""Subscription.dunning, derived from the renewal and payment rows: a declined renewal in
grace shows its attempts, next retry and last day of grace; an open invoice past due shows
PAST_DUE; a paid subscription shows null. Voiding a declined renewal's invoice lapses the
renewal (its retries stop) and the dunning clears."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.clock import FixedClock
from app.config import Settings
from app.db.tables import CreditNote, Invoice, Membership, PortalUser, Renewal
from app.domain.enums import (
    CreditNoteKind,
    CreditNoteReason,
    CreditNoteStatus,
    InvoiceStatus,
    TokenKind,
)
from app.domain.lifecycle import RenewalStatus
from app.runtime import Runtime
from resolvers.ids import to_global_id
from tests.api.conftest import StatementCounter
from tests.api.payments_support import counted_runtime, pay, payer, rows
from tests.api.test_money_back import void
from tests.services.lifecycle_support import at, reload, run_at, subscribed
from tests.support import factories as f
from tests.support.graphql import Api, api_token, user_token

DUNNING = """query($id: ID!) { subscription(id: $id) { status dunning {
  status amountDue { amount currency } dueOn attempts lastFailureCode nextRetryOn graceEndsOn
  invoice { number status } } } }"""


@pytest.fixture
def calls() -> Counter[str]:
    return Counter()


@pytest.fixture
def runtime(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    calls: Counter[str],
) -> Runtime:
    return counted_runtime(settings, session_factory, clock, calls)


async def _dunning(api: Api, token: str, subscription_id: int) -> dict[str, object]:
    data = await api.data(DUNNING, {"id": to_global_id("Subscription", subscription_id)}, token)
    found: dict[str, object] = data["subscription"]
    return found


async def test_a_declined_renewal_shows_its_attempts_next_retry_and_grace_end(
    api: Api, db: AsyncSession, runtime: Runtime, clock: FixedClock, settings: Settings
) -> None:
    sub = await subscribed(db, seats=10, payment_method="pm_card_declined")
    await run_at(runtime, clock, at(date(2027, 1, 1)))
    sub = await reload(db, sub)
    owner_id = await db.scalar(
        sa.select(col(Membership.user_id)).where(col(Membership.customer_id) == sub.customer_id)
    )
    owner = await db.get(PortalUser, owner_id)
    assert owner is not None
    token = user_token(settings, owner)
    [invoice] = await rows(db, Invoice, col(Invoice.subscription_id) == sub.id)

    shown = await _dunning(api, token, sub.id or 0)

    assert shown == {
        "status": "GRACE",
        "dunning": {
            "status": "PAYMENT_FAILED",
            "amountDue": {"amount": "348000", "currency": "USD"},
            "dueOn": invoice.due_on.isoformat(),
            "attempts": 1,
            "lastFailureCode": "card_declined",
            "nextRetryOn": "2027-01-04",
            "graceEndsOn": "2027-01-14",
            "invoice": {"number": invoice.number, "status": "OPEN"},
        },
    }

    admin = await api_token(db, TokenKind.ADMIN)
    voided = await void(api, admin, to_global_id("Invoice", invoice.id or 0))

    assert voided["invoice"]["status"] == "VOID"  # type: ignore[index]
    [renewal] = await rows(db, Renewal)
    assert (renewal.status, renewal.next_attempt_on) == (RenewalStatus.LAPSED, None)
    assert (await _dunning(api, token, sub.id or 0))["dunning"] is None
    await run_at(runtime, clock, at(date(2027, 1, 4)))  # the retry day: nothing is charged
    [invoice] = await rows(db, Invoice, col(Invoice.subscription_id) == sub.id)
    assert invoice.status is InvoiceStatus.VOID
    assert (await reload(db, sub)).status == "GRACE"  # it still expires at the grace end


async def test_an_open_invoice_past_due_then_declined_then_paid(
    api: Api, db: AsyncSession, clock: FixedClock, settings: Settings
) -> None:
    p = await payer(db, settings, payment_method="pm_card_declined", due_on=date(2026, 6, 15))
    sid = p.subscription.id or 0
    clock.set(at(date(2026, 6, 15)))
    assert (await _dunning(api, p.owner, sid))["dunning"] is None  # due today: not late

    clock.set(at(date(2026, 6, 16)))
    late = (await _dunning(api, p.owner, sid))["dunning"]
    assert late == {
        "status": "PAST_DUE",
        "amountDue": {"amount": "348000", "currency": "USD"},
        "dueOn": "2026-06-15",
        "attempts": 0,
        "lastFailureCode": None,
        "nextRetryOn": None,
        "graceEndsOn": None,
        "invoice": {"number": p.invoice.number, "status": "OPEN"},
    }

    assert (await pay(api, p.owner, p.invoice_id, "pay-1"))["code"] == "PAYMENT_DECLINED"
    failed = (await _dunning(api, p.owner, sid))["dunning"]
    assert failed == late | {  # type: ignore[operator]
        "status": "PAYMENT_FAILED",
        "attempts": 1,
        "lastFailureCode": "card_declined",
    }


LISTED = """query($c: ID!) { customer(id: $c) { subscriptions(first: 50) { nodes {
  dunning { status attempts invoice { number } }
  invoices(first: 10) { nodes { amountCredited { amount } creditNotes { number } } } } } } }"""


async def test_dunning_and_credit_notes_of_a_list_take_the_same_statements_for_any_length(
    api: Api, db: AsyncSession, settings: Settings, sql_statements: StatementCounter
) -> None:
    """Batched per request (resolvers/loaders.py): 2 or 6 subscriptions, each with a late
    invoice and one with a credit note, read in as many statements."""
    p = await payer(db, settings, due_on=date(2026, 1, 31))
    customer = to_global_id("Customer", p.customer.id or 0)
    counts = []
    for more in (1, 4):
        for _ in range(more):
            sub = await f.subscription(db, p.customer, account=p.account)
            invoice = await f.invoice(db, sub, status=InvoiceStatus.PAID, amount_paid=348_000)
            db.add(_note(invoice))
        await db.flush()
        sql_statements.reset()
        data = await api.data(LISTED, {"c": customer}, token=p.owner)
        counts.append(sql_statements.count)
        nodes = data["customer"]["subscriptions"]["nodes"]
        assert len(nodes) == 1 + (1 if more == 1 else 5)
        assert sum(1 for n in nodes if n["dunning"]) == 1  # the payer's late invoice
        credited = [i for n in nodes for i in n["invoices"]["nodes"] if i["creditNotes"]]
        assert [i["amountCredited"] for i in credited] == [{"amount": "500"}] * (len(nodes) - 1)

    assert counts[0] == counts[1], sql_statements.statements


def _note(invoice: Invoice) -> CreditNote:
    return CreditNote(
        number=f"CN-T{invoice.id}",
        invoice_id=invoice.id or 0,
        customer_id=invoice.customer_id,
        kind=CreditNoteKind.CREDIT,
        reason=CreditNoteReason.GOODWILL,
        status=CreditNoteStatus.ISSUED,
        currency="USD",
        amount=500,
        lines=[{"description": "Goodwill", "amount": 500}],
        idempotency_key="k",
        request_digest="d",
        created_by="admin:1",
    )
