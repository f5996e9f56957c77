"""The demo seed: idempotent, the catalog of docs/domain.md section 2, states that hold on any day,
money that adds up, and tokens that match what was stored."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.tokens import hash_api_token, verify_user_jwt
from app.clock import FixedClock
from app.config import Settings
from app.db.tables import (
    AddOnAssignment,
    AddOnPurchase,
    ApiToken,
    BillingAccount,
    ConsumablePurchase,
    CrmAccountRecord,
    CrmContactRecord,
    Customer,
    Deployment,
    Invoice,
    InvoiceLine,
    LedgerAccount,
    LedgerInvoice,
    LedgerSubscription,
    License,
    Membership,
    OutboxMessage,
    Partner,
    Payment,
    PortalUser,
    Price,
    Product,
    SeatUsage,
    Subscription,
    metadata,
)
from app.domain.enums import (
    Channel,
    ConsumableKind,
    CustomerKind,
    InvoiceStatus,
    PaymentStatus,
    ReconciliationMode,
    SubscriptionStatus,
    TokenKind,
)
from app.domain.licenses import ACTIVATION_CODE_ALPHABET
from app.services.demo import DemoSummary, demo_tokens, seed_catalog, seed_demo
from app.services.numbering import invoice_number, subscription_number

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
# The seed day, a leap day and a new year's day: the states must hold whenever it runs.
MOMENTS = [NOW, datetime(2028, 2, 29, 8, tzinfo=UTC), datetime(2027, 1, 1, 0, tzinfo=UTC)]


async def _seed(db: AsyncSession, settings: Settings, now: datetime = NOW) -> DemoSummary:
    """With the local provider (also under TEST_BILLING_PROVIDER=stripe): its ledger's rows
    are what these tests check; tests/api/stripe/test_demo_on_stripe.py seeds for Stripe."""
    local = settings.model_copy(update={"billing_provider": "local"})
    return await seed_demo(db, local, FixedClock(now))


async def _all(db: AsyncSession, table: type[Any]) -> list[Any]:
    return list(await db.scalars(sa.select(table).order_by(table.id)))


async def _subscriptions(db: AsyncSession, summary: DemoSummary) -> dict[str, Subscription]:
    rows = {s.number: s for s in await _all(db, Subscription)}
    return {key: rows[number] for key, number in summary.subscription_numbers.items()}


async def _row_counts(db: AsyncSession) -> dict[str, int]:
    return {
        name: (await db.scalar(sa.select(sa.func.count()).select_from(table))) or 0
        for name, table in metadata.tables.items()
    }


async def test_seeding_twice_changes_nothing(db: AsyncSession, settings: Settings) -> None:
    first = await _seed(db, settings)
    counts = await _row_counts(db)
    second = await _seed(db, settings, NOW + timedelta(days=3))

    assert first.created is True
    assert second.created is False
    assert replace(second, created=True) == first
    assert await _row_counts(db) == counts
    assert (first.partners, first.customers, first.subscriptions, first.invoices) == (2, 5, 9, 8)
    assert first.subscription_numbers["acme_premium"] == "A-S00000001"
    assert all(re.fullmatch(r"A-S\d{8}", n) for n in first.subscription_numbers.values())
    assert all(re.fullmatch(r"INV-\d{6}", n) for n in first.invoice_numbers.values())


async def test_orders_continue_the_demo_numbering(db: AsyncSession, settings: Settings) -> None:
    await _seed(db, settings)

    assert (await subscription_number(db), await invoice_number(db)) == (
        "A-S00000010",
        "INV-000009",
    )


EXPECTED_CATALOG = {
    # code: kind, tags, USD price, period, tier, compute quota, pack units, validity, eligible
    "free": ("PLAN", ["PLAN"], 0, "YEAR", 0, 400, None, None, []),
    "premium": ("PLAN", ["PLAN"], 34_800, "YEAR", 1, 10_000, None, None, []),
    "ultimate": ("PLAN", ["PLAN"], 118_800, "YEAR", 2, 50_000, None, None, []),
    "duo_pro": ("SEAT_ADDON", ["ADD_ON"], 22_800, "YEAR", 0, None, None, None,
                ["premium", "ultimate"]),
    "duo_enterprise": ("SEAT_ADDON", ["ADD_ON"], 46_800, "YEAR", 0, None, None, None,
                       ["ultimate"]),
    "compute_minutes_1000": ("ONE_TIME_PACK", ["CI_MINUTES_PACK"], 1_000, "ONE_TIME", 0, None,
                             1_000, 12, []),
    "storage_10gib": ("RECURRING_PACK", ["STORAGE_PACK"], 6_000, "YEAR", 0, None, 10, None, []),
}  # fmt: skip


async def test_catalog_is_domain_section_2(db: AsyncSession) -> None:
    first = await seed_catalog(db)
    again = await seed_catalog(db)
    prices = {p.product_id: p for p in await _all(db, Price)}

    assert {code: p.id for code, p in again.items()} == {code: p.id for code, p in first.items()}
    assert len(await _all(db, Product)) == len(EXPECTED_CATALOG) == len(prices)
    actual = {
        code: (p.kind, p.tags, prices[p.id].amount, prices[p.id].period, p.tier,
               p.compute_quota_minutes, p.pack_units, p.validity_months, p.eligible_plans)
        for code, p in first.items()
    }  # fmt: skip
    assert actual == EXPECTED_CATALOG
    assert {price.currency for price in prices.values()} == {"USD"}
    assert [c for c, p in first.items() if not p.guests_billable] == ["ultimate"]


@pytest.mark.parametrize("now", MOMENTS, ids=lambda m: m.date().isoformat())
async def test_states_hold_whenever_it_runs(
    db: AsyncSession, settings: Settings, now: datetime
) -> None:
    today = now.date()
    subs = await _subscriptions(db, await _seed(db, settings, now))
    deployments = {d.id: d for d in await _all(db, Deployment)}

    expiring = subs["acme_self_managed"]
    assert expiring.status is SubscriptionStatus.ACTIVE and expiring.auto_renew
    assert 0 < (expiring.term_end - today).days <= 15

    grace = subs["globex_premium"]
    assert grace.status is SubscriptionStatus.GRACE
    assert not grace.auto_renew and grace.cancel_reason
    assert 0 < (today - grace.term_end).days <= 14

    expired = subs["globex_research"]
    assert expired.status is SubscriptionStatus.EXPIRED and (today - expired.term_end).days > 14

    trial = subs["acme_trial"]
    assert trial.status is SubscriptionStatus.TRIAL
    assert (trial.term_end - trial.term_start).days == 30
    assert trial.term_start <= today < trial.term_end
    assert deployments[trial.deployment_id].trial_started_on == trial.term_start

    for sub in subs.values():
        if sub.status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIAL):
            assert sub.term_start <= today < sub.term_end, sub.number
        if sub.status is not SubscriptionStatus.TRIAL:
            assert _months_between(sub.term_start, sub.term_end) == 12, sub.number


def _months_between(start: date, end: date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month


async def test_partner_managed_subscriptions_are_billed_to_the_partner(
    db: AsyncSession, settings: Settings
) -> None:
    subs = await _subscriptions(db, await _seed(db, settings))
    partners = {p.name: p for p in await _all(db, Partner)}
    customers = {c.id: c for c in await _all(db, Customer)}
    accounts = {a.id: a for a in await _all(db, BillingAccount)}
    northwind = partners["Northwind Cloud Partners"]
    contoso = partners["Contoso Resellers"]

    for key, partner in (("initech_ultimate", northwind), ("umbrella_premium", contoso)):
        sub = subs[key]
        customer = customers[sub.customer_id]
        assert sub.partner_id == partner.id
        assert accounts[sub.billing_account_id].partner_id == partner.id
        assert accounts[sub.billing_account_id].customer_id is None
        assert customer.kind is CustomerKind.PARTNER_MANAGED
        assert customer.managing_partner_id == partner.id
        assert sub.channel is Channel.PARTNER
        assert sub.reconciliation_mode is ReconciliationMode.ANNUAL_TRUE_UP
        assert sub.max_seats_used < sub.seats
    assert customers[subs["initech_ultimate"].customer_id].name == "Initech"
    direct = [s for s in subs.values() if s.partner_id is None]
    assert {s.channel for s in direct} == {Channel.WEB_DIRECT}
    assert {s.reconciliation_mode for s in direct} == {ReconciliationMode.QUARTERLY}


async def test_seat_usage_matches_the_subscriptions(db: AsyncSession, settings: Settings) -> None:
    subs = await _subscriptions(db, await _seed(db, settings))
    usage: dict[int, list[SeatUsage]] = {}
    for row in await _all(db, SeatUsage):
        usage.setdefault(row.deployment_id, []).append(row)

    acme = subs["acme_premium"]
    assert (acme.seats, acme.seats_in_use, acme.max_seats_used) == (10, 12, 13)
    assert max(0, acme.max_seats_used - acme.seats) == 3
    # A self-managed instance reports once it has activated its license.
    assert (
        subs["hooli_self_managed"].seats_in_use,
        usage.get(subs["hooli_self_managed"].deployment_id),
    ) == (0, None)
    for sub in [s for key, s in subs.items() if key != "hooli_self_managed"]:
        reports = sorted(usage[sub.deployment_id], key=lambda r: r.reported_on)
        assert len(reports) >= 3
        assert reports[-1].reported_on == NOW.date()
        assert sub.seats_in_use == reports[-1].billable_users
        assert sub.max_seats_used == max(r.billable_users for r in reports)


async def test_acme_add_on_packs_and_license(db: AsyncSession, settings: Settings) -> None:
    subs = await _subscriptions(db, await _seed(db, settings))
    acme = subs["acme_premium"]
    (duo,) = await _all(db, AddOnPurchase)
    consumables = {c.kind: c for c in await _all(db, ConsumablePurchase)}
    license_, not_activated = await _all(db, License)

    assert (duo.subscription_id, duo.quantity) == (acme.id, 5)
    assert len(await _all(db, AddOnAssignment)) == 3
    minutes = consumables[ConsumableKind.COMPUTE_MINUTES]
    assert (minutes.units, minutes.amount, minutes.units_used) == (2_000, 2_000, 350)
    assert minutes.expires_on == date(2027, 10, 15)  # 12 months after 2026-10-15
    storage = consumables[ConsumableKind.STORAGE]
    assert (storage.units, storage.amount, storage.purchased_on) == (10, 6_000, acme.term_start)
    assert storage.expires_on == acme.term_end
    assert license_.subscription_id == subs["acme_self_managed"].id
    for code in (license_.activation_code, not_activated.activation_code):
        assert len(code) == 24 and set(code) <= set(ACTIVATION_CODE_ALPHABET), code
    assert license_.instance_id == "0b6e3c9a-5f2d-4e1b-9a7c-3d8f1e2a4b60"
    # Hooli's instance has not activated its license: docs/api-guide.md activates it.
    assert not_activated.subscription_id == subs["hooli_self_managed"].id
    assert (not_activated.activation_code, not_activated.instance_id) == (
        "3DMV3BLRVQHNGJUDM8F4LS47",
        None,
    )


async def test_invoices_add_up(db: AsyncSession, settings: Settings) -> None:
    summary = await _seed(db, settings)
    invoices = {i.number: i for i in await _all(db, Invoice)}
    by_key = {key: invoices[number] for key, number in summary.invoice_numbers.items()}
    lines: dict[int, list[InvoiceLine]] = {}
    for line in await _all(db, InvoiceLine):
        lines.setdefault(line.invoice_id, []).append(line)
    payments: dict[int, list[Payment]] = {}
    for payment in await _all(db, Payment):
        payments.setdefault(payment.invoice_id, []).append(payment)
    ledger = {row.ref: row for row in await _all(db, LedgerInvoice)}

    assert len(invoices) == 8
    for invoice in invoices.values():
        assert sum(line.amount for line in lines[invoice.id]) == invoice.subtotal
        assert invoice.total == invoice.subtotal - invoice.discount + invoice.tax
        succeeded = [p for p in payments.get(invoice.id, []) if p.status is PaymentStatus.SUCCEEDED]
        if invoice.status is InvoiceStatus.PAID:
            assert invoice.amount_paid == invoice.total == sum(p.amount for p in succeeded)
        else:
            assert (invoice.status, invoice.amount_paid, succeeded) == (InvoiceStatus.OPEN, 0, [])
        mirror = ledger[invoice.provider_ref]
        assert (mirror.total, mirror.balance) == (
            invoice.total,
            invoice.total - invoice.amount_paid,
        )

    initial = by_key["acme_premium_initial"]
    premium_line = lines[initial.id][0]
    assert (premium_line.description, premium_line.quantity, premium_line.unit_amount,
            premium_line.amount) == ("Premium, 10 seats", 10, 34_800, 348_000)  # fmt: skip
    assert (initial.subtotal, initial.total, initial.status) == (354_000, 354_000, "PAID")
    # 5 Duo Pro seats from 2026-11-21 to 2027-06-24: 5 x 22 800 x 215 / 365 = 67 150.68
    duo = by_key["acme_duo_pro"]
    assert (duo.total, duo.status) == (67_151, InvoiceStatus.OPEN)
    assert [p.failure_code for p in payments[duo.id]] == ["card_declined"]
    # Quarterly reconciliation: 3 x 34 800 x 1/4 = 26 100, plus 20% VAT.
    globex = by_key["globex_q3_reconciliation"]
    assert (globex.subtotal, globex.tax, globex.total) == (26_100, 5_220, 31_320)
    assert globex.status is InvoiceStatus.OPEN and globex.due_on < NOW.date()


async def test_partner_invoice_is_owned_by_the_partner(
    db: AsyncSession, settings: Settings
) -> None:
    summary = await _seed(db, settings)
    subs = await _subscriptions(db, summary)
    invoice = (await db.scalars(
        sa.select(Invoice).where(Invoice.number == summary.invoice_numbers["initech_initial"])
    )).one()  # fmt: skip
    account = await db.get(BillingAccount, invoice.billing_account_id)
    northwind = (
        await db.scalars(sa.select(Partner).where(Partner.name.startswith("Northwind")))
    ).one()

    assert account is not None and account.partner_id == northwind.id
    assert invoice.customer_id == subs["initech_ultimate"].customer_id
    assert invoice.total == 120 * 118_800


async def test_providers_mirror_the_local_rows(db: AsyncSession, settings: Settings) -> None:
    await _seed(db, settings)
    ledger_accounts = {row.ref for row in await _all(db, LedgerAccount)}
    ledger_subscriptions = {row.ref: row for row in await _all(db, LedgerSubscription)}
    crm_accounts = {row.ref for row in await _all(db, CrmAccountRecord)}
    crm_contacts = [row.account_ref for row in await _all(db, CrmContactRecord)]

    accounts = await _all(db, BillingAccount)
    assert len(accounts) == 7  # five customers and two partners
    assert {a.provider_ref for a in accounts} == ledger_accounts
    assert {(a.currency, a.payment_method, a.sync_status) for a in accounts} == {
        ("USD", "pm_card_visa", "SYNCED"),
        ("USD", "pm_card_insufficient_funds", "SYNCED"),  # Globex's card declines
    }
    mirrored = {row.ref: row.payment_method for row in await _all(db, LedgerAccount)}
    assert all(mirrored[a.provider_ref] == a.payment_method for a in accounts)
    for party in [*await _all(db, Customer), *await _all(db, Partner)]:
        assert party.crm_ref in crm_accounts
        assert crm_contacts.count(party.crm_ref) == 1
    for sub in await _all(db, Subscription):
        assert (sub.sync_status, sub.provisioning_status) == ("SYNCED", "PROVISIONED")
        assert ledger_subscriptions[sub.provider_ref].term_end == sub.term_end


async def test_the_crm_mirror_of_every_subscription_not_expired_is_queued(
    db: AsyncSession, settings: Settings
) -> None:
    """The local ledger's rows are seeded with the subscriptions, so no billing sync is
    queued; the CRM's mirror is pushed by the worker, before the drift job would miss it."""
    await _seed(db, settings)
    live = [
        s.id for s in await _all(db, Subscription) if s.status is not SubscriptionStatus.EXPIRED
    ]
    pushes = [
        (m.topic, m.subscription_id)
        for m in await _all(db, OutboxMessage)
        if m.topic.startswith(("billing.", "crm."))
    ]
    assert len(live) == 8
    assert pushes == [("crm.sync_subscription", sid) for sid in live]


async def test_tokens_match_what_was_seeded(db: AsyncSession, settings: Settings) -> None:
    await _seed(db, settings)
    tokens = demo_tokens(settings, NOW)
    stored = {t.token_hash: t for t in await _all(db, ApiToken)}
    partners = {p.id: p.name for p in await _all(db, Partner)}
    users = {u.id: u.external_id for u in await _all(db, PortalUser)}
    customers = {c.id: c.name for c in await _all(db, Customer)}
    memberships = {(users[m.user_id], customers[m.customer_id], m.role)
                   for m in await _all(db, Membership)}  # fmt: skip

    api = {key: stored[hash_api_token(tokens[key])] for key in
           ("partner", "other_partner", "admin", "service")}  # fmt: skip
    assert len(stored) == 4
    assert (api["partner"].kind, partners[api["partner"].partner_id]) == (
        TokenKind.PARTNER, "Northwind Cloud Partners")  # fmt: skip
    assert (api["other_partner"].kind, partners[api["other_partner"].partner_id]) == (
        TokenKind.PARTNER, "Contoso Resellers")  # fmt: skip
    assert (api["admin"].kind, api["admin"].name) == (TokenKind.ADMIN, "Demo staff")
    assert (api["service"].kind, api["service"].name) == (TokenKind.SERVICE, "Product service")

    fresh = demo_tokens(settings, datetime.now(UTC))  # verification checks iat against the wall
    subjects = {key: verify_user_jwt(settings, fresh[key]).external_id for key in
                ("owner", "billing_admin", "viewer", "other_customer_owner")}  # fmt: skip
    assert {(subjects[k], c, r) for k, c, r in [
        ("owner", "Acme Corp", "OWNER"), ("billing_admin", "Acme Corp", "BILLING_ADMIN"),
        ("viewer", "Acme Corp", "VIEWER"), ("other_customer_owner", "Globex Inc", "OWNER"),
    ]} <= memberships  # fmt: skip
    assert subjects["owner"] == "demo-owner" and subjects["other_customer_owner"] == "other-owner"


def test_user_tokens_last_as_long_as_the_jwt_cap_allows(settings: Settings) -> None:
    import jwt

    claims = jwt.decode(demo_tokens(settings, NOW)["owner"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == settings.jwt_max_lifetime_seconds == 24 * 3600


async def test_demo_is_refused_in_production(db: AsyncSession) -> None:
    production = Settings(
        environment="production", jwt_secret="x" * 40, license_signing_key=_license_pem()
    )
    with pytest.raises(RuntimeError):
        demo_tokens(production, NOW)
    with pytest.raises(RuntimeError):
        await _seed(db, production)
    assert await _all(db, Customer) == []


def _license_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


async def test_every_billing_account_has_an_address_for_its_invoices(
    db: AsyncSession, settings: Settings
) -> None:
    await _seed(db, settings)
    accounts = {a.name: a for a in await _all(db, BillingAccount)}

    acme = accounts["Acme Corp"]
    assert (
        acme.billing_address_line1,
        acme.billing_address_line2,
        acme.billing_postal_code,
        acme.billing_city,
        acme.billing_region,
        acme.billing_country,
    ) == ("1 Market Street", "Suite 300", "94105", "San Francisco", "CA", "US")
    assert accounts["Umbrella Labs"].billing_address_line1 == "Friedrichstraße 50"
    assert len(accounts) == 7
    for account in accounts.values():
        assert account.billing_address_line1 and account.billing_city, account.name
        assert account.billing_postal_code and len(account.billing_country or "") == 2
