"""A first purchase: a signed-in user who belongs to no customer yet quotes and places a new
subscription for a new customer. Placing it creates, in one unit of work, the customer, the
user's portal user row (if they never signed in before), their OWNER membership, and the
billing account (sold-to and bill-to contacts, billing address, VAT id); the order then runs
as any other, and its charge creates the account at the billing provider through the billing
room (`app.services.billing.accounts.provider_account`, keyed by the account).

The customer remembers its creator and the order's idempotency key (unique together), so a
retry with the same key finds it instead of creating a second one, and replays the order."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principals import Principal, PrincipalKind
from app.db.repositories import orders, people
from app.db.tables import BillingAccount, Customer, Membership, PortalUser
from app.db.tables.customers import MAX_EXTERNAL_ID_LENGTH
from app.db.unit_of_work import unit_of_work
from app.domain.buyers import NewCustomer, checked
from app.domain.enums import CustomerKind, MemberRole, SyncStatus
from app.domain.errors import DomainError, ErrorCode
from app.services import audit, quote_tokens
from app.services.orders.context import OrderDeps
from app.services.orders.errors import NotAllowed, OrderInProgress
from app.services.orders.requests import OrderRequest
from app.services.orders.turns import MIN_RETRY_AFTER

ALREADY_A_CUSTOMER = DomainError(
    ErrorCode.ALREADY_A_CUSTOMER,
    "You already belong to a customer: order for it with `customerId` instead.",
)
DEPLOYMENT_TAKEN = DomainError(ErrorCode.NOT_FOUND, "No such customer, subscription or deployment.")
CREATING = OrderInProgress(
    "Your customer is being created by another request; retry with the same idempotency key.",
    MIN_RETRY_AFTER,
)


@dataclass(frozen=True, slots=True)
class Opened:
    """The order as it goes on: for the created (or found) customer, by its owner."""

    request: OrderRequest
    payload: dict[str, Any]
    principal: Principal


def require_first_purchaser(principal: Principal) -> None:
    """Refuse a first purchase to whoever may not make one (before anything is read)."""
    if principal.kind is not PrincipalKind.CUSTOMER_USER:
        raise NotAllowed  # staff and partners order for existing customers


async def check_quotable(
    session: AsyncSession, principal: Principal, request: OrderRequest
) -> None:
    """What a first purchase's quote checks besides its price: the caller belongs to no
    customer yet, and the deployment is not someone else's."""
    require_first_purchaser(principal)
    if principal.roles:
        raise ALREADY_A_CUSTOMER
    await _deployment_free(session, request)


async def open_customer(
    deps: OrderDeps,
    principal: Principal,
    request: OrderRequest,
    payload: dict[str, Any],
    key: str,
    attributed: audit.Attribution,
) -> Opened:
    """The customer of this first purchase: found by the key (a retry), else created now."""
    require_first_purchaser(principal)
    if len(principal.id) > MAX_EXTERNAL_ID_LENGTH:
        raise DomainError(
            ErrorCode.VALIDATION,
            f"Your user id (the token's `sub`) is longer than {MAX_EXTERNAL_ID_LENGTH} "
            "characters; it cannot own a customer.",
        )
    assert request.new_customer is not None
    new = checked(request.new_customer)
    async with unit_of_work(deps.sessions, write=False) as session:
        found = await people.customer_created_by(session, principal.id, key)
        if found is None:
            if principal.roles:
                raise ALREADY_A_CUSTOMER
            await _deployment_free(session, request)
    if found is not None:  # a retry: the principal's roles, read as it signed in, say the rest
        return _opened(request, payload, principal, found.id or 0)
    quote_tokens.check_fresh(payload, deps.now())
    try:
        async with unit_of_work(deps.sessions) as session:
            customer, user = await _create(session, principal, new, key, deps.now(), attributed)
    except IntegrityError:
        # The same key created it meanwhile (then the retry finds it), or another first
        # purchase of this user created their portal user: retrying answers either way.
        raise CREATING from None
    assert customer.id is not None and user.id is not None
    owner = principal.with_role(customer.id, MemberRole.OWNER, user.id)
    return _opened(request, payload, owner, customer.id)


def _opened(
    request: OrderRequest, payload: dict[str, Any], principal: Principal, customer_id: int
) -> Opened:
    return Opened(
        replace(request, customer_id=customer_id, new_customer=None),
        {**payload, "customer_id": customer_id, "new_customer": None},
        principal,
    )


async def _deployment_free(session: AsyncSession, request: OrderRequest) -> None:
    if request.deployment is None:
        raise DomainError(
            ErrorCode.VALIDATION, "A first purchase starts with `createSubscription`."
        )
    if await orders.deployment_by_external_id(session, request.deployment.external_id):
        raise DEPLOYMENT_TAKEN


async def _create(
    session: AsyncSession,
    principal: Principal,
    new: NewCustomer,
    key: str,
    now: datetime,
    attributed: audit.Attribution,
) -> tuple[Customer, PortalUser]:
    user = await _portal_user(session, principal, new)
    customer = Customer(
        name=new.name,
        email=new.sold_to.email,
        country=new.address.country,
        kind=CustomerKind.DIRECT,
        created_by=principal.id,
        creation_key=key,
        created_at=now,
    )
    session.add(customer)
    await session.flush()
    assert customer.id is not None and user.id is not None
    session.add(Membership(customer_id=customer.id, user_id=user.id, role=MemberRole.OWNER))
    account = _billing_account(customer.id, new)
    session.add(account)
    await session.flush()
    await audit.record(
        session,
        principal,
        "customer.created",
        ("Customer", customer.id),
        after={
            "name": customer.name,
            "country": customer.country,
            "owner": principal.id,
            "billing_account": account.id,
            "currency": account.currency,
            "tax_id": account.tax_id,
        },
        attributed=attributed,
        now=now,
    )
    return customer, user


async def _portal_user(session: AsyncSession, principal: Principal, new: NewCustomer) -> PortalUser:
    """The buyer's portal user: theirs if they have one, else made from the token's `email`
    and `name` claims (or, without them, the sold-to contact's)."""
    if principal.user_id is not None:
        found = await session.get(PortalUser, principal.user_id)
        assert found is not None
        return found
    user = PortalUser(
        external_id=principal.id,
        email=principal.email or new.sold_to.email,
        name=principal.name or new.sold_to.name,
    )
    session.add(user)
    await session.flush()
    return user


def _billing_account(customer_id: int, new: NewCustomer) -> BillingAccount:
    address = new.address
    return BillingAccount(
        customer_id=customer_id,
        name=new.name,
        currency=new.currency,
        sold_to_name=new.sold_to.name,
        sold_to_email=new.sold_to.email,
        bill_to_name=new.bill_to.name,
        bill_to_email=new.bill_to.email,
        tax_id=new.vat_id,
        billing_address_line1=address.line1,
        billing_address_line2=address.line2,
        billing_city=address.city,
        billing_postal_code=address.postal_code,
        billing_region=address.region,
        billing_country=address.country,
        payment_method=new.payment_method,
        sync_status=SyncStatus.PENDING,
    )
