"""billingAccountSetPaymentMethod: put a payment-method token from the frontend on a billing
account. The frontend tokenizes the card with the provider's own widget; this API never sees
card data, and refuses anything that looks like a card number.

Like a card change in the provider's own page (and `fulfillment demo-card`): the provider
first (its account created first if it has none), then our copy, audited. A token the
provider refuses changes nothing here."""

from __future__ import annotations

import re

from app.auth.authenticate import read_scope
from app.auth.principals import Principal
from app.db.repositories import payments as repo
from app.db.tables import BillingAccount
from app.db.unit_of_work import unit_of_work
from app.domain.errors import DomainError, ErrorCode
from app.providers.errors import ProviderError, ProviderRejected, ProviderUnavailable
from app.runtime import Runtime
from app.services import audit
from app.services.billing import accounts, keys
from app.services.payments.access import check_may_pay, require_payer
from app.services.payments.errors import PaymentMethodRejected

MAX_TOKEN_LENGTH = 64  # BillingAccount.payment_method
MAX_KEY_LENGTH = 128
_TOKEN = re.compile(r"[A-Za-z0-9_-]+")
# 12-19 digits, maybe grouped by spaces or dashes: a card number (PAN), never a token.
_CARD_NUMBER = re.compile(r"\d(?:[ -]?\d){11,18}")

NO_ACCOUNT = DomainError(ErrorCode.NOT_FOUND, "No such billing account.")
UNAVAILABLE = DomainError(
    ErrorCode.PROVIDER_UNAVAILABLE, "Billing is unavailable; retry with the same idempotency key."
)


def checked_key(key: str) -> str:
    """1-128 printable ASCII characters: a payment method's key is part of the provider's
    Idempotency-Key header, where a control or non-ASCII character cannot be sent."""
    key = key.strip()
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not (key.isascii() and key.isprintable()):
        raise DomainError(
            ErrorCode.VALIDATION,
            f"The idempotency key must be 1-{MAX_KEY_LENGTH} printable ASCII characters.",
        )
    return key


def checked_token(token: str) -> str:
    token = token.strip()
    if _CARD_NUMBER.search(token):
        raise DomainError(
            ErrorCode.VALIDATION,
            "This looks like a card number. Never send card data: tokenize the card with the "
            "billing provider in the browser and send its payment-method token.",
        )
    if not 1 <= len(token) <= MAX_TOKEN_LENGTH or not _TOKEN.fullmatch(token):
        raise DomainError(
            ErrorCode.VALIDATION,
            f"A payment-method token is 1-{MAX_TOKEN_LENGTH} letters, digits, `_` or `-` "
            "(such as `pm_card_visa`).",
        )
    return token


async def set_payment_method(
    runtime: Runtime,
    principal: Principal,
    account_id: int,
    token: str,
    idempotency_key: str,
    *,
    reason: str | None = None,
    request_id: str | None = None,
) -> BillingAccount:
    """The account with the provider's payment method on it. Setting the method it already
    has (a retry, or the same card again) writes and audits nothing."""
    attributed = audit.attribution(principal, reason, request_id)
    require_payer(principal)
    token, key = checked_token(token), checked_key(idempotency_key)
    async with unit_of_work(runtime.sessions, write=False) as session:
        account = await repo.billing_account_in_scope(session, read_scope(principal), account_id)
    if account is None or account.id is None:
        raise NO_ACCOUNT
    check_may_pay(principal, account, account.customer_id or 0)
    method = await _at_provider(runtime, account, token, keys.payment_method(account.id, key))
    return await record_payment_method(
        runtime, principal, attributed, account.id, method, replaced=account.payment_method
    )


async def record_payment_method(
    runtime: Runtime,
    principal: Principal,
    attributed: audit.Attribution,
    account_id: int,
    method: str,
    *,
    replaced: str | None,
) -> BillingAccount:
    """Our copy of the method the provider now has, audited against `replaced` (the method
    read before the provider call): a webhook refresh may have copied the new method onto
    the row in between, and the change is still this caller's. Nothing is audited when the
    caller replaced nothing (a retry, or the same card again)."""
    async with unit_of_work(runtime.sessions) as session:
        row = await session.get(BillingAccount, account_id, with_for_update=True)
        assert row is not None
        row.payment_method = method
        if replaced == method:
            return row
        await audit.record(
            session,
            principal,
            "billing_account.payment_method_set",
            ("BillingAccount", account_id),
            before={"payment_method": replaced},
            after={"payment_method": method},
            attributed=attributed,
            now=runtime.clock.now(),
        )
        return row


async def _at_provider(runtime: Runtime, account: BillingAccount, token: str, key: str) -> str:
    """The payment method the provider now has on the account."""
    billing = runtime.providers.billing
    try:
        return await accounts.attach_payment_method(
            runtime.sessions, billing, account, token, key=key
        )
    except ProviderRejected as error:
        if error.code == "idempotency_key_reused":
            raise DomainError(
                ErrorCode.IDEMPOTENCY_KEY_REUSED,
                "This idempotency key was used to set another payment method.",
            ) from error
        raise PaymentMethodRejected(error.code) from error
    except ProviderUnavailable as error:
        raise UNAVAILABLE from error
    except ProviderError as error:  # not found: the provider lost the account
        raise DomainError(
            ErrorCode.PROVIDER_REJECTED, f"Billing refused the change ({error.message})."
        ) from error
