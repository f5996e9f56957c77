"""The sObjects of the CRM records, and their fields (the org's setup, docs/providers.md
"Salesforce").

- CrmAccount: Account, upserted by `External_Id__c` (the ref); Segment__c, Owner_Name__c,
  Owner_Email__c, and BillingCountry (an ISO 3166 alpha-2 code).
- CrmContact: Contact, upserted by `External_Id__c`; its account named by the account's
  external id (`"Account": {"External_Id__c": ...}`); LastName holds the name, Title the role.
- CrmOpportunity: Opportunity, ref its Salesforce Id; `Idempotency_Key__c` (External ID,
  unique) holds the key it was created with; Amount_Cents__c the amount in minor units
  (the org's Amount can be a formula of it) and CurrencyIsoCode the currency.
- CrmSubscription: Subscription__c, upserted by `Subscription_Number__c`; Account__c, a
  lookup to the Account, named by its external id through `Account__r`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from app.providers.crm.records import (
    CrmAccount,
    CrmContact,
    CrmOpportunity,
    CrmSubscription,
    NewOpportunity,
)

Obj = dict[str, Any]
EXTERNAL_ID = "External_Id__c"
OPPORTUNITY_KEY = "Idempotency_Key__c"
SUBSCRIPTION_NUMBER = "Subscription_Number__c"

ACCOUNT_FIELDS = (
    EXTERNAL_ID,
    "Name",
    "Segment__c",
    "Owner_Name__c",
    "Owner_Email__c",
    "BillingCountry",
)
CONTACT_FIELDS = (EXTERNAL_ID, "LastName", "Email", "Title", f"Account.{EXTERNAL_ID}")
OPPORTUNITY_FIELDS = (
    "Id",
    f"Account.{EXTERNAL_ID}",
    "Name",
    "StageName",
    "Amount_Cents__c",
    "CurrencyIsoCode",
    "CloseDate",
)
SUBSCRIPTION_FIELDS = (
    SUBSCRIPTION_NUMBER,
    f"Account__r.{EXTERNAL_ID}",
    "Plan__c",
    "Seats__c",
    "Term_Start__c",
    "Term_End__c",
    "Status__c",
)


def _account_of(record: Obj, relationship: str = "Account") -> str:
    parent = record.get(relationship) or {}
    return str(parent.get(EXTERNAL_ID) or "")


def _by_external_id(ref: str) -> Obj:
    return {EXTERNAL_ID: ref}


def account_body(account: CrmAccount) -> Obj:
    return {
        "Name": account.name,
        "Segment__c": account.segment,
        "Owner_Name__c": account.owner_name,
        "Owner_Email__c": account.owner_email,
        "BillingCountry": account.country,
    }


def account(record: Obj) -> CrmAccount:
    return CrmAccount(
        ref=str(record[EXTERNAL_ID]),
        name=str(record["Name"]),
        segment=str(record.get("Segment__c") or ""),
        owner_name=str(record.get("Owner_Name__c") or ""),
        owner_email=str(record.get("Owner_Email__c") or ""),
        country=record.get("BillingCountry") or None,
    )


def contact_body(contact: CrmContact) -> Obj:
    return {
        "LastName": contact.name,
        "Email": contact.email,
        "Title": contact.role,
        "Account": _by_external_id(contact.account_ref),
    }


def contact(record: Obj) -> CrmContact:
    return CrmContact(
        ref=str(record[EXTERNAL_ID]),
        account_ref=_account_of(record),
        name=str(record["LastName"]),
        email=str(record.get("Email") or ""),
        role=record.get("Title") or None,
    )


def opportunity_body(opportunity: NewOpportunity, key: str, account_id: str) -> Obj:
    assert opportunity.close_on is not None  # checked before
    return {
        "AccountId": account_id,
        "Name": opportunity.name,
        "StageName": opportunity.stage,
        "Amount_Cents__c": opportunity.amount,
        "CurrencyIsoCode": opportunity.currency,
        "CloseDate": opportunity.close_on.isoformat(),
        OPPORTUNITY_KEY: key,
    }


def opportunity(record: Obj) -> CrmOpportunity:
    close = record.get("CloseDate")
    return CrmOpportunity(
        ref=str(record["Id"]),
        account_ref=_account_of(record),
        name=str(record["Name"]),
        stage=str(record["StageName"]),
        amount=int(record.get("Amount_Cents__c") or 0),
        currency=str(record.get("CurrencyIsoCode") or ""),
        close_on=date.fromisoformat(close) if close else None,
    )


def created_opportunity(ref: str, opportunity: NewOpportunity) -> CrmOpportunity:
    return CrmOpportunity(
        ref=ref,
        account_ref=opportunity.account_ref,
        name=opportunity.name,
        stage=opportunity.stage,
        amount=opportunity.amount,
        currency=opportunity.currency,
        close_on=opportunity.close_on,
    )


def as_new_opportunity(found: CrmOpportunity) -> NewOpportunity:
    return NewOpportunity(
        account_ref=found.account_ref,
        name=found.name,
        stage=found.stage,
        amount=found.amount,
        currency=found.currency,
        close_on=found.close_on,
    )


def subscription_body(subscription: CrmSubscription) -> Obj:
    return {
        "Account__r": _by_external_id(subscription.account_ref),
        "Plan__c": subscription.plan,
        "Seats__c": subscription.seats,
        "Term_Start__c": subscription.term_start.isoformat(),
        "Term_End__c": subscription.term_end.isoformat(),
        "Status__c": subscription.status,
    }


def subscription(record: Obj) -> CrmSubscription:
    return CrmSubscription(
        ref=str(record[SUBSCRIPTION_NUMBER]),
        account_ref=_account_of(record, "Account__r"),
        plan=str(record["Plan__c"]),
        seats=int(record["Seats__c"]),  # a Number field comes back as 10.0
        term_start=date.fromisoformat(record["Term_Start__c"]),
        term_end=date.fromisoformat(record["Term_End__c"]),
        status=str(record["Status__c"]),
    )
