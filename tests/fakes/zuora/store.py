"""The fake's state: Zuora objects by number, the fake's today, and Zuora's error answers."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

Obj = dict[str, Any]

# Gateway test tokens (the Stripe gateway's, as every billing implementation takes them):
# verified and charged; refused at verification (category 30); charged and declined with
# the gateway's response code. Any other token is unknown to the gateway (category 20).
GOOD_TOKENS = frozenset({"pm_card_visa", "pm_card_mastercard"})
REFUSED_AT_VERIFICATION = frozenset({"pm_card_chargeDeclined"})
DECLINED_AT_CHARGE = {
    "pm_card_chargeCustomerFail": "card_declined",
    "pm_card_declined": "card_declined",
    "pm_card_insufficient_funds": "insufficient_funds",
}


class ZuoraFault(Exception):
    """A refusal as Zuora's v1 API answers it: HTTP 200 (unless `status` says otherwise) with
    `success: false` and an 8-digit code (resource code + category)."""

    def __init__(
        self, code: int, message: str, *, status: int = 200, crud: str | None = None
    ) -> None:
        super().__init__(message)
        self.code, self.status, self.crud = code, status, crud

    def body(self) -> Obj:
        if self.crud is not None:  # a CRUD answer: {"Success": false, "Errors": [...]}
            return {"Success": False, "Errors": [{"Code": self.crud, "Message": self.message}]}
        return {
            "success": False,
            "processId": "FAKE0000PROCESS",
            "reasons": [{"code": self.code, "message": self.message}],
        }

    @property
    def message(self) -> str:
        return str(self.args[0])


def not_found(what: str, key: str) -> ZuoraFault:
    return ZuoraFault(50000040, f"Cannot find {what} by key: '{key}'.")


def invalid(message: str) -> ZuoraFault:
    return ZuoraFault(50000020, message)


def restricted(message: str) -> ZuoraFault:
    return ZuoraFault(50000030, message)


def money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def number(value: Decimal) -> float:
    return float(value)


@dataclass
class Call:
    """One request as a resource handler sees it: the JSON body and the path's ids."""

    store: Store
    body: Obj
    ids: dict[str, str]


Handler = Callable[[Call], Obj]


@dataclass
class Router:
    routes: list[tuple[str, str, Handler]] = field(default_factory=list)

    def get(self, path: str, handler: Handler) -> None:
        self.routes.append(("GET", path, handler))

    def post(self, path: str, handler: Handler) -> None:
        self.routes.append(("POST", path, handler))

    def put(self, path: str, handler: Handler) -> None:
        self.routes.append(("PUT", path, handler))


@dataclass
class Store:
    accounts: dict[str, Obj] = field(default_factory=dict)
    payment_methods: dict[str, Obj] = field(default_factory=dict)
    products: dict[str, Obj] = field(default_factory=dict)  # by id
    rate_plans: dict[str, Obj] = field(default_factory=dict)  # by id
    charges: dict[str, Obj] = field(default_factory=dict)  # by id
    subscriptions: dict[str, Obj] = field(default_factory=dict)
    orders: dict[str, Obj] = field(default_factory=dict)
    invoices: dict[str, Obj] = field(default_factory=dict)
    payments: dict[str, Obj] = field(default_factory=dict)
    refunds: dict[str, Obj] = field(default_factory=dict)
    today: Callable[[], date] = date.today
    # The tenant's proration setting: "day" (what the app computes) or "month_first"
    # (orders.py: a seat add prorated by month first, for the preview check to catch).
    proration: str = "day"
    _sequence: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def new_id(self) -> str:
        return f"8a8{next(self._sequence):029d}"

    def next_number(self, prefix: str, of: dict[str, Obj]) -> str:
        return f"{prefix}{len(of) + 1:08d}"

    def find(self, of: dict[str, Obj], key: str, what: str) -> Obj:
        """By number (the dict's key) or by id."""
        found = of.get(key) or next((obj for obj in of.values() if obj.get("id") == key), None)
        if found is None:
            raise not_found(what, key)
        return found

    def product_by_key(self, key: str) -> Obj:
        for product in self.products.values():
            if key in (product["id"], product["sku"]):
                return product
        raise not_found("product", key)
