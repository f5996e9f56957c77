"""Crm* rows <-> neutral CRM records, and the checks of the local CRM's writes."""

from __future__ import annotations

from dataclasses import asdict

from app.db.tables.local_providers import (
    CrmAccountRecord,
    CrmContactRecord,
    CrmOpportunityRecord,
    CrmSubscriptionRecord,
)
from app.providers import _checks as checks
from app.providers.crm.records import (
    CrmAccount,
    CrmContact,
    CrmOpportunity,
    CrmSubscription,
    NewOpportunity,
)


def check_account(account: CrmAccount) -> None:
    for field in ("ref", "name", "segment", "owner_name", "owner_email"):
        checks.check_text(field, getattr(account, field))
    checks.check_country(account.country)


def check_contact(contact: CrmContact) -> None:
    for field in ("ref", "account_ref", "name", "email"):
        checks.check_text(field, getattr(contact, field))


def check_subscription(subscription: CrmSubscription) -> None:
    for field in ("ref", "account_ref", "plan", "status"):
        checks.check_text(field, getattr(subscription, field))
    if subscription.seats < 0:
        raise checks.invalid("seats must not be negative")
    if subscription.term_end <= subscription.term_start:
        raise checks.invalid("term_end must be after term_start")


def check_opportunity(opportunity: NewOpportunity, idempotency_key: str) -> None:
    for field in ("account_ref", "name", "stage"):
        checks.check_text(field, getattr(opportunity, field))
    checks.check_amounts(opportunity.amount)
    checks.check_currency(opportunity.currency)
    if not idempotency_key or len(idempotency_key) > 200:
        raise checks.invalid("idempotency key must be 1-200 chars")


def account(row: CrmAccountRecord) -> CrmAccount:
    return CrmAccount(
        ref=row.ref,
        name=row.name,
        segment=row.segment,
        owner_name=row.owner_name,
        owner_email=row.owner_email,
        country=row.country,
    )


def write_account(row: CrmAccountRecord | None, record: CrmAccount) -> CrmAccountRecord:
    """A new row for `record`, or `row` updated to it."""
    if row is None:
        return CrmAccountRecord(**asdict(record))
    row.sqlmodel_update(asdict(record))
    return row


def contact(row: CrmContactRecord) -> CrmContact:
    return CrmContact(
        ref=row.ref, account_ref=row.account_ref, name=row.name, email=row.email, role=row.role
    )


def write_contact(row: CrmContactRecord | None, record: CrmContact) -> CrmContactRecord:
    """A new row for `record`, or `row` updated to it."""
    if row is None:
        return CrmContactRecord(**asdict(record))
    row.sqlmodel_update(asdict(record))
    return row


def subscription(row: CrmSubscriptionRecord) -> CrmSubscription:
    return CrmSubscription(
        ref=row.ref,
        account_ref=row.account_ref,
        plan=row.plan,
        seats=row.seats,
        term_start=row.term_start,
        term_end=row.term_end,
        status=row.status,
    )


def write_subscription(
    row: CrmSubscriptionRecord | None, record: CrmSubscription
) -> CrmSubscriptionRecord:
    """A new row for `record`, or `row` replaced by it."""
    if row is None:
        return CrmSubscriptionRecord(**asdict(record))
    row.sqlmodel_update(asdict(record))
    return row


def opportunity(row: CrmOpportunityRecord) -> CrmOpportunity:
    return CrmOpportunity(
        ref=row.ref,
        account_ref=row.account_ref,
        name=row.name,
        stage=row.stage,
        amount=row.amount,
        currency=row.currency,
        close_on=row.close_on,
    )


def as_new_opportunity(row: CrmOpportunityRecord) -> NewOpportunity:
    return NewOpportunity(
        account_ref=row.account_ref,
        name=row.name,
        stage=row.stage,
        amount=row.amount,
        currency=row.currency,
        close_on=row.close_on,
    )


def new_opportunity(record: NewOpportunity, idempotency_key: str) -> CrmOpportunityRecord:
    return CrmOpportunityRecord(
        ref="",
        account_ref=record.account_ref,
        name=record.name,
        stage=record.stage,
        amount=record.amount,
        currency=record.currency,
        close_on=record.close_on,
        idempotency_key=idempotency_key,
    )
