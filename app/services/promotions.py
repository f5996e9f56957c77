"""What admins do with promo codes: create one, expire one (docs/api-guide.md "Promotions"). Each
write is audited with the admin's reason; a refusal (bad terms, a code taken, unknown id) changes
nothing. Expiring deactivates the code for new quotes and orders; orders that redeemed it
keep their discount (it is on their invoices)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principals import Principal
from app.db.repositories import catalog, commerce
from app.db.tables import Promotion
from app.domain.errors import DomainError, ErrorCode
from app.domain.promotion_terms import PromotionTerms, checked_terms
from app.services import audit


def _attributed(principal: Principal, reason: str, request_id: str | None) -> audit.Attribution:
    attributed = audit.attribution(principal, reason, request_id)
    if attributed.reason is None:  # required of everyone here, not only of admins
        raise DomainError(ErrorCode.VALIDATION, "A `reason` is required; none was given.")
    return attributed


def summary(row: Promotion) -> dict[str, Any]:
    """The promotion as the audit log shows it."""
    return {
        "code": row.code,
        "percent_off": row.percent_off,
        "amount_off": row.amount_off,
        "currency": row.currency,
        "plan_codes": list(row.plan_codes),
        "max_redemptions": row.max_redemptions,
        "starts_on": row.starts_on.isoformat() if row.starts_on else None,
        "expires_on": row.expires_on.isoformat() if row.expires_on else None,
        "active": row.active,
    }


async def create(
    session: AsyncSession,
    principal: Principal,
    terms: PromotionTerms,
    reason: str,
    *,
    now: datetime,
    request_id: str | None = None,
) -> Promotion:
    attributed = _attributed(principal, reason, request_id)
    plans, currencies = await catalog.plan_codes(session), await catalog.currencies(session)
    terms = checked_terms(terms, plans=plans, currencies=currencies, today=now.date())
    if await commerce.code_taken(session, terms.code):
        raise DomainError(ErrorCode.PROMO_CODE_TAKEN, f"The code `{terms.code}` is taken.")
    row = Promotion(
        code=terms.code,
        percent_off=terms.percent_off,
        amount_off=terms.amount_off,
        currency=terms.currency,
        plan_codes=list(terms.plan_codes),
        max_redemptions=terms.max_redemptions,
        starts_on=terms.starts_on,
        expires_on=terms.expires_on,
    )
    session.add(row)
    await session.flush()  # a racing twin fails here, on the unique code
    assert row.id is not None
    await audit.record(
        session,
        principal,
        "promotion.created",
        ("Promotion", row.id),
        after=summary(row),
        attributed=attributed,
        now=now,
    )
    return row


async def expire(
    session: AsyncSession,
    principal: Principal,
    promotion_id: int,
    reason: str,
    *,
    now: datetime,
    request_id: str | None = None,
) -> Promotion:
    attributed = _attributed(principal, reason, request_id)
    row = await session.get(Promotion, promotion_id, with_for_update=True)
    if row is None:
        raise DomainError(ErrorCode.NOT_FOUND, "No such promotion.")
    if not row.active:
        raise DomainError(ErrorCode.VALIDATION, f"The code `{row.code}` is already expired.")
    row.active = False
    await audit.record(
        session,
        principal,
        "promotion.expired",
        ("Promotion", promotion_id),
        before={"active": True},
        after={"active": False},
        attributed=attributed,
        now=now,
    )
    return row
