"""What a caller asks to buy, in a form that round-trips through a quote token."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from app.domain.buyers import NewCustomer
from app.domain.enums import DeploymentKind
from app.domain.errors import DomainError, ErrorCode
from app.domain.pricing import (
    AddAddOn,
    AddSeats,
    BuyPack,
    ChangePlan,
    CreateSubscription,
    OrderAction,
    Renew,
)

ACTION_TYPES: dict[str, type[OrderAction]] = {
    cls.__name__: cls
    for cls in (CreateSubscription, AddSeats, ChangePlan, AddAddOn, BuyPack, Renew)
}


@dataclass(frozen=True, slots=True)
class DeploymentRef:
    """Where a new subscription goes: an existing deployment, or a new one of this kind."""

    external_id: str
    kind: DeploymentKind = DeploymentKind.SAAS_NAMESPACE
    name: str | None = None


@dataclass(frozen=True, slots=True)
class OrderRequest:
    customer_id: int
    subscription_id: int | None
    deployment: DeploymentRef | None
    actions: tuple[OrderAction, ...]
    promo_code: str | None = None
    # A first purchase: the customer to create (customer_id is 0 until it exists).
    new_customer: NewCustomer | None = None

    @property
    def lease_resource(self) -> str:
        if self.subscription_id is not None:
            return f"subscription:{self.subscription_id}"
        assert self.deployment is not None
        return f"deployment:{self.deployment.external_id}"

    def to_payload(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "subscription_id": self.subscription_id,
            "deployment": None if self.deployment is None else asdict(self.deployment),
            "actions": [{"type": type(a).__name__, **asdict(a)} for a in self.actions],
            "promo_code": self.promo_code,
            "new_customer": None if self.new_customer is None else self.new_customer.to_payload(),
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> OrderRequest:
        try:
            deployment = payload["deployment"]
            new_customer = payload.get("new_customer")  # absent from tokens of older versions
            return cls(
                customer_id=int(payload["customer_id"]),
                subscription_id=payload["subscription_id"],
                deployment=None if deployment is None else DeploymentRef(**deployment),
                actions=tuple(_action(raw) for raw in payload["actions"]),
                promo_code=payload["promo_code"],
                new_customer=None
                if new_customer is None
                else NewCustomer.from_payload(new_customer),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DomainError(ErrorCode.VALIDATION, "This quote token is malformed.") from exc


def _action(raw: dict[str, Any]) -> OrderAction:
    fields = dict(raw)
    return ACTION_TYPES[fields.pop("type")](**fields)
