"""The shape of an order's action list, checked before anything is priced."""

from collections.abc import Sequence
from typing import NoReturn

from app.domain.errors import DomainError, ErrorCode
from app.domain.pricing.model import (
    MAX_ACTIONS,
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
        quantity = _quantity(action)
        if quantity is not None and not 1 <= quantity <= MAX_SEATS:
            _invalid(f"Seats and quantities must be between 1 and {MAX_SEATS:,}.")
    if len(actions) > 1 and any(isinstance(action, Renew) for action in actions):
        _invalid("A renewal must be the only action of its order.")
    creates = [i for i, action in enumerate(actions) if isinstance(action, CreateSubscription)]
    if creates not in ([], [0]):
        _invalid("createSubscription must be the first action of an order, and only once.")


def _quantity(action: OrderAction) -> int | None:
    match action:
        case ChangePlan():
            return None
        case BuyPack():
            return action.quantity
        case _:
            return action.seats


def _invalid(message: str) -> NoReturn:
    raise DomainError(ErrorCode.VALIDATION, message)
