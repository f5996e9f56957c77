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
class NewOpportunity:
    account_ref: str
    name: str
    stage: str
    amount: int
    currency: str
    close_on: date | None = None
