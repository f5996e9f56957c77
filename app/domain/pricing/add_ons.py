"""Seat add-ons: which plans they need and how many seats they may cover."""

from collections.abc import Iterable

from app.domain.errors import DomainError, ErrorCode
from app.domain.pricing.catalog import CatalogItem


def require_plan_allows(add_on: CatalogItem, plan: CatalogItem) -> None:
    if plan.code not in add_on.eligible_plans:
        raise DomainError(
            ErrorCode.PLAN_NOT_ELIGIBLE, f"{add_on.name} is not available on {plan.name}."
        )


def require_plan_allows_all(add_ons: Iterable[CatalogItem], plan: CatalogItem) -> None:
    for add_on in add_ons:
        require_plan_allows(add_on, plan)


def require_within_seats(add_on: CatalogItem, quantity: int, seats: int) -> None:
    if quantity > seats:
        raise DomainError(
            ErrorCode.ADDON_EXCEEDS_SEATS,
            f"{add_on.name} would cover {quantity:,} seats, "
            f"more than the subscription's {seats:,}.",
        )
