"""The fake org's records and the rules Salesforce applies to writes: the objects and fields
the provider's setup has (docs/providers.md "Salesforce"), unique External ID fields, required
fields, parents named by external id, and SOQL over it all.

An operation that Salesforce refuses raises `SalesforceError` with its status and the
documented error list body ([{"message", "errorCode", "fields"}])."""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.salesforce.soql import Query

Obj = dict[str, Any]

FIELDS: dict[str, set[str]] = {
    "Account": {
        "Name",
        "External_Id__c",
        "Segment__c",
        "Owner_Name__c",
        "Owner_Email__c",
        "BillingCountry",
    },
    "Contact": {"LastName", "Email", "Title", "External_Id__c", "AccountId"},
    "Opportunity": {
        "Name",
        "StageName",
        "Amount_Cents__c",
        "CurrencyIsoCode",
        "CloseDate",
        "Idempotency_Key__c",
        "AccountId",
    },
    "Subscription__c": {
        "Subscription_Number__c",
        "Account__c",
        "Plan__c",
        "Seats__c",
        "Term_Start__c",
        "Term_End__c",
        "Status__c",
    },
}
SYSTEM_FIELDS = {"Id", "CreatedDate"}
EXTERNAL_IDS = {
    "Account": {"External_Id__c"},
    "Contact": {"External_Id__c"},
    "Opportunity": {"Idempotency_Key__c"},
    "Subscription__c": {"Subscription_Number__c"},
}
REQUIRED = {
    "Account": ("Name",),
    "Contact": ("LastName",),
    "Opportunity": ("Name", "StageName", "CloseDate"),
    "Subscription__c": ("Account__c",),
}
NUMBERS = {"Amount_Cents__c", "Seats__c"}  # Number fields: answered as 10.0
# relationship name -> (its lookup field, the parent object), per child object
RELATIONS = {
    "Contact": {"Account": ("AccountId", "Account")},
    "Opportunity": {"Account": ("AccountId", "Account")},
    "Subscription__c": {"Account__r": ("Account__c", "Account")},
}
PREFIXES = {"Account": "001", "Contact": "003", "Opportunity": "006", "Subscription__c": "a0S"}


class SalesforceError(Exception):
    def __init__(self, status: int, code: str, message: str, fields: list[str] | None = None):
        super().__init__(f"{code}: {message}")
        self.status, self.code, self.message, self.fields = status, code, message, fields or []

    def body(self) -> list[Obj]:
        return [{"message": self.message, "errorCode": self.code, "fields": self.fields}]


def not_found() -> SalesforceError:
    return SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")


@dataclass
class Store:
    records: dict[str, dict[str, Obj]] = field(
        default_factory=lambda: {name: {} for name in FIELDS}
    )
    sequence: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def snapshot(self) -> dict[str, dict[str, Obj]]:
        return copy.deepcopy(self.records)

    def restore(self, records: dict[str, dict[str, Obj]]) -> None:
        self.records = records

    def all(self, sobject: str) -> list[Obj]:
        return list(self.records[sobject].values())

    # -- writes ----------------------------------------------------------------------------

    def upsert(self, sobject: str, field: str, value: str, body: Obj) -> tuple[bool, Obj]:
        """(created, record) for PATCH /sobjects/{sobject}/{field}/{value}."""
        self._check_object(sobject)
        if field not in EXTERNAL_IDS[sobject]:
            raise not_found()
        fields = self._fields(sobject, {k: v for k, v in body.items() if k != field})
        existing = self.by_external_id(sobject, field, value)
        if existing is None:
            return True, self._insert(sobject, {**fields, field: value})
        candidate = {**existing, **fields}
        self._check_required(sobject, candidate)
        existing.update(fields)
        return False, existing

    def create(self, sobject: str, body: Obj) -> Obj:
        self._check_object(sobject)
        return self._insert(sobject, self._fields(sobject, body))

    def by_external_id(self, sobject: str, field: str, value: str) -> Obj | None:
        return next(
            (each for each in self.records[sobject].values() if each.get(field) == value), None
        )

    def get(self, sobject: str, field: str, value: str, wanted: list[str]) -> Obj:
        self._check_object(sobject)
        if field not in EXTERNAL_IDS[sobject]:
            raise not_found()
        found = self.by_external_id(sobject, field, value)
        if found is None:
            raise not_found()
        return self._shaped(sobject, found, wanted or ["Id", *sorted(FIELDS[sobject])])

    def _insert(self, sobject: str, fields: Obj) -> Obj:
        self._check_required(sobject, fields)
        self._check_unique(sobject, fields)
        number = next(self.sequence)
        record = {
            "Id": f"{PREFIXES[sobject]}FAKE{number:08d}AAA",
            "CreatedDate": f"2026-01-01T00:00:00.{number:06d}+0000",
            **fields,
        }
        self.records[sobject][record["Id"]] = record
        return record

    def _fields(self, sobject: str, body: Obj) -> Obj:
        """The body's fields, a parent named by its external id resolved to its lookup."""
        fields: Obj = {}
        for name, value in body.items():
            relation = RELATIONS.get(sobject, {}).get(name)
            if relation is not None:
                fields[relation[0]] = self._parent_id(relation[1], value)
            elif name in FIELDS[sobject]:
                fields[name] = float(value) if name in NUMBERS and value is not None else value
            else:
                message = f"No such column '{name}' on sobject of type {sobject}"
                raise SalesforceError(400, "INVALID_FIELD", message)
        for lookup, parent in (r for r in RELATIONS.get(sobject, {}).values()):
            if lookup in body and fields[lookup] not in self.records[parent]:
                raise SalesforceError(
                    400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [lookup]
                )
        return fields

    def _parent_id(self, parent: str, value: Any) -> str:
        if not isinstance(value, dict) or len(value) != 1:
            raise SalesforceError(400, "INVALID_FIELD", "A relationship names one external id")
        ((field, ref),) = value.items()
        found = self.by_external_id(parent, field, ref)
        if field not in EXTERNAL_IDS[parent] or found is None:
            message = (
                f"Foreign key external ID: {ref} not found for field {field} in entity {parent}"
            )
            raise SalesforceError(400, "INVALID_FIELD", message)
        return str(found["Id"])

    def _check_object(self, sobject: str) -> None:
        if sobject not in FIELDS:
            raise SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")

    @staticmethod
    def _check_required(sobject: str, record: Obj) -> None:
        missing = [name for name in REQUIRED[sobject] if record.get(name) in (None, "")]
        if missing:
            message = f"Required fields are missing: [{', '.join(missing)}]"
            raise SalesforceError(400, "REQUIRED_FIELD_MISSING", message, missing)

    def _check_unique(self, sobject: str, record: Obj) -> None:
        for name in EXTERNAL_IDS[sobject]:
            value = record.get(name)
            twin = self.by_external_id(sobject, name, value) if value is not None else None
            if twin is not None:
                message = (
                    f"duplicate value found: {name} duplicates value on record with id: "
                    f"{twin['Id']}"
                )
                raise SalesforceError(400, "DUPLICATE_VALUE", message, [])

    # -- SOQL ------------------------------------------------------------------------------

    def select(self, query: Query) -> list[Obj]:
        sobject = query.sobject
        if sobject not in FIELDS:
            raise SalesforceError(
                400, "INVALID_TYPE", f"sObject type '{sobject}' is not supported."
            )
        for name in (*query.fields, query.field, *query.order_by):
            self._check_path(sobject, name)
        wanted = set(query.values)
        matched = [
            record
            for record in self.records[sobject].values()
            if self._value(sobject, record, query.field) in wanted
        ]
        if query.order_by:
            matched.sort(key=lambda r: [str(self._value(sobject, r, f)) for f in query.order_by])
        return [self._shaped(sobject, record, list(query.fields)) for record in matched]

    def _check_path(self, sobject: str, path: str) -> None:
        head, _, tail = path.partition(".")
        if tail:
            relation = RELATIONS.get(sobject, {}).get(head)
            if relation is not None and (tail in FIELDS[relation[1]] or tail in SYSTEM_FIELDS):
                return
        elif head in FIELDS[sobject] or head in SYSTEM_FIELDS:
            return
        message = f"No such column '{path}' on entity '{sobject}'."
        raise SalesforceError(400, "INVALID_FIELD", message)

    def _value(self, sobject: str, record: Obj, path: str) -> Any:
        head, _, tail = path.partition(".")
        if not tail:
            return record.get(head)
        lookup, parent = RELATIONS[sobject][head]
        found = self.records[parent].get(record.get(lookup) or "")
        return found.get(tail) if found else None

    def _shaped(self, sobject: str, record: Obj, fields: list[str]) -> Obj:
        """A record as the REST API answers it: attributes, then the fields asked for, a
        parent's as a nested record (null without a parent)."""
        shaped: Obj = {"attributes": _attributes(sobject, record["Id"])}
        for path in fields:
            head, _, tail = path.partition(".")
            if not tail:
                shaped[head] = record.get(head)
                continue
            lookup, parent = RELATIONS[sobject][head]
            found = self.records[parent].get(record.get(lookup) or "")
            if found is None:
                shaped[head] = None
            else:
                nested = shaped.get(head) or {"attributes": _attributes(parent, found["Id"])}
                nested[tail] = found.get(tail)
                shaped[head] = nested
        return shaped


def _attributes(sobject: str, record_id: str) -> Obj:
    return {"type": sobject, "url": f"/services/data/v61.0/sobjects/{sobject}/{record_id}"}
