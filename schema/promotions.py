"""Promo codes for staff: the list with redemptions used and left, creating a code, and
expiring one (docs/api-guide.md "Promotions")."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry

from app.db import tables
from app.domain.errors import DomainError
from app.domain.promotion_terms import PromotionTerms
from resolvers import promotions as resolve
from resolvers.ids import to_global_id
from schema import described
from schema.common import Money, Node
from schema.errors import NotFoundError, RuleViolation, ValidationError, result_union, user_error
from schema.minor_units import MinorUnits

RequiredReason = Annotated[
    str, strawberry.argument(description="Why, for the audit log (1-1000 characters).")
]


@strawberry.type(
    description="A promo code. It discounts the first term only: the order that carries it; "
    "renewals are never discounted."
)
class Promotion(Node):
    code: str = strawberry.field(description="Upper-case; typed in any case by buyers.")
    percent_off: int | None
    amount_off: Money | None
    plans: list[str] = strawberry.field(description="Plan codes it applies to; empty: any.")
    starts_on: date | None = strawberry.field(description="First valid day; null: at once.")
    expires_on: date | None = strawberry.field(description="Last valid day; null: never.")
    max_redemptions: int | None = strawberry.field(description="Null: no limit.")
    redemptions_used: int
    redemptions_left: int | None = strawberry.field(description="Null: no limit.")
    active: bool = strawberry.field(description="False once expired by an admin.")

    @classmethod
    def from_row(cls, row: tables.Promotion) -> Promotion:
        assert row.id is not None
        amount = None
        if row.amount_off is not None and row.currency is not None:
            amount = Money.of(row.amount_off, row.currency)
        cap = row.max_redemptions
        return cls(
            id=strawberry.ID(to_global_id("Promotion", row.id)),
            code=row.code,
            percent_off=row.percent_off,
            amount_off=amount,
            plans=list(row.plan_codes),
            starts_on=row.starts_on,
            expires_on=row.expires_on,
            max_redemptions=cap,
            redemptions_used=row.redemptions,
            redemptions_left=None if cap is None else max(cap - row.redemptions, 0),
            active=row.active,
        )


@strawberry.input
class PromotionFilter:
    active: bool | None = strawberry.field(default=None, description="Null: every promotion.")


@strawberry.input
class PromotionCreateInput:
    code: str = strawberry.field(description="3-64 characters of A-Z, 0-9, `_`, `-`; any case.")
    percent_off: int | None = strawberry.field(default=None, description="1-100.")
    amount_off: MinorUnits | None = strawberry.field(
        default=None, description="More than 0, in `currency` (one of the catalog's)."
    )
    currency: str | None = None
    plans: list[str] = strawberry.field(
        default_factory=list, description="Plan codes of the catalog; empty: any plan."
    )
    max_redemptions: int | None = strawberry.field(default=None, description="Null: no limit.")
    starts_on: date | None = None
    expires_on: date | None = strawberry.field(
        default=None, description="Not before `startsOn`, nor in the past."
    )

    def to_terms(self) -> PromotionTerms:
        return PromotionTerms(
            code=self.code,
            percent_off=self.percent_off,
            amount_off=self.amount_off,
            currency=self.currency,
            plan_codes=tuple(self.plans),
            max_redemptions=self.max_redemptions,
            starts_on=self.starts_on,
            expires_on=self.expires_on,
        )


@strawberry.type
class PromotionPayload:
    promotion: Promotion


PromotionResult = result_union(
    "PromotionResult", PromotionPayload, ValidationError, NotFoundError, RuleViolation
)


@strawberry.type
class PromotionMutations:
    @described.mutation(description="Staff only: create a promo code (audited).")
    async def promotion_create(
        self, info: strawberry.Info, input: PromotionCreateInput, reason: RequiredReason
    ) -> PromotionResult:  # type: ignore[valid-type]
        found = await resolve.create(info.context, input.to_terms(), reason)
        if isinstance(found, DomainError):
            return user_error(found)
        return PromotionPayload(promotion=Promotion.from_row(found))

    @described.mutation(
        description="Staff only: deactivate a promo code for new quotes and orders (audited). "
        "Orders that redeemed it keep their discount."
    )
    async def promotion_expire(
        self, info: strawberry.Info, id: strawberry.ID, reason: RequiredReason
    ) -> PromotionResult:  # type: ignore[valid-type]
        found = await resolve.expire(info.context, id, reason)
        if isinstance(found, DomainError):
            return user_error(found)
        return PromotionPayload(promotion=Promotion.from_row(found))
