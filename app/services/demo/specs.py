"""The shapes of the demo data: parties, people, tokens, subscriptions, invoices.

Every date is a `Rel` (relative to the seed day or to a term start) so the states the demo
shows (expiring soon, in grace, in trial, expired) hold whenever the seed runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from app.domain.enums import (
    Channel,
    DeploymentKind,
    InvoiceStatus,
    MemberRole,
    PaymentStatus,
    ReconciliationMode,
    SubscriptionStatus,
    TokenKind,
)
from app.services.demo.timeline import Base, Rel, Term

TERM_START = Rel(base=Base.TERM_START)
# The local billing provider's test card that always succeeds (app/providers/billing/local.py).
PAYMENT_METHOD = "pm_card_visa"


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    email: str


@dataclass(frozen=True, slots=True)
class AddressSpec:
    """A billing address as printed on invoices (country: ISO 3166-1 alpha-2)."""

    line1: str
    city: str
    postal_code: str
    country: str
    line2: str | None = None
    region: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PartySpec:
    """A partner or a customer: its CRM account, contact and billing account come with it."""

    key: str
    name: str
    country: str
    segment: str
    account_owner: Person
    contact: Person
    billing_email: str
    address: AddressSpec
    tax_id: str | None = None
    payment_method: str = PAYMENT_METHOD  # on the billing account, with the local provider
    # With another provider: a token of the same behaviour that Stripe documents too.
    any_provider_card: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomerSpec(PartySpec):
    managed_by: str | None = None


@dataclass(frozen=True, slots=True)
class UserSpec:
    external_id: str
    person: Person
    roles: tuple[tuple[str, MemberRole], ...]
    token_key: str | None = None


@dataclass(frozen=True, slots=True)
class ApiTokenSpec:
    token_key: str
    label: str
    kind: TokenKind
    name: str
    partner: str | None = None


@dataclass(frozen=True, slots=True)
class DeploymentSpec:
    kind: DeploymentKind
    external_id: str
    name: str


@dataclass(frozen=True, slots=True)
class AddOnSpec:
    product: str
    quantity: int
    assignees: tuple[str, ...]
    purchased: Rel


@dataclass(frozen=True, slots=True)
class ConsumableSpec:
    product: str
    packs: int
    purchased: Rel
    units_used: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscriptionSpec:
    """A subscription with its deployment; `usage` is daily billable users, ending today."""

    key: str
    customer: str
    plan: str
    seats: int
    status: SubscriptionStatus
    term: Term
    deployment: DeploymentSpec
    usage: tuple[int, ...]
    auto_renew: bool = True
    cancel_reason: str | None = None
    channel: Channel = Channel.WEB_DIRECT
    reconciliation: ReconciliationMode = ReconciliationMode.QUARTERLY
    partner: str | None = None
    add_ons: tuple[AddOnSpec, ...] = ()
    consumables: tuple[ConsumableSpec, ...] = ()
    license: bool = False
    license_activated: bool = True  # False: bought, the instance has not activated it yet


@dataclass(frozen=True, slots=True)
class PromotionSpec:
    """A promo code for any plan, valid until `expires` (relative to the seed day)."""

    code: str
    percent_off: int
    expires: Rel


class Charge(StrEnum):
    TERM = "TERM"  # quantity x price for the whole term
    REST_OF_TERM = "REST_OF_TERM"  # prorated by days from the invoice date to the term end
    ONE_TIME = "ONE_TIME"  # quantity x price, no service period
    QUARTERS = "QUARTERS"  # quarterly reconciliation: quantity x price x quarters left / 4


@dataclass(frozen=True, slots=True)
class LineSpec:
    description: str
    product: str
    quantity: int
    charge: Charge = Charge.TERM
    quarters: int = 0


@dataclass(frozen=True, slots=True)
class PaymentSpec:
    status: PaymentStatus
    failure_code: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class InvoiceSpec:
    """An invoice of a subscription, billed to the subscription's billing account."""

    key: str
    subscription: str
    status: InvoiceStatus
    issued: Rel
    lines: tuple[LineSpec, ...]
    due_days: int = 30
    tax_percent: int = 0
    payments: tuple[PaymentSpec, ...] = ()


def crm_account_ref(party_key: str) -> str:
    return f"crm_demo_{party_key}"


def crm_contact_ref(party_key: str) -> str:
    return f"crm_demo_{party_key}_contact"


def account_ref(party_key: str) -> str:
    return f"acct_demo_{party_key}"


def subscription_ref(subscription_key: str) -> str:
    return f"sub_demo_{subscription_key}"


def invoice_ref(invoice_key: str) -> str:
    return f"inv_demo_{invoice_key}"


def payment_ref(invoice_key: str, attempt: int) -> str:
    return f"pay_demo_{invoice_key}_{attempt}"
