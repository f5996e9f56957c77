"""What is sold and at what price, in the currency of one order."""

from collections.abc import Mapping
from dataclasses import dataclass

from app.domain.enums import BillingPeriod, ProductKind
from app.domain.errors import DomainError, ErrorCode

# How an unknown code or a code of the wrong kind is named in errors, per expected kind.
_KIND_NOUNS: Mapping[ProductKind, str] = {
    ProductKind.PLAN: "plan",
    ProductKind.SEAT_ADDON: "add-on",
    ProductKind.ONE_TIME_PACK: "pack",
    ProductKind.RECURRING_PACK: "pack",
}


@dataclass(frozen=True, slots=True)
class CatalogItem:
    code: str
    name: str
    kind: ProductKind
    tier: int
    unit_amount: int  # per seat per year (plans, add-ons), per pack (packs)
    period: BillingPeriod
    pack_units: int | None = None  # 1000 minutes, 10 GiB
    validity_months: int | None = None  # compute packs: 12
    eligible_plans: tuple[str, ...] = ()  # seat add-ons

    @property
    def paid(self) -> bool:
        return self.tier > 0


@dataclass(frozen=True, slots=True)
class Catalog:
    currency: str
    items: Mapping[str, CatalogItem]

    def item(self, code: str, *kinds: ProductKind) -> CatalogItem:
        """The item `code`, which must be of one of `kinds` (any kind when none given)."""
        noun = _KIND_NOUNS[kinds[0]] if kinds else "product"
        found = self.items.get(code)
        if found is None:
            raise DomainError(ErrorCode.VALIDATION, f"Unknown {noun} `{code}`.")
        if kinds and found.kind not in kinds:
            article = "an" if noun[0] in "aeiou" else "a"
            raise DomainError(ErrorCode.VALIDATION, f"`{code}` is not {article} {noun}.")
        return found

    def of_kind(self, kind: ProductKind) -> tuple[CatalogItem, ...]:
        return tuple(item for item in self.items.values() if item.kind is kind)

    @property
    def top_tier(self) -> int:
        return max(self._paid_tiers)

    @property
    def lowest_paid_tier(self) -> int:
        return min(self._paid_tiers)

    @property
    def _paid_tiers(self) -> tuple[int, ...]:
        tiers = tuple(item.tier for item in self.of_kind(ProductKind.PLAN) if item.paid)
        if not tiers:
            raise DomainError(ErrorCode.VALIDATION, f"No paid plan is sold in {self.currency}.")
        return tiers
