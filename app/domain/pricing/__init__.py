"""The pricing engine: what an order costs and the subscription it leaves
(docs/domain.md 3-4, 6)."""

from app.domain.pricing.catalog import Catalog, CatalogItem
from app.domain.pricing.engine import price_order
from app.domain.pricing.model import (
    MAX_ACTIONS,
    MAX_PACKS,
    MAX_SEATS,
    TERM_MONTHS,
    AddAddOn,
    AddSeats,
    BuyPack,
    ChangePlan,
    CreateSubscription,
    OrderAction,
    PackPurchase,
    PricedOrder,
    QuoteLine,
    Renew,
    SubscriptionSnapshot,
)
from app.domain.promotions import Promotion

__all__ = [
    "MAX_ACTIONS",
    "MAX_PACKS",
    "MAX_SEATS",
    "TERM_MONTHS",
    "AddAddOn",
    "AddSeats",
    "BuyPack",
    "Catalog",
    "CatalogItem",
    "ChangePlan",
    "CreateSubscription",
    "OrderAction",
    "PackPurchase",
    "PricedOrder",
    "Promotion",
    "QuoteLine",
    "Renew",
    "SubscriptionSnapshot",
    "price_order",
]
