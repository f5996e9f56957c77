"""A first purchase: a signed-in user who belongs to no customer yet quotes and places a new
subscription; the order creates the customer, makes the user its owner, and creates the
billing account, here and (once) at the billing provider. Retries create nothing twice;
bad details are refused before anything is created."""

from __future__ import annotations

from collections import Counter

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.clock import FixedClock
from app.config import Settings
from app.db.tables import (
    AuditEvent,
    BillingAccount,
    Customer,
    InvoiceLine,
    Membership,
    PortalUser,
)
from app.domain.enums import MemberRole, TokenKind
from app.providers.billing import BillingAccountRecord, NewAccount
from app.runtime import Runtime
from tests.api.people_support import (
    PLACE,
    QUOTE,
    VIEWER,
    count,
    first_order,
    first_purchase_rows,
    stranger_token,
)
from tests.support import factories as f
from tests.support.counting_billing import counted_runtime
from tests.support.graphql import Api, api_token, error_codes, user_token
from tests.support.snapshots import table_counts

PREMIUM_5_SEATS = 5 * 34_800  # a full term from today (2026-06-01 to 2027-06-01)


@pytest.fixture
def calls() -> Counter[str]:
    return Counter()


@pytest.fixture
def new_accounts() -> list[NewAccount]:
    return []


@pytest.fixture
def runtime(
    app_settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    calls: Counter[str],
    new_accounts: list[NewAccount],
) -> Runtime:
    """The configured providers, their billing writes counted and the accounts asked for
    recorded."""
    counted = counted_runtime(app_settings, session_factory, clock, calls)
    billing = counted.providers.billing
    create_account = billing.create_account

    async def recorded(account: NewAccount, *, idempotency_key: str) -> BillingAccountRecord:
        new_accounts.append(account)
        return await create_account(account, idempotency_key=idempotency_key)

    billing.create_account = recorded  # type: ignore[method-assign]
    return counted


async def quote(api: Api, token: str, order: dict[str, object]) -> dict[str, object]:
    data = await api.data(QUOTE, {"input": order}, token=token)
    result: dict[str, object] = data["orderQuote"]
    return result


async def place(api: Api, token: str, quote_token: object, key: str) -> dict[str, object]:
    data = await api.data(PLACE, {"token": quote_token, "key": key}, token=token)
    result: dict[str, object] = data["orderPlace"]
    return result


async def test_a_stranger_buys_and_becomes_the_owner_of_a_new_customer(
    api: Api,
    db: AsyncSession,
    settings: Settings,
    calls: Counter[str],
    new_accounts: list[NewAccount],
) -> None:
    await f.catalog(db)
    token = stranger_token(settings, "sso-1001", email="nina@sso.example", name="Nina Neu")
    before = await first_purchase_rows(db)

    q = await quote(api, token, first_order())
    assert q["__typename"] == "Quote", q
    assert q["total"] == {"amount": str(PREMIUM_5_SEATS)}
    assert await first_purchase_rows(db) == before  # a quote creates nothing

    placed = await place(api, token, q["token"], "first-1")

    assert placed["__typename"] == "OrderPlacePayload", placed
    order = placed["order"]
    assert order["status"] == "COMPLETED"
    assert order["total"] == {"amount": "174000"}
    assert order["invoice"] == {
        "status": "PAID",
        "total": {"amount": "174000"},
        "amountPaid": {"amount": "174000"},
    }
    assert order["subscription"]["seats"] == 5 and order["subscription"]["plan"] == {
        "code": "premium"
    }
    assert order["customer"] == {
        "id": order["customer"]["id"],
        "name": "Newco GmbH",
        "country": "DE",
        "billingAccounts": [
            {
                "name": "Newco GmbH",
                "currency": "USD",
                "taxId": "DE123456789",
                "soldTo": {"name": "Nina Neu", "email": "nina@newco.example"},
                "billTo": {"name": "Newco Accounts Payable", "email": "ap@newco.example"},
                "billingAddress": {
                    "line1": "Hauptstrasse 1",
                    "city": "Berlin",
                    "postalCode": "10115",
                    "country": "DE",
                },
                "paymentMethod": "pm_card_visa",
            }
        ],
        "members": [
            {
                "user": {"externalId": "sso-1001", "name": "Nina Neu", "email": "nina@sso.example"},
                "role": "OWNER",
            }
        ],
    }
    after = await first_purchase_rows(db)
    assert {k: after[k] - before[k] for k in after} == {
        "customer": 1,
        "portal_user": 1,
        "membership": 1,
        "billing_account": 1,
        "order": 1,
        "ledger_account": 1,
        "ledger_payment": 1,
        "audit_event": 2,  # customer.created and order.placed
    }
    assert calls["create_account"] == 1 and calls["collect_payment"] == 1
    assert new_accounts == [
        NewAccount(
            name="Newco GmbH",
            email="ap@newco.example",
            currency="USD",
            payment_method="pm_card_visa",
            country="DE",
            tax_id="DE123456789",
        )
    ]
    account = (
        await db.scalars(sa.select(BillingAccount).order_by(col(BillingAccount.id).desc()))
    ).first()
    assert account is not None and account.provider_ref is not None
    created = await db.scalar(
        sa.select(AuditEvent).where(col(AuditEvent.action) == "customer.created")
    )
    assert created is not None and created.actor_id == "sso-1001"
    assert created.after == {
        "name": "Newco GmbH",
        "country": "DE",
        "owner": "sso-1001",
        "billing_account": account.id,
        "currency": "USD",
        "tax_id": "DE123456789",
    }

    # Signed in again, the same token now answers as the owner.
    viewer = (await api.data(VIEWER, token=token))["viewer"]
    assert viewer == {
        "kind": "CUSTOMER_USER",
        "name": "Nina Neu",
        "membershipState": "MEMBER",
        "canStartFirstPurchase": False,
        "memberships": [{"role": "OWNER", "customer": {"name": "Newco GmbH"}}],
    }


async def test_a_retry_with_the_same_key_creates_nothing_twice(
    api: Api, db: AsyncSession, settings: Settings, calls: Counter[str]
) -> None:
    await f.catalog(db)
    token = stranger_token(settings, "sso-1002", email="r@sso.example")
    q = await quote(api, token, first_order())
    first = await place(api, token, q["token"], "first-2")
    rows = await first_purchase_rows(db)
    provider_calls = dict(calls)

    again = await place(api, token, q["token"], "first-2")

    assert again == first
    assert await first_purchase_rows(db) == rows
    assert dict(calls) == provider_calls  # no second provider account, no second charge
    assert calls["create_account"] == 1 and calls["collect_payment"] == 1


async def test_a_known_user_without_a_customer_keeps_their_portal_user(
    api: Api, db: AsyncSession, settings: Settings
) -> None:
    await f.catalog(db)
    user = await f.user(db, external_id="sso-known", email="known@x.example", name="Known")
    token = user_token(settings, user)
    assert (await api.data(VIEWER, token=token))["viewer"]["membershipState"] == "NO_MEMBERSHIP"
    users = await count(db, PortalUser)

    q = await quote(api, token, first_order(namespace="known-ns"))
    placed = await place(api, token, q["token"], "first-3")

    assert placed["order"]["status"] == "COMPLETED"
    assert placed["order"]["customer"]["members"] == [
        {
            "user": {"externalId": "sso-known", "name": "Known", "email": "known@x.example"},
            "role": "OWNER",
        }
    ]
    assert await count(db, PortalUser) == users
    membership = await db.scalar(sa.select(Membership).where(col(Membership.user_id) == user.id))
    assert membership is not None and membership.role is MemberRole.OWNER


async def test_without_name_claims_the_new_user_is_named_by_the_sold_to_contact(
    api: Api, db: AsyncSession, settings: Settings
) -> None:
    await f.catalog(db)
    token = stranger_token(settings, "sso-plain")
    q = await quote(api, token, first_order(namespace="plain-ns"))
    placed = await place(api, token, q["token"], "first-4")
    assert placed["order"]["customer"]["members"] == [
        {
            "user": {"externalId": "sso-plain", "name": "Nina Neu", "email": "nina@newco.example"},
            "role": "OWNER",
        }
    ]


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        pytest.param({"vatId": "DE12345"}, "VAT_ID_INVALID", id="vat-too-short"),
        pytest.param({"vatId": "FR123456789"}, "VAT_ID_INVALID", id="vat-of-another-country"),
        pytest.param(
            {"billingAddress": {"city": "Berlin", "country": ""}}, "VALIDATION", id="no-country"
        ),
        pytest.param(
            {"billingAddress": {"country": "Germany"}}, "VALIDATION", id="country-not-iso"
        ),
        pytest.param(
            {"soldTo": {"name": "N", "email": "not-an-email"}}, "VALIDATION", id="bad-email"
        ),
        pytest.param({"name": "  "}, "VALIDATION", id="blank-name"),
        pytest.param({"currency": "XXX"}, "CURRENCY_MISMATCH", id="currency-not-sold"),
    ],
)
async def test_bad_details_are_refused_and_nothing_is_created(
    api: Api, db: AsyncSession, settings: Settings, overrides: dict[str, object], code: str
) -> None:
    await f.catalog(db)
    token = stranger_token(settings, "sso-bad")
    before = await table_counts(db)

    answer = await quote(api, token, first_order(**overrides))

    assert answer["__typename"] != "Quote" and answer["code"] == code, answer
    assert await table_counts(db) == before


async def test_a_vat_id_of_the_country_is_accepted_in_any_spacing(
    api: Api, db: AsyncSession, settings: Settings
) -> None:
    await f.catalog(db)
    token = stranger_token(settings, "sso-nl")
    order = first_order(
        namespace="nl-ns", vatId="nl-1234.567.89-b01", billingAddress={"country": "NL"}
    )
    placed = await place(api, token, (await quote(api, token, order))["token"], "first-nl")
    [account] = placed["order"]["customer"]["billingAccounts"]
    assert account["taxId"] == "NL123456789B01"


async def test_a_declined_first_purchase_keeps_the_customer_and_replays(
    api: Api, db: AsyncSession, settings: Settings, calls: Counter[str]
) -> None:
    await f.catalog(db)
    token = stranger_token(settings, "sso-declined")
    q = await quote(
        api, token, first_order(namespace="d-ns", paymentMethodToken="pm_card_declined")
    )

    declined = await place(api, token, q["token"], "first-d")
    rows = await first_purchase_rows(db)
    again = await place(api, token, q["token"], "first-d")

    assert (
        declined["__typename"] == "PaymentDeclinedError" and declined["code"] == "PAYMENT_DECLINED"
    )
    assert again == declined
    assert await first_purchase_rows(db) == rows
    assert calls["create_account"] == 1
    # The user owns the customer now: a new first purchase is refused; they buy for it.
    viewer = (await api.data(VIEWER, token=token))["viewer"]
    assert viewer["memberships"] == [{"role": "OWNER", "customer": {"name": "Newco GmbH"}}]
    refused = await quote(api, token, first_order(namespace="d-ns"))
    assert refused["code"] == "ALREADY_A_CUSTOMER"


async def test_a_member_of_a_customer_cannot_make_a_first_purchase(
    api: Api, db: AsyncSession, settings: Settings
) -> None:
    await f.catalog(db)
    owner = await f.user(db, member_of=await f.customer(db), role=MemberRole.VIEWER)
    before = await table_counts(db)
    answer = await quote(api, user_token(settings, owner), first_order())
    assert answer["code"] == "ALREADY_A_CUSTOMER"
    assert await table_counts(db) == before


async def test_staff_and_partners_do_not_make_first_purchases(api: Api, db: AsyncSession) -> None:
    await f.catalog(db)
    admin = await api_token(db, TokenKind.ADMIN)
    body = await api.query(QUOTE, {"input": first_order()}, token=admin)
    assert error_codes(body) == ["FORBIDDEN"]


async def test_a_namespace_of_another_customer_is_not_found_and_nothing_is_created(
    api: Api, db: AsyncSession, settings: Settings
) -> None:
    await f.catalog(db)
    other = await f.customer(db)
    await f.deployment(db, other, external_id="taken-ns")
    token = stranger_token(settings, "sso-taken")
    before = await table_counts(db)
    answer = await quote(api, token, first_order(namespace="taken-ns"))
    assert answer["code"] == "NOT_FOUND"
    assert await table_counts(db) == before


async def test_both_customer_id_and_new_customer_is_a_validation_error(
    api: Api, db: AsyncSession, settings: Settings
) -> None:
    await f.catalog(db)
    customer = await f.customer(db)
    token = stranger_token(settings, "sso-both")
    from resolvers.ids import to_global_id

    order = {**first_order(), "customerId": to_global_id("Customer", customer.id or 0)}
    answer = await quote(api, token, order)
    assert answer["code"] == "VALIDATION"
    assert await count(db, Customer) == 1


async def test_a_user_id_too_long_to_keep_is_refused_before_anything_is_created(
    api: Api, db: AsyncSession, settings: Settings
) -> None:
    await f.catalog(db)
    token = stranger_token(settings, "x" * 65)
    q = await quote(api, token, first_order(namespace="long-ns"))
    before = await table_counts(db)
    answer = await place(api, token, q["token"], "first-long")
    assert answer["code"] == "VALIDATION", answer
    assert await table_counts(db) == before


async def test_a_first_purchase_is_taxed_for_the_address_it_gives(
    api: Api, db: AsyncSession, settings: Settings
) -> None:
    """No VAT id, billed in Germany: 19 % German VAT on the quote, and the same cents on the
    invoice the order writes (with a valid DE VAT id it is reverse-charged, as above)."""
    await f.catalog(db)
    token = stranger_token(settings, "sso-1009", email="tom@sso.example")

    q = await quote(api, token, first_order(vatId=None))
    placed = await place(api, token, q["token"], "first-taxed")

    vat = PREMIUM_5_SEATS * 19 // 100  # 33 060, exact: no rounding
    assert q["total"] == {"amount": str(PREMIUM_5_SEATS + vat)}
    assert placed["order"]["invoice"]["total"] == {"amount": str(PREMIUM_5_SEATS + vat)}
    lines = await db.execute(
        sa.select(InvoiceLine.amount, InvoiceLine.tax_amount, InvoiceLine.tax_rate_ppm)
    )
    assert lines.all() == [(PREMIUM_5_SEATS, vat, 190_000)]
