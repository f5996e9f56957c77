"""What the seed has built so far, by spec key, and the day it builds for."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.tables import BillingAccount, Customer, Partner, Product, Subscription
from app.services.demo.rows import ident

CURRENCY = "USD"


@dataclass
class World:
    session: AsyncSession
    today: date
    now: datetime
    products: dict[str, Product]
    prices: dict[str, int]
    # The local billing provider's ledger is written too, and the provider refs are its refs;
    # with another provider the refs stay empty, for the app to create them there.
    ledger: bool = True
    partners: dict[str, Partner] = field(default_factory=dict)
    customers: dict[str, Customer] = field(default_factory=dict)
    accounts: dict[str, BillingAccount] = field(default_factory=dict)
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    payers: dict[str, str] = field(default_factory=dict)  # subscription key -> party key

    def at(self, day: date) -> datetime:
        """An instant on `day`, at the clock's time of day."""
        return datetime.combine(day, self.now.timetz())

    def product_id(self, code: str) -> int:
        return ident(self.products[code])

    def partner_id(self, key: str | None) -> int | None:
        return None if key is None else ident(self.partners[key])

    def paying_account(self, subscription_key: str) -> BillingAccount:
        """The billing account that pays for a subscription: the partner's when it sold it."""
        return self.accounts[self.payers[subscription_key]]

    def ref(self, local_ref: str) -> str | None:
        """A provider ref: the local ledger's, or none yet (another provider's own, later)."""
        return local_ref if self.ledger else None
