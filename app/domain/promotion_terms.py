"""What an admin may create as a promo code: the checks on its terms, before any write.

A code is stored upper-case, so codes are unique whatever the case they are typed in. Every
promotion is first-term only: it discounts the order that carries it, and renewals (which
carry no code) are never discounted."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import date
from typing import NoReturn

from app.domain.errors import DomainError, ErrorCode

_CODE = re.compile(r"[A-Z0-9_-]{3,64}")


@dataclass(frozen=True, slots=True)
class PromotionTerms:
    code: str
    percent_off: int | None
    amount_off: int | None  # minor units, in `currency`
    currency: str | None
    plan_codes: tuple[str, ...]  # empty = any plan
    max_redemptions: int | None  # None = unlimited
    starts_on: date | None
    expires_on: date | None


def normalise_code(code: str) -> str:
    return code.strip().upper()


def checked_terms(
    terms: PromotionTerms, *, plans: Collection[str], currencies: Collection[str], today: date
) -> PromotionTerms:
    """The terms with the code normalised, or a VALIDATION error naming the first fault.
    `plans` and `currencies` are the catalog's; a code may not expire before `today`."""
    code = normalise_code(terms.code)
    if not _CODE.fullmatch(code):
        _refuse("`code` must be 3-64 characters of A-Z, 0-9, `_` and `-`.")
    _check_discount(terms, currencies)
    unknown = sorted(set(terms.plan_codes) - set(plans))
    if unknown:
        _refuse(f"`plans` names plans not in the catalog: {', '.join(unknown)}.")
    if terms.max_redemptions is not None and terms.max_redemptions < 1:
        _refuse("`maxRedemptions` must be at least 1 (or null for no limit).")
    if terms.starts_on and terms.expires_on and terms.expires_on < terms.starts_on:
        _refuse("`expiresOn` must not be before `startsOn`.")
    if terms.expires_on and terms.expires_on < today:
        _refuse("`expiresOn` must not be in the past.")
    currency = terms.currency.upper() if terms.currency else None
    plan_codes = tuple(dict.fromkeys(terms.plan_codes))
    return replace(terms, code=code, currency=currency, plan_codes=plan_codes)


def _check_discount(terms: PromotionTerms, currencies: Collection[str]) -> None:
    if (terms.percent_off is None) == (terms.amount_off is None):
        _refuse("Give exactly one of `percentOff` and `amountOff`.")
    if terms.percent_off is not None:
        if not 1 <= terms.percent_off <= 100:
            _refuse("`percentOff` must be between 1 and 100.")
        if terms.currency is not None:
            _refuse("`currency` goes with `amountOff` only.")
        return
    if (terms.amount_off or 0) <= 0:
        _refuse("`amountOff` must be more than 0.")
    if terms.currency is None or terms.currency.upper() not in currencies:
        known = ", ".join(sorted(currencies))
        _refuse(f"`amountOff` needs a `currency` of the catalog's: {known}.")


def _refuse(message: str) -> NoReturn:
    raise DomainError(ErrorCode.VALIDATION, message)
