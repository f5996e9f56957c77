"""The shape of an order's action list, checked before anything is priced."""

from collections.abc import Sequence
from typing import NoReturn

from app.domain.errors import DomainError, ErrorCode
from app.domain.pricing.model import (
    MAX_ACTIONS,
    MAX_PACKS,
    MAX_SEATS,
    BuyPack,
    ChangePlan,
    CreateSubscription,
    OrderAction,
    Renew,
)


def validate_actions(actions: Sequence[OrderAction]) -> None:
    if not 1 <= len(actions) <= MAX_ACTIONS:
        _invalid(f"An order has between 1 and {MAX_ACTIONS} actions.")
    for action in actions:
        _check_quantity(action)
    if len(actions) > 1 and any(isinstance(action, Renew) for action in actions):
        _invalid("A renewal must be the only action of its order.")
    creates = [i for i, action in enumerate(actions) if isinstance(action, CreateSubscription)]
    if creates not in ([], [0]):
        _invalid("createSubscription must be the first action of an order, and only once.")


def check_seat_limit(seats: int) -> None:
    """SEAT_LIMIT_EXCEEDED past the most seats a subscription may have (MAX_SEATS)."""
    if seats > MAX_SEATS:
        raise DomainError(
            ErrorCode.SEAT_LIMIT_EXCEEDED,
            f"A subscription has at most {MAX_SEATS:,} seats; contact sales for more.",
        )


def _check_quantity(action: OrderAction) -> None:
    match action:
        case ChangePlan():
            return
        case BuyPack():
            if not 1 <= action.quantity <= MAX_PACKS:
                _invalid(f"Pack quantities must be between 1 and {MAX_PACKS:,}.")
        case _ if action.seats is not None:  # a renewal without seats takes the seats in use
            if action.seats < 1:
                _invalid("Seats must be at least 1.")
            check_seat_limit(action.seats)


def _invalid(message: str) -> NoReturn:
    raise DomainError(ErrorCode.VALIDATION, message)
