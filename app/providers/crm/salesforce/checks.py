"""The local CRM's request checks, under this provider's name: a malformed request is
refused ("invalid_request") before anything reaches Salesforce, so nothing changes there."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from app.providers import _checks
from app.providers.crm import _rows
from app.providers.crm.records import CrmAccount, CrmContact, CrmSubscription, NewOpportunity
from app.providers.crm.salesforce.errors import PROVIDER
from app.providers.errors import ProviderRejected

MAX_KEY_LENGTH = 200  # an External ID text field holds 255


@contextmanager
def _as_salesforce() -> Iterator[None]:
    try:
        yield
    except ProviderRejected as error:
        raise ProviderRejected(PROVIDER, error.code, error.message) from None


def account(record: CrmAccount) -> None:
    with _as_salesforce():
        _rows.check_account(record)


def contact(record: CrmContact) -> None:
    with _as_salesforce():
        _rows.check_contact(record)


def opportunity(record: NewOpportunity, key: str) -> None:
    with _as_salesforce():
        _rows.check_opportunity(record, key)
        if record.close_on is None:  # CloseDate is required on an Opportunity
            raise _checks.invalid("a Salesforce opportunity needs close_on")


def subscription(record: CrmSubscription) -> None:
    with _as_salesforce():
        for field in ("ref", "account_ref", "plan", "status"):
            _checks.check_text(field, getattr(record, field))
        _checks.check_amounts(record.seats)
        if record.seats < 0 or record.term_end <= record.term_start:
            raise _checks.invalid("seats must be >= 0 and the term must end after it starts")
