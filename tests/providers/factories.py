"""Builders of provider inputs with overridable defaults."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from app.providers.billing import InvoiceLineRecord, NewAccount, NewInvoice, SubscriptionItem
from app.providers.crm import CrmAccount, CrmContact, CrmSubscription, NewOpportunity
from app.providers.provisioning import Entitlement

TERM_START = date(2026, 1, 1)
TERM_END = date(2027, 1, 1)
NAMESPACE = "100042"  # a SaaS deployment: its top-level group id
INSTANCE = "0b6e3c9a-5f2d-4e1b-9a7c-3d8f1e2a4b61"  # a self-managed deployment: its uuid
PREMIUM = SubscriptionItem(product_code="premium", quantity=10, unit_amount=34_800)


def new_account(**overrides: Any) -> NewAccount:
    base = NewAccount(name="Acme Corp", email="billing@acme.test", currency="USD")
    return replace(base, **overrides)


def invoice_line(**overrides: Any) -> InvoiceLineRecord:
    base = InvoiceLineRecord(
        description="Premium, 5 seats, 2026-07-02 to 2027-01-01",
        quantity=5,
        unit_amount=34_800,
        amount=87_238,
        product_code="premium",
        period_start=date(2026, 7, 2),
        period_end=TERM_END,
    )
    return replace(base, **overrides)


def new_invoice(account_ref: str, **overrides: Any) -> NewInvoice:
    base = NewInvoice(
        account_ref=account_ref,
        subscription_ref=None,
        currency="USD",
        lines=(invoice_line(),),
        due_on=date(2026, 1, 31),
    )
    return replace(base, **overrides)


def crm_account(ref: str = "crm-acme", **overrides: Any) -> CrmAccount:
    base = CrmAccount(
        ref=ref,
        name="Acme Corp",
        segment="MID_MARKET",
        owner_name="Dana Seller",
        owner_email="dana@vendor.test",
        country="DE",
    )
    return replace(base, **overrides)


def crm_contact(ref: str, account_ref: str = "crm-acme") -> CrmContact:
    return CrmContact(
        ref=ref, account_ref=account_ref, name=f"Person {ref}", email=f"{ref}@acme.test"
    )


def crm_subscription(ref: str = "A-S00000001", **overrides: Any) -> CrmSubscription:
    base = CrmSubscription(
        ref=ref,
        account_ref="crm-acme",
        plan="premium",
        seats=10,
        term_start=TERM_START,
        term_end=TERM_END,
        status="active",
    )
    return replace(base, **overrides)


def new_opportunity(account_ref: str = "crm-acme", **overrides: Any) -> NewOpportunity:
    base = NewOpportunity(
        account_ref=account_ref,
        name="Acme: Premium renewal",
        stage="Closed Won",
        amount=348_000,
        currency="USD",
        close_on=date(2026, 1, 1),
    )
    return replace(base, **overrides)


def entitlement(**overrides: Any) -> Entitlement:
    base = Entitlement(
        deployment_ref=NAMESPACE,
        plan_code="premium",
        seats=10,
        term_start=TERM_START,
        term_end=TERM_END,
        add_ons=(("duo_pro", 5),),
        compute_minutes=10_000,
        storage_gib=10,
    )
    return replace(base, **overrides)


def instance_entitlement(**overrides: Any) -> Entitlement:
    """A self-managed instance's: no compute minutes or storage (GitLab.com only)."""
    base = entitlement(deployment_ref=INSTANCE, compute_minutes=0, storage_gib=0)
    return replace(base, **overrides)
