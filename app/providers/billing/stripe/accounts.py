"""Accounts are Stripe Customers (name, email, metadata[currency]).

A payment method is attached to the customer (a test token such as "pm_card_visa" becomes a
new PaymentMethod) and made its invoice_settings.default_payment_method; metadata keeps the
token the caller gave and the id attached from it. The record's payment_method is that token,
as every provider reports what the caller set (collect_payment takes the token or the id);
when the default was changed outside the app, it is the default's id.

create_account is all or nothing: when Stripe refuses the payment method at attach, the
customer just created is deleted again, so a refused account leaves no customer behind.

Under the app's test clock the customer is created on a Stripe test clock of its own, frozen
at the app's now (test_clocks.py); a refused account deletes that clock, and the customer
with it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import asdict
from typing import Any

from stripe.params import CustomerCreateParams

from app.clock import Clock
from app.providers.billing.records import BillingAccountRecord, NewAccount
from app.providers.billing.stripe import checks, keys, mapping, test_clocks
from app.providers.billing.stripe.client import StripeApi
from app.providers.billing.stripe.errors import PROVIDER
from app.providers.errors import ProviderNotFound, ProviderRejected


async def get_accounts(api: StripeApi, refs: Sequence[str]) -> Mapping[str, BillingAccountRecord]:
    async def read(ref: str) -> BillingAccountRecord | None:
        customer = await customer_of(api, ref)
        return None if customer.get("deleted") else mapping.account(customer)

    return await api.read_each(refs, read)


async def customer_of(api: StripeApi, ref: str) -> dict[str, Any]:
    found = await api.call(lambda: api.client.v1.customers.retrieve_async(ref))
    return found.to_dict()


async def create_account(
    api: StripeApi, clock: Clock, account: NewAccount, key: str
) -> BillingAccountRecord:
    checks.new_account(account)
    keys.check_key(key)
    digest = keys.digest("create_account", asdict(account))
    metadata = {"currency": account.currency, keys.DIGEST: digest}
    if account.tax_id is not None:  # Stripe's typed tax ids need a type per country
        metadata["tax_id"] = account.tax_id
    params: CustomerCreateParams = {
        "name": account.name,
        "email": account.email,
        "metadata": metadata,
    }
    if account.country is not None:
        params["address"] = {"country": account.country}
    if api.settings.test_clocks:
        params["test_clock"] = await test_clocks.clock_for(api, key, clock.now())
    created = await api.call(
        lambda: api.client.v1.customers.create_async(params, options=keys.claim(key))
    )
    if account.payment_method is None:
        return mapping.account(created.to_dict())
    try:
        return await _use_payment_method(api, created.id, account.payment_method, key)
    except ProviderRejected:
        if "test_clock" in params:
            await test_clocks.delete(api, params["test_clock"])
        else:
            await _delete_customer(api, created.id)
        raise


async def _delete_customer(api: StripeApi, ref: str) -> None:
    """Undo a customer (DELETE takes no Idempotency-Key; deleting it again is not found)."""
    with suppress(ProviderNotFound):
        await api.call(lambda: api.client.v1.customers.delete_async(ref))


async def set_payment_method(
    api: StripeApi, account_ref: str, payment_method: str, key: str
) -> BillingAccountRecord:
    checks.payment_method(payment_method)
    keys.check_key(key)
    request = {"account_ref": account_ref, "payment_method": payment_method}
    digest = keys.digest("set_payment_method", request)
    await api.call(
        lambda: api.client.v1.customers.update_async(
            account_ref, {"metadata": {keys.DIGEST: digest}}, options=keys.claim(key)
        )
    )
    return await _use_payment_method(api, account_ref, payment_method, key)


async def attach(api: StripeApi, customer_ref: str, payment_method: str, key: str) -> str:
    """Attach `payment_method` to the customer; the attached PaymentMethod's id. A card
    Stripe refuses is rejected with the card error's code ("card_declined"); a token it does
    not know is "invalid_payment_method"."""
    try:
        attached = await api.call(
            lambda: api.client.v1.payment_methods.attach_async(
                payment_method, {"customer": customer_ref}, options=keys.step(key, "attach")
            )
        )
    except ProviderNotFound as error:
        raise ProviderRejected(PROVIDER, "invalid_payment_method", error.message) from error
    return attached.id


async def _use_payment_method(
    api: StripeApi, customer_ref: str, payment_method: str, key: str
) -> BillingAccountRecord:
    attached = await attach(api, customer_ref, payment_method, key)
    updated = await api.call(
        lambda: api.client.v1.customers.update_async(
            customer_ref,
            {
                "invoice_settings": {"default_payment_method": attached},
                "metadata": {mapping.TOKEN: payment_method, mapping.ATTACHED: attached},
            },
            options=keys.step(key, "default"),
        )
    )
    return mapping.account(updated.to_dict())


def charged_method(customer: Mapping[str, Any], payment_method: str) -> str | None:
    """The customer's default PaymentMethod when `payment_method` names it (its id, or the
    token it was attached from); None when it is another one, to attach first."""
    default_id, token = mapping.payment_method(customer)
    return default_id if default_id and payment_method in (default_id, token) else None
