"""Neutral CRM records (local, Salesforce): the relationship side of a customer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class CrmAccount:
    ref: str
    name: str
    segment: str
    owner_name: str
    owner_email: str
    country: str | None = None


@dataclass(frozen=True, slots=True)
class CrmContact:
    ref: str
    account_ref: str
    name: str
    email: str
    role: str | None = None


@dataclass(frozen=True, slots=True)
class CrmOpportunity:
    ref: str
    account_ref: str
    name: str
    stage: str
    amount: int
    currency: str
    close_on: date | None


@dataclass(frozen=True, slots=True)
class CrmSubscription:
    """The CRM's mirror of a subscription (Salesforce: a custom object upserted by its
    external id), kept for account teams; the local database owns these fields."""

    ref: str  # the subscription's public id (resolvers.ids global id is NOT used: the
    #           subscription's `number`, e.g. "A-S00000001")
    account_ref: str
    plan: str  # plan code, e.g. "premium"
    seats: int
    term_start: date
    term_end: date
    status: str  # "active", "cancelled" (no auto-renew, runs to term end), "expired"


@dataclass(frozen=True, slots=True)
class NewOpportunity:
    account_ref: str
    name: str
    stage: str
    amount: int
    currency: str
    close_on: date | None = None
