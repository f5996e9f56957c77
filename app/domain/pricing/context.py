"""What every action is priced with: the catalog, the caller, the day, and the rule checks."""

from dataclasses import dataclass
from datetime import date

from app.domain.eligibility import Caller, Checker, SubscriptionFacts
from app.domain.enums import ProductKind
from app.domain.pricing.catalog import Catalog, CatalogItem
from app.domain.pricing.model import PackPurchase, QuoteLine, SubscriptionSnapshot


@dataclass(frozen=True, slots=True)
class Step:
    """One action applied: the projected state after it, and what it costs."""

    after: SubscriptionSnapshot
    lines: tuple[QuoteLine, ...] = ()
    packs: tuple[PackPurchase, ...] = ()


@dataclass(frozen=True, slots=True)
class Context:
    catalog: Catalog
    caller: Caller
    today: date

    def plan(self, code: str) -> CatalogItem:
        return self.catalog.item(code, ProductKind.PLAN)

    def check(self, checker: Checker, state: SubscriptionSnapshot) -> None:
        refusal = checker(self.facts(state), self.caller)
        if refusal is not None:
            raise refusal

    def facts(self, state: SubscriptionSnapshot) -> SubscriptionFacts:
        return SubscriptionFacts(
            status=state.status,
            plan_tier=self.plan(state.plan_code).tier,
            top_plan_tier=self.catalog.top_tier,
            lowest_paid_tier=self.catalog.lowest_paid_tier,
            partner_managed=state.partner_managed,
            auto_renew=state.auto_renew,
            has_pending_change=state.pending_plan_code is not None,
            term_end=state.term_end,
            today=self.today,
        )
