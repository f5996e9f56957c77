"""Quote lines: full-term and prorated charges, with descriptions a customer can follow."""

from datetime import date

from app.domain.enums import InvoiceLineKind
from app.domain.errors import DomainError, ErrorCode
from app.domain.money import prorate
from app.domain.pricing.catalog import CatalogItem
from app.domain.pricing.model import QuoteLine, SubscriptionSnapshot


def count(quantity: int, noun: str) -> str:
    return f"{quantity:,} {noun}{'' if quantity == 1 else 's'}"


def full_line(item: CatalogItem, quantity: int, what: str, start: date, end: date) -> QuoteLine:
    """`quantity` x the full price of `item`, for the period `start` to `end`."""
    return QuoteLine(
        kind=InvoiceLineKind.CHARGE,
        description=f"{item.name}: {what}, {start.isoformat()} to {end.isoformat()}",
        product_code=item.code,
        quantity=quantity,
        unit_amount=item.unit_amount,
        amount=quantity * item.unit_amount,
        period_start=start,
        period_end=end,
    )


def prorated_line(
    item: CatalogItem,
    quantity: int,
    what: str,
    state: SubscriptionSnapshot,
    today: date,
    kind: InvoiceLineKind = InvoiceLineKind.CHARGE,
) -> QuoteLine:
    """`quantity` x the yearly price of `item` for the rest of the current term; a CREDIT
    line carries the negative amount."""
    if today >= state.term_end:
        raise DomainError(
            ErrorCode.SUBSCRIPTION_NOT_ACTIVE,
            f"The current term ended on {state.term_end.isoformat()}; renew it first.",
        )
    # A term that has not started yet is charged in full, from its first day.
    effective = max(today, state.term_start)
    amount = prorate(quantity * item.unit_amount, effective, state.term_start, state.term_end)
    remaining = (state.term_end - effective).days
    term_days = (state.term_end - state.term_start).days
    return QuoteLine(
        kind=kind,
        description=(
            f"{item.name}: {what}, {effective.isoformat()} to {state.term_end.isoformat()} "
            f"({remaining} of {term_days} days)"
        ),
        product_code=item.code,
        quantity=quantity,
        unit_amount=item.unit_amount,
        amount=-amount if kind is InvoiceLineKind.CREDIT else amount,
        period_start=effective,
        period_end=state.term_end,
    )
