"""What an invoice says in words beside its figures: payment terms, service periods, the
buyer's address block. Pure, so the PDF and its tests agree on every string."""

from __future__ import annotations

from datetime import date


def payment_terms(issued_on: date, due_on: date, paid_on: date | None, method: str | None) -> str:
    """ "Paid by card on 2026-07-02" once paid; else the days given: "Net 30", or
    "Due on receipt" for an invoice due the day it was issued (an order charged at once)."""
    if paid_on is not None:
        return f"Paid {_by(method)}on {paid_on.isoformat()}"
    days = (due_on - issued_on).days
    return "Due on receipt" if days <= 0 else f"Net {days}"


def _by(method: str | None) -> str:
    # Payment methods are provider tokens (pm_card_visa, card_...); nothing else is shown.
    if method and ("card" in method.split("_")[:3] or method.startswith("card")):
        return "by card "
    return ""


def service_period(start: date | None, end: date | None) -> str | None:
    """The line's period as the API states terms (the end is the term end); None for a
    one-time charge (a compute-minutes pack, a discount)."""
    if start is None or end is None:
        return None
    return f"Service period {start.isoformat()} to {end.isoformat()}"


def address_lines(
    line1: str | None,
    line2: str | None,
    postal_code: str | None,
    city: str | None,
    region: str | None,
    country: str | None,
) -> list[str]:
    """The address block, blank parts left out: street lines, "postal code city[, region]",
    then the ISO country code."""
    locality = " ".join(part for part in (postal_code, city) if part)
    if region:
        locality = f"{locality}, {region}" if locality else region
    return [part for part in (line1, line2, locality, country) if part]
