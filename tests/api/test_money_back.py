"""Money back (docs/money-back.md): creditNoteCreate refunds or credits a paid invoice, in full
or in part, to the cent and once per idempotency key; over-refunds, a foreign currency and bad
amounts are typed errors that change nothing and call no provider; invoiceVoid voids an open
invoice here and at the provider, and refuses a paid one. Refunds run through the local
provider, the Stripe fake and the Zuora fake."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.clock import FixedClock
from app.config import Settings
from app.db.tables import CreditNote, Invoice, LedgerInvoice, LedgerRefund
from app.domain.enums import CreditNoteStatus, InvoiceStatus, TokenKind
from app.providers.errors import ProviderRejected, ProviderUnavailable
from app.runtime import Runtime
from resolvers.ids import to_global_id
from tests.api.payments_support import (
    Payer,
    audit_of,
    counted_runtime,
    money_rows,
    pay,
    payer,
    rows,
)
from tests.support.graphql import Api, api_token

CREATE = """mutation($input: CreditNoteCreateInput!, $reason: String!) {
  creditNoteCreate(input: $input, reason: $reason) {
    __typename
    ... on CreditNoteCreatePayload {
      creditNote { number kind reason status amount { amount currency }
                   lines { description amount { amount } } refundRef }
      invoice { status amountPaid { amount } amountCredited { amount }
                creditNotes { number kind status amount { amount } } } }
    ... on CreditExceedsError { remaining { amount currency } }
    ... on ProviderError { retryable }
    ... on UserError { code message } } }"""

VOID = """mutation($id: ID!, $reason: String!) {
  invoiceVoid(invoiceId: $id, reason: $reason) {
    __typename
    ... on InvoiceVoidPayload { invoice { number status amountDue { amount } } }
    ... on UserError { code message } } }"""

REASON = "customer asked, ticket 42"


@pytest.fixture
def calls() -> Counter[str]:
    return Counter()


@pytest.fixture
async def runtime(
    app_settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    calls: Counter[str],
) -> AsyncIterator[Runtime]:
    """The app's providers (the Stripe or Zuora fake's adapter when `billing` says so), with
    the billing writes counted; their HTTP sessions closed at the end."""
    runtime = counted_runtime(app_settings, session_factory, clock, calls)
    providers = runtime.providers
    yield runtime
    await providers.aclose()


@pytest.fixture
async def admin(db: AsyncSession) -> str:
    return await api_token(db, TokenKind.ADMIN)


async def paid(api: Api, db: AsyncSession, settings: Settings, calls: Counter[str]) -> Payer:
    """A customer whose 3 480.00 USD invoice was paid now through the provider."""
    p = await payer(db, settings)
    answer = await pay(api, p.owner, p.invoice_id, "pay-1")
    assert answer["__typename"] == "InvoicePayPayload", answer
    calls.clear()
    return p


async def credit(
    api: Api,
    token: str,
    invoice_id: str,
    key: str,
    *,
    kind: str = "REFUND",
    reason: str = REASON,
    **fields: Any,
) -> dict[str, Any]:
    given = {"invoiceId": invoice_id, "kind": kind, "reason": "SERVICE_ISSUE", "currency": "USD"}
    variables = {"input": given | {"idempotencyKey": key} | fields, "reason": reason}
    result: dict[str, Any] = (await api.data(CREATE, variables, token=token))["creditNoteCreate"]
    return result


async def all_rows(db: AsyncSession) -> dict[str, Any]:
    found = await money_rows(db)
    for table in (CreditNote, LedgerRefund, LedgerInvoice):
        found[table.__tablename__] = [row.model_dump() for row in await rows(db, table)]
    return found


async def refused(
    api: Api, db: AsyncSession, calls: Counter[str], token: str, invoice_id: str, **fields: Any
) -> dict[str, Any]:
    """A refused creditNoteCreate: no row changed, no provider write."""
    before = await all_rows(db)
    answer = await credit(api, token, invoice_id, fields.pop("key", "refused-1"), **fields)
    assert await all_rows(db) == before, "a refused credit note changed rows"
    assert calls == Counter(), "a refused credit note called the provider"
    return answer


async def refunds(db: AsyncSession) -> list[int]:
    return [row.amount for row in await rows(db, LedgerRefund)]


async def test_partial_refunds_to_the_cent_then_the_invoice_is_refunded(
    api: Api, db: AsyncSession, settings: Settings, calls: Counter[str], admin: str
) -> None:
    p = await paid(api, db, settings, calls)

    first = await credit(api, admin, p.invoice_id, "cn-1", amount="100001")

    assert first["__typename"] == "CreditNoteCreatePayload", first
    note = first["creditNote"]
    assert note["kind"] == "REFUND" and note["status"] == "ISSUED" and note["refundRef"]
    assert note["amount"] == {"amount": "100001", "currency": "USD"}
    line = {"description": f"Credit against invoice {p.invoice.number}"}
    assert note["lines"] == [line | {"amount": {"amount": "100001"}}]
    assert first["invoice"]["status"] == "PAID"
    assert first["invoice"]["amountPaid"] == {"amount": "348000"}
    assert first["invoice"]["amountCredited"] == {"amount": "100001"}
    assert calls == Counter({"refund_payment": 1})
    assert await refunds(db) == [100_001]

    rest = await credit(
        api,
        admin,
        p.invoice_id,
        "cn-2",
        lines=[
            {"description": "Seats", "amount": "200000"},
            {"description": "Tax", "amount": 47_999},
        ],
    )

    assert rest["creditNote"]["amount"] == {"amount": "247999", "currency": "USD"}
    assert [line["amount"]["amount"] for line in rest["creditNote"]["lines"]] == ["200000", "47999"]
    assert rest["invoice"]["status"] == "REFUNDED"
    assert rest["invoice"]["amountCredited"] == {"amount": "348000"}
    assert [n["amount"]["amount"] for n in rest["invoice"]["creditNotes"]] == ["100001", "247999"]
    assert await refunds(db) == [100_001, 247_999]
    [invoice] = await rows(db, Invoice, col(Invoice.id) == p.invoice.id)
    assert (invoice.status, invoice.amount_paid) == (InvoiceStatus.REFUNDED, 348_000)
    notes = await rows(db, CreditNote)
    assert [(n.amount, n.status, n.payment_id is not None) for n in notes] == [
        (100_001, CreditNoteStatus.ISSUED, True),
        (247_999, CreditNoteStatus.ISSUED, True),
    ]
    events = [e for e in await audit_of(db, "Invoice", p.invoice.id) if "credit" in e.action]
    assert [(e.action, e.reason, e.after["amount"]) for e in events] == [  # type: ignore[index]
        ("credit_note.issued", REASON, 100_001),
        ("credit_note.issued", REASON, 247_999),
    ]


async def test_a_refund_beyond_what_is_left_is_refused_and_changes_nothing(
    api: Api, db: AsyncSession, settings: Settings, calls: Counter[str], admin: str
) -> None:
    p = await paid(api, db, settings, calls)
    assert (await credit(api, admin, p.invoice_id, "cn-1", amount="300000"))["creditNote"]
    calls.clear()

    answer = await refused(api, db, calls, admin, p.invoice_id, amount="48001")

    assert answer == {
        "__typename": "CreditExceedsError",
        "remaining": {"amount": "48000", "currency": "USD"},
        "code": "REFUND_EXCEEDS_PAID",
        "message": "A refund of $480.01 is more than the $480.00 left to refund on this "
        "invoice; nothing was refunded.",
    }


async def test_credits_and_refunds_together_never_pass_the_total(
    api: Api, db: AsyncSession, settings: Settings, calls: Counter[str], admin: str
) -> None:
    p = await paid(api, db, settings, calls)

    credited = await credit(api, admin, p.invoice_id, "cn-1", kind="CREDIT", amount="300000")

    assert credited["creditNote"]["kind"] == "CREDIT"
    assert credited["creditNote"]["status"] == "ISSUED"
    assert credited["creditNote"]["refundRef"] is None
    assert calls == Counter(), "a credit is not sent to the provider"
    over = await refused(api, db, calls, admin, p.invoice_id, amount="48001")
    assert (over["code"], over["remaining"]["amount"]) == ("REFUND_EXCEEDS_PAID", "48000")
    too_much = await refused(api, db, calls, admin, p.invoice_id, kind="CREDIT", amount="48001")
    assert (too_much["code"], too_much["remaining"]["amount"]) == ("CREDIT_EXCEEDS_TOTAL", "48000")
    last = await credit(api, admin, p.invoice_id, "cn-2", amount="48000")
    assert last["invoice"]["status"] == "REFUNDED"
    assert await refunds(db) == [48_000]


async def test_a_retry_with_the_key_replays_the_note_and_refunds_once(
    api: Api, db: AsyncSession, settings: Settings, calls: Counter[str], admin: str
) -> None:
    p = await paid(api, db, settings, calls)
    first = await credit(api, admin, p.invoice_id, "cn-1", amount="5000")

    again = await credit(api, admin, p.invoice_id, "cn-1", amount="5000")

    assert again == first
    assert calls == Counter({"refund_payment": 1})
    assert await refunds(db) == [5_000]
    assert len(await rows(db, CreditNote)) == 1
    calls.clear()
    other = await refused(api, db, calls, admin, p.invoice_id, key="cn-1", amount="5001")
    assert other["code"] == "IDEMPOTENCY_KEY_REUSED"


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"amount": "100", "currency": "EUR"}, "CURRENCY_MISMATCH"),
        ({"amount": "0"}, "VALIDATION"),
        ({"amount": "-5"}, "VALIDATION"),
        ({}, "VALIDATION"),
        ({"amount": "100", "lines": [{"description": "x", "amount": "100"}]}, "VALIDATION"),
        ({"lines": [{"description": " ", "amount": "100"}]}, "VALIDATION"),
        ({"amount": "100", "reason": ""}, "VALIDATION"),
        ({"amount": "100", "key": ""}, "VALIDATION"),
    ],
)
async def test_bad_requests_are_typed_errors_that_change_nothing(
    api: Api,
    db: AsyncSession,
    settings: Settings,
    calls: Counter[str],
    admin: str,
    fields: dict[str, Any],
    code: str,
) -> None:
    p = await paid(api, db, settings, calls)

    answer = await refused(api, db, calls, admin, p.invoice_id, **fields)

    assert answer["code"] == code, answer


@pytest.mark.parametrize("status", [InvoiceStatus.OPEN, InvoiceStatus.VOID, InvoiceStatus.DRAFT])
async def test_money_goes_back_only_on_a_paid_invoice(
    api: Api,
    db: AsyncSession,
    settings: Settings,
    calls: Counter[str],
    admin: str,
    status: InvoiceStatus,
) -> None:
    p = await payer(db, settings, status=status)

    answer = await refused(api, db, calls, admin, p.invoice_id, amount="100")

    assert answer["code"] == "INVOICE_NOT_PAID"
    assert answer["message"].startswith(f"Invoice {p.invoice.number} is {status.value};")


async def test_customers_may_not_give_money_back(
    api: Api, db: AsyncSession, settings: Settings, calls: Counter[str]
) -> None:
    p = await paid(api, db, settings, calls)
    before = await all_rows(db)
    variables = {
        "input": {
            "invoiceId": p.invoice_id,
            "kind": "REFUND",
            "reason": "GOODWILL",
            "currency": "USD",
            "amount": "100",
            "idempotencyKey": "cn-1",
        },
        "reason": REASON,
    }

    body = await api.query(CREATE, variables, token=p.owner)

    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await all_rows(db) == before and calls == Counter()


class _Failing:
    """The billing provider with refunds failing as told."""

    def __init__(self, inner: Any, error: Exception) -> None:
        self._inner, self.error = inner, error

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def refund_payment(self, *args: Any, **kwargs: Any) -> Any:
        if self.error is not None:
            raise self.error
        return await self._inner.refund_payment(*args, **kwargs)


async def test_an_unanswered_refund_holds_its_amount_until_its_retry_refunds_once(
    api: Api,
    db: AsyncSession,
    settings: Settings,
    calls: Counter[str],
    admin: str,
    runtime: Runtime,
) -> None:
    p = await paid(api, db, settings, calls)
    failing = _Failing(runtime.providers.billing, ProviderUnavailable("local", "down"))
    runtime.providers.billing = failing  # type: ignore[assignment]

    down = await credit(api, admin, p.invoice_id, "cn-1", amount="348000")

    assert (down["code"], down["retryable"]) == ("PROVIDER_UNAVAILABLE", True)
    [note] = await rows(db, CreditNote)
    assert (note.status, note.amount, note.refund_ref) == (CreditNoteStatus.PENDING, 348_000, None)
    held = await credit(api, admin, p.invoice_id, "cn-2", amount="1")
    assert (held["code"], held["remaining"]["amount"]) == ("REFUND_EXCEEDS_PAID", "0")
    assert await refunds(db) == []

    failing.error = None  # type: ignore[assignment]
    retried = await credit(api, admin, p.invoice_id, "cn-1", amount="348000")

    assert retried["creditNote"]["status"] == "ISSUED"
    assert retried["invoice"]["status"] == "REFUNDED"
    assert await refunds(db) == [348_000]
    assert len(await rows(db, CreditNote)) == 1


async def test_a_refund_the_provider_refuses_fails_the_note_and_gives_nothing_back(
    api: Api,
    db: AsyncSession,
    settings: Settings,
    calls: Counter[str],
    admin: str,
    runtime: Runtime,
) -> None:
    p = await paid(api, db, settings, calls)
    runtime.providers.billing = _Failing(  # type: ignore[assignment]
        runtime.providers.billing, ProviderRejected("local", "payment_not_refundable", "no")
    )

    refused_once = await credit(api, admin, p.invoice_id, "cn-1", amount="1000")
    replayed = await credit(api, admin, p.invoice_id, "cn-1", amount="1000")

    assert refused_once["code"] == "PROVIDER_REJECTED"
    assert (refused_once["retryable"], replayed) == (False, refused_once)
    [note] = await rows(db, CreditNote)
    assert (note.status, note.failure_code) == (CreditNoteStatus.FAILED, "payment_not_refundable")
    assert await refunds(db) == []
    [invoice] = await rows(db, Invoice, col(Invoice.id) == p.invoice.id)
    assert invoice.status is InvoiceStatus.PAID
    actions = [e.action for e in await audit_of(db, "Invoice", p.invoice.id)]
    assert actions.count("credit_note.refund_refused") == 1


@pytest.mark.parametrize("billing", ["local", "stripe", "zuora"])
async def test_a_partial_then_full_refund_through_each_provider(
    api: Api, db: AsyncSession, settings: Settings, calls: Counter[str], admin: str, billing: str
) -> None:
    p = await paid(api, db, settings, calls)

    part = await credit(api, admin, p.invoice_id, "cn-1", amount="48000")
    rest = await credit(api, admin, p.invoice_id, "cn-2", amount="300000")
    over = await credit(api, admin, p.invoice_id, "cn-3", amount="1")

    assert part["creditNote"]["status"] == rest["creditNote"]["status"] == "ISSUED"
    assert part["creditNote"]["refundRef"] != rest["creditNote"]["refundRef"]
    assert rest["invoice"]["status"] == "REFUNDED"
    assert (over["code"], over["remaining"]["amount"]) == ("REFUND_EXCEEDS_PAID", "0")
    assert calls == Counter({"refund_payment": 2})
    notes = await rows(db, CreditNote)
    assert [(n.amount, n.status) for n in notes] == [
        (48_000, CreditNoteStatus.ISSUED),
        (300_000, CreditNoteStatus.ISSUED),
    ]


# -- invoiceVoid -------------------------------------------------------------------------------


async def void(api: Api, token: str, invoice_id: str, reason: str = REASON) -> dict[str, Any]:
    data = await api.data(VOID, {"id": invoice_id, "reason": reason}, token=token)
    result: dict[str, Any] = data["invoiceVoid"]
    return result


async def test_an_open_invoice_is_voided_here_and_at_the_provider_once(
    api: Api, db: AsyncSession, settings: Settings, calls: Counter[str], admin: str
) -> None:
    p = await payer(db, settings, payment_method="pm_card_declined")
    declined = await pay(api, p.owner, p.invoice_id, "pay-1")  # issued at the provider
    assert declined["code"] == "PAYMENT_DECLINED"
    calls.clear()

    voided = await void(api, admin, p.invoice_id)
    again = await void(api, admin, p.invoice_id)

    assert voided == {
        "__typename": "InvoiceVoidPayload",
        "invoice": {
            "number": p.invoice.number,
            "status": "VOID",
            "amountDue": {"amount": "348000"},
        },
    }
    assert again == voided
    assert calls == Counter({"void_invoice": 1})
    [invoice] = await rows(db, Invoice, col(Invoice.id) == p.invoice.id)
    [at_provider] = await rows(db, LedgerInvoice, col(LedgerInvoice.ref) == invoice.provider_ref)
    assert (invoice.status, at_provider.status) == (InvoiceStatus.VOID, "VOID")
    events = await audit_of(db, "Invoice", p.invoice.id)
    events = [e for e in events if e.action == "invoice.voided"]
    assert [(e.reason, e.before, e.after) for e in events] == [
        (REASON, {"status": "OPEN"}, {"status": "VOID", "renewal_lapsed": False})
    ]
    after = await pay(api, p.owner, p.invoice_id, "pay-2")
    assert after["code"] == "INVOICE_NOT_OPEN"


async def test_a_paid_invoice_is_not_voided(
    api: Api, db: AsyncSession, settings: Settings, calls: Counter[str], admin: str
) -> None:
    p = await paid(api, db, settings, calls)
    before = await all_rows(db)

    answer = await void(api, admin, p.invoice_id)

    assert answer == {
        "__typename": "RuleViolation",
        "code": "INVOICE_PAID",
        "message": f"Invoice {p.invoice.number} is paid; a paid invoice is never voided. Give "
        "its money back with creditNoteCreate.",
    }
    assert await all_rows(db) == before and calls == Counter()


async def test_a_void_needs_a_reason_and_staff(
    api: Api, db: AsyncSession, settings: Settings, calls: Counter[str], admin: str
) -> None:
    p = await payer(db, settings)
    before = await all_rows(db)

    blank = await void(api, admin, p.invoice_id, reason=" ")
    body = await api.query(VOID, {"id": p.invoice_id, "reason": REASON}, token=p.billing_admin)

    assert blank["code"] == "VALIDATION"
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await all_rows(db) == before and calls == Counter()


async def test_a_void_racing_the_provider_paying_it_is_invoice_paid_and_changes_nothing(
    api: Api, db: AsyncSession, settings: Settings, calls: Counter[str], admin: str
) -> None:
    p = await payer(db, settings)
    assert (await pay(api, p.owner, p.invoice_id, "pay-1"))["__typename"] == "InvoicePayPayload"
    await db.execute(  # the local copy still says OPEN (a webhook not yet in)
        sa.update(Invoice).where(col(Invoice.id) == p.invoice.id).values(status="OPEN")
    )
    await db.commit()
    before = await all_rows(db)
    calls.clear()

    answer = await void(api, admin, p.invoice_id)

    assert answer["code"] == "INVOICE_PAID"
    assert calls == Counter({"void_invoice": 1})
    assert await all_rows(db) == before


HISTORY = """query($id: ID!) { subscription(id: $id) { history(first: 10) {
  nodes { kind action status amount { amount currency } actor { kind name } } } } }"""


async def test_the_customers_history_shows_the_money_given_back_by_staff(
    api: Api, db: AsyncSession, settings: Settings, calls: Counter[str], admin: str
) -> None:
    p = await paid(api, db, settings, calls)
    await credit(api, admin, p.invoice_id, "cn-1", amount="1000")
    await credit(api, admin, p.invoice_id, "cn-2", kind="CREDIT", amount="2000")
    sid = to_global_id("Subscription", p.subscription.id or 0)

    data = await api.data(HISTORY, {"id": sid}, token=p.owner)

    nodes = data["subscription"]["history"]["nodes"]
    staff = {"kind": "STAFF", "name": "staff"}
    assert [n for n in nodes if n["kind"] == "CREDIT_NOTE"] == [
        {
            "kind": "CREDIT_NOTE",
            "action": "credit_note.credit",
            "status": "ISSUED",
            "amount": {"amount": "2000", "currency": "USD"},
            "actor": staff,
        },
        {
            "kind": "CREDIT_NOTE",
            "action": "credit_note.refund",
            "status": "ISSUED",
            "amount": {"amount": "1000", "currency": "USD"},
            "actor": staff,
        },
    ]
    assert REASON not in str(data)  # the staff's reason stays in the audit log
