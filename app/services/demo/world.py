"""The demo world: two partners, five customers, their people, subscriptions and invoices.

- Acme Corp (direct): Premium over its paid seats, a Duo Pro add-on, packs, a self-managed
  Ultimate instance expiring in 10 days, and an Ultimate trial on a second namespace.
- Globex Inc (direct): Premium in grace with a past-due invoice, and an expired namespace;
  its card on file declines (`pm_card_insufficient_funds`; `pm_card_chargeCustomerFail` with
  a billing provider other than the local one), so its orders show a decline.
- Initech (managed by Northwind): Ultimate sold and invoiced through Northwind.
- Umbrella Labs (managed by Contoso): Premium sold through Contoso (partner isolation).
- Hooli (direct, nobody signs in): a Free namespace with seat usage, and a self-managed
  Premium instance bought two days ago whose license is not activated yet.
- The promo code WELCOME10 (10% off, any plan) is valid for a year from the seed day.

The README's GraphQL examples run against this world (tests/api/test_readme_examples.py).
"""

from __future__ import annotations

from app.domain.enums import Channel, InvoiceStatus, PaymentStatus, SubscriptionStatus, TokenKind
from app.domain.enums import DeploymentKind as Kind
from app.domain.enums import MemberRole as Role
from app.domain.enums import ReconciliationMode as Mode
from app.services.demo.specs import (
    TERM_START,
    AddOnSpec,
    AddressSpec,
    ApiTokenSpec,
    Charge,
    ConsumableSpec,
    CustomerSpec,
    DeploymentSpec,
    InvoiceSpec,
    LineSpec,
    PartySpec,
    PaymentSpec,
    Person,
    PromotionSpec,
    SubscriptionSpec,
    UserSpec,
)
from app.services.demo.timeline import Base, Rel, Term

_AE = Person("Dana Whitfield", "dana.whitfield@vendor.example")
_PARTNER_MANAGER = Person("Priya Raman", "priya.raman@vendor.example")
_ACTIVE, _PAID, _OPEN = SubscriptionStatus.ACTIVE, InvoiceStatus.PAID, InvoiceStatus.OPEN
_SUCCEEDED = PaymentSpec(PaymentStatus.SUCCEEDED)

PARTNERS: tuple[PartySpec, ...] = (
    PartySpec(key="northwind", name="Northwind Cloud Partners", country="US", segment="PARTNER",
              account_owner=_PARTNER_MANAGER, billing_email="ap@northwind.example",
              address=AddressSpec("400 Harbor Way", "Seattle", "98101", "US", region="WA"),
              contact=Person("Nadia North", "nadia@northwind.example")),
    PartySpec(key="contoso", name="Contoso Resellers", country="NL", segment="PARTNER",
              account_owner=_PARTNER_MANAGER, contact=Person("Carl Conti", "carl@contoso.example"),
              billing_email="finance@contoso.example", tax_id="NL123456789B01",
              address=AddressSpec("Keizersgracht 100", "Amsterdam", "1015 CV", "NL")),
)  # fmt: skip

CUSTOMERS: tuple[CustomerSpec, ...] = (
    CustomerSpec(key="acme", name="Acme Corp", country="US", segment="MID_MARKET",
                 account_owner=_AE, contact=Person("Alice Owner", "alice@acme.example"),
                 billing_email="ap@acme.example",
                 address=AddressSpec("1 Market Street", "San Francisco", "94105", "US",
                                     line2="Suite 300", region="CA")),
    CustomerSpec(key="globex", name="Globex Inc", country="GB", segment="SMB",
                 account_owner=_AE, contact=Person("Olga Other", "olga@globex.example"),
                 billing_email="accounts@globex.example", tax_id="GB123456789",
                 address=AddressSpec("10 Finsbury Square", "London", "EC2A 1AF", "GB"),
                 payment_method="pm_card_insufficient_funds",
                 any_provider_card="pm_card_chargeCustomerFail"),
    CustomerSpec(key="initech", name="Initech", country="US", segment="ENTERPRISE",
                 account_owner=_AE, contact=Person("Ines Ito", "ines@initech.example"),
                 billing_email="ap@initech.example", managed_by="northwind",
                 address=AddressSpec("4120 Freidrich Lane", "Austin", "78744", "US", region="TX")),
    CustomerSpec(key="umbrella", name="Umbrella Labs", country="DE", segment="MID_MARKET",
                 account_owner=_AE, contact=Person("Uwe Ulm", "uwe@umbrella.example"),
                 billing_email="buchhaltung@umbrella.example", tax_id="DE123456789",
                 address=AddressSpec("Friedrichstraße 50", "Berlin", "10117", "DE"),
                 managed_by="contoso"),
    CustomerSpec(key="hooli", name="Hooli", country="US", segment="SMB",
                 account_owner=_AE, contact=Person("Hank Hu", "hank@hooli.example"),
                 billing_email="billing@hooli.example",
                 address=AddressSpec("1401 N Shoreline Blvd", "Mountain View", "94043", "US",
                                     region="CA")),
)  # fmt: skip

USERS: tuple[UserSpec, ...] = (
    UserSpec("demo-owner", Person("Alice Owner", "alice@acme.example"),
             (("acme", Role.OWNER),), "owner"),
    UserSpec("demo-billing-admin", Person("Bruno Billing", "bruno@acme.example"),
             (("acme", Role.BILLING_ADMIN),), "billing_admin"),
    UserSpec("demo-viewer", Person("Vera Viewer", "vera@acme.example"),
             (("acme", Role.VIEWER),), "viewer"),
    UserSpec("other-owner", Person("Olga Other", "olga@globex.example"),
             (("globex", Role.OWNER),), "other_customer_owner"),
    UserSpec("initech-owner", Person("Ines Ito", "ines@initech.example"),
             (("initech", Role.OWNER),), "partner_managed_owner"),
)  # fmt: skip

API_TOKENS: tuple[ApiTokenSpec, ...] = (
    ApiTokenSpec("partner", "partner", TokenKind.PARTNER, "Northwind API", "northwind"),
    ApiTokenSpec("other_partner", "partner-2", TokenKind.PARTNER, "Contoso API", "contoso"),
    ApiTokenSpec("admin", "admin", TokenKind.ADMIN, "Demo staff"),
    ApiTokenSpec("service", "service", TokenKind.SERVICE, "Product service"),
)

SUBSCRIPTIONS: tuple[SubscriptionSpec, ...] = (
    SubscriptionSpec(
        key="acme_premium", customer="acme", plan="premium", seats=10, status=_ACTIVE,
        term=Term(starts=Rel(months=-5)),
        deployment=DeploymentSpec(Kind.SAAS_NAMESPACE, "100001", "acme-corp"),
        usage=(9, 10, 10, 11, 13, 12, 12),
        add_ons=(AddOnSpec("duo_pro", 5, ("user-2001", "user-2002", "user-2003"),
                           Rel(days=-3)),),
        consumables=(ConsumableSpec("storage_10gib", 1, TERM_START),
                     ConsumableSpec("compute_minutes_1000", 2, Rel(days=-40), units_used=350)),
    ),
    SubscriptionSpec(
        key="acme_self_managed", customer="acme", plan="ultimate", seats=50, status=_ACTIVE,
        term=Term(ends=Rel(days=10)),
        deployment=DeploymentSpec(Kind.SELF_MANAGED, "0b6e3c9a-5f2d-4e1b-9a7c-3d8f1e2a4b60",
                                  "gitlab.acme.example"),
        usage=(46, 46, 47, 47, 48, 47, 47), license=True,
    ),
    SubscriptionSpec(
        key="acme_trial", customer="acme", plan="ultimate", seats=0,
        status=SubscriptionStatus.TRIAL, term=Term(starts=Rel(days=-6), months=0, days=30),
        auto_renew=False,  # a trial never renews: it ends, or is converted by an order
        deployment=DeploymentSpec(Kind.SAAS_NAMESPACE, "100002", "acme-labs"),
        usage=(3, 4, 4, 4, 4, 4, 4),
    ),
    SubscriptionSpec(
        key="globex_premium", customer="globex", plan="premium", seats=28,
        status=SubscriptionStatus.GRACE, term=Term(ends=Rel(days=-5)), auto_renew=False,
        cancel_reason="Consolidating tools; auto-renew turned off by the owner",
        deployment=DeploymentSpec(Kind.SAAS_NAMESPACE, "100003", "globex"),
        usage=(27, 28, 28, 27, 26),
    ),
    SubscriptionSpec(
        key="globex_research", customer="globex", plan="premium", seats=5,
        status=SubscriptionStatus.EXPIRED, term=Term(ends=Rel(days=-40)), auto_renew=False,
        cancel_reason="Research team merged into the main Globex group",
        deployment=DeploymentSpec(Kind.SAAS_NAMESPACE, "100004", "globex-research"),
        usage=(3, 3, 3),
    ),
    SubscriptionSpec(
        key="initech_ultimate", customer="initech", plan="ultimate", seats=120, status=_ACTIVE,
        term=Term(starts=Rel(months=-3)), channel=Channel.PARTNER,
        reconciliation=Mode.ANNUAL_TRUE_UP, partner="northwind",
        deployment=DeploymentSpec(Kind.SAAS_NAMESPACE, "100005", "initech"),
        usage=(101, 103, 104, 104, 102),
    ),
    SubscriptionSpec(
        key="umbrella_premium", customer="umbrella", plan="premium", seats=30, status=_ACTIVE,
        term=Term(starts=Rel(months=-1)), channel=Channel.PARTNER,
        reconciliation=Mode.ANNUAL_TRUE_UP, partner="contoso",
        deployment=DeploymentSpec(Kind.SAAS_NAMESPACE, "100006", "umbrella-labs"),
        usage=(27, 28, 28),
    ),
    SubscriptionSpec(
        key="hooli_free", customer="hooli", plan="free", seats=0, status=_ACTIVE,
        term=Term(starts=Rel(months=-8)),
        deployment=DeploymentSpec(Kind.SAAS_NAMESPACE, "100007", "hooli"),
        usage=(5, 6, 6, 7, 7),
    ),
    SubscriptionSpec(
        key="hooli_self_managed", customer="hooli", plan="premium", seats=20, status=_ACTIVE,
        term=Term(starts=Rel(days=-2)),
        deployment=DeploymentSpec(Kind.SELF_MANAGED, "5d1f7a2e-8c3b-4f6a-9e0d-2b7c4a1e9f38",
                                  "gitlab.hooli.example"),
        usage=(), license=True, license_activated=False,
    ),
)  # fmt: skip

INVOICES: tuple[InvoiceSpec, ...] = (
    InvoiceSpec(key="acme_premium_initial", subscription="acme_premium", status=_PAID,
                issued=TERM_START, payments=(_SUCCEEDED,),
                lines=(LineSpec("Premium, 10 seats", "premium", 10),
                       LineSpec("Storage pack, 10 GiB", "storage_10gib", 1))),
    InvoiceSpec(key="acme_compute_minutes", subscription="acme_premium", status=_PAID,
                issued=Rel(days=-40), payments=(_SUCCEEDED,),
                lines=(LineSpec("Compute minutes pack, 1,000 minutes", "compute_minutes_1000",
                                2, Charge.ONE_TIME),)),
    InvoiceSpec(key="acme_duo_pro", subscription="acme_premium", status=_OPEN,
                issued=Rel(days=-3),
                payments=(PaymentSpec(PaymentStatus.FAILED, "card_declined"),),
                lines=(LineSpec("Duo Pro, 5 seats, prorated to term end", "duo_pro", 5,
                                Charge.REST_OF_TERM),)),
    InvoiceSpec(key="acme_self_managed_initial", subscription="acme_self_managed",
                status=_PAID, issued=TERM_START, payments=(_SUCCEEDED,),
                lines=(LineSpec("Ultimate, 50 seats", "ultimate", 50),)),
    InvoiceSpec(key="globex_q3_reconciliation", subscription="globex_premium", status=_OPEN,
                issued=Rel(months=9, days=7, base=Base.TERM_START), tax_percent=20,
                payments=(PaymentSpec(PaymentStatus.FAILED, "insufficient_funds"),),
                lines=(LineSpec("Quarterly reconciliation: 3 seats over 25 paid, 1 quarter left",
                                "premium", 3, Charge.QUARTERS, quarters=1),)),
    InvoiceSpec(key="initech_initial", subscription="initech_ultimate", status=_PAID,
                issued=TERM_START, payments=(_SUCCEEDED,),
                lines=(LineSpec("Ultimate, 120 seats (customer: Initech)", "ultimate", 120),)),
    InvoiceSpec(key="umbrella_initial", subscription="umbrella_premium", status=_OPEN,
                issued=TERM_START, due_days=45,
                lines=(LineSpec("Premium, 30 seats (customer: Umbrella Labs)", "premium", 30),)),
    InvoiceSpec(key="hooli_self_managed_initial", subscription="hooli_self_managed",
                status=_PAID, issued=TERM_START, payments=(_SUCCEEDED,),
                lines=(LineSpec("Premium, 20 seats, self-managed", "premium", 20),)),
)  # fmt: skip

PROMOTIONS: tuple[PromotionSpec, ...] = (PromotionSpec("WELCOME10", 10, Rel(months=12)),)
