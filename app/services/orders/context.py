"""What the order use cases need from the runtime."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import Clock
from app.config import Settings
from app.providers.billing import BillingProvider
from app.providers.tax import LocalTaxProvider, TaxProvider
from app.services.orders.turns import Turns


@dataclass(frozen=True, slots=True)
class OrderDeps:
    sessions: async_sessionmaker[AsyncSession]
    billing: BillingProvider
    clock: Clock
    settings: Settings
    turns: Turns = field(default_factory=Turns)  # pass the runtime's: one queue per process
    tax: TaxProvider = field(default_factory=LocalTaxProvider)  # pass the runtime's

    def now(self) -> datetime:
        return self.clock.now()

    def today(self) -> date:
        return self.clock.today()
