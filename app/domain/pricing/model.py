"""The inputs and outputs of pricing an order."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from app.domain.enums import (
    InvoiceLineKind,
    ProductKind,
    ReconciliationMode,
    SubscriptionStatus,
    TaxTreatment,
)

TERM_MONTHS = 12
# The most seats a subscription may reach through orders: beyond it is a sales contract.
# 1,000,000 Ultimate seats with every add-on for a term is under 2 x 10^11 cents, far inside
# the signed 64 bits that amounts are stored and served in (about 9.2 x 10^18).
MAX_SEATS = 1_000_000
MAX_PACKS = 100_000  # packs of one kind bought in one action
MAX_ACTIONS = 10


@dataclass(frozen=True, slots=True)
class SubscriptionSnapshot:
    """The state an order applies to (and, projected, the state after it)."""

    status: SubscriptionStatus
    plan_code: str
    seats: int
    billable_users: int  # latest seatsInUse
    max_seats_used: int
    term_start: date
    term_end: date
    reconciliation_mode: ReconciliationMode
    add_ons: Mapping[str, int]  # add-on code -> purchased quantity
    storage_packs: int
    pending_plan_code: str | None
    auto_renew: bool
    partner_managed: bool
    comp_seats: int = 0  # staff's free seats this term: they cover usage, are never billed


@dataclass(frozen=True, slots=True)
class CreateSubscription:
    plan: str
    seats: int


@dataclass(frozen=True, slots=True)
class AddSeats:
    seats: int


@dataclass(frozen=True, slots=True)
class ChangePlan:
    plan: str


@dataclass(frozen=True, slots=True)
class AddAddOn:
    add_on: str
    seats: int


@dataclass(frozen=True, slots=True)
class BuyPack:
    pack: str
    quantity: int


@dataclass(frozen=True, slots=True)
class Renew:
    seats: int | None = None


OrderAction = CreateSubscription | AddSeats | ChangePlan | AddAddOn | BuyPack | Renew


@dataclass(frozen=True, slots=True)
class QuoteLine:
    kind: InvoiceLineKind  # CHARGE, CREDIT (negative amount), DISCOUNT (negative amount)
    description: str
    product_code: str | None
    quantity: int
    unit_amount: int  # per unit before proration
    amount: int  # rounded line amount: what is charged
    period_start: date | None
    period_end: date | None
    # The line's tax (app/domain/tax.py): none until the order's buyer is known.
    tax_treatment: TaxTreatment = TaxTreatment.NOT_TAXED
    tax_rate_ppm: int = 0  # parts per million: 19 % is 190 000
    tax_amount: int = 0
    tax_note: str | None = None


@dataclass(frozen=True, slots=True)
class PackPurchase:
    """A consumable purchase the order creates."""

    code: str
    kind: ProductKind
    quantity: int
    units: int
    amount: int
    purchased_on: date
    expires_on: date


@dataclass(frozen=True, slots=True)
class PricedOrder:
    currency: str
    lines: tuple[QuoteLine, ...]
    subtotal: int  # sum of CHARGE and CREDIT lines
    discount: int  # positive; the DISCOUNT line's amount is -discount
    total: int  # subtotal - discount + tax, never below 0
    after: SubscriptionSnapshot  # the projected state once the order is placed
    packs: tuple[PackPurchase, ...]
    promotion_code: str | None
    tax: int = 0  # the sum of the lines' tax amounts
