"""Partners and customers with their CRM records and billing accounts; users and API tokens."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import SQLModel

from app.auth.tokens import demo_api_token, hash_api_token
from app.config import Settings
from app.db.tables import (
    ApiToken,
    BillingAccount,
    CrmAccountRecord,
    CrmContactRecord,
    Customer,
    LedgerAccount,
    Membership,
    Partner,
    PortalUser,
)
from app.domain.enums import CustomerKind, SyncStatus
from app.services.demo.context import CURRENCY, World
from app.services.demo.rows import ident
from app.services.demo.specs import (
    ApiTokenSpec,
    CustomerSpec,
    PartySpec,
    UserSpec,
    account_ref,
    crm_account_ref,
    crm_contact_ref,
)


async def add_partners(world: World, specs: Sequence[PartySpec], since: datetime) -> None:
    for spec in specs:
        partner = Partner(name=spec.name, crm_ref=crm_account_ref(spec.key), created_at=since)
        world.partners[spec.key] = partner
        world.session.add_all([partner, *_crm_rows(spec)])
    await world.session.flush()
    await _add_billing_accounts(world, specs)


async def add_customers(world: World, specs: Sequence[CustomerSpec], since: datetime) -> None:
    for spec in specs:
        customer = Customer(
            name=spec.name,
            email=spec.contact.email,
            country=spec.country,
            kind=CustomerKind.PARTNER_MANAGED if spec.managed_by else CustomerKind.DIRECT,
            managing_partner_id=world.partner_id(spec.managed_by),
            crm_ref=crm_account_ref(spec.key),
            created_at=since,
        )
        world.customers[spec.key] = customer
        world.session.add_all([customer, *_crm_rows(spec)])
    await world.session.flush()
    await _add_billing_accounts(world, specs)


async def add_users(world: World, specs: Sequence[UserSpec]) -> None:
    users = [
        PortalUser(external_id=spec.external_id, email=spec.person.email, name=spec.person.name)
        for spec in specs
    ]
    world.session.add_all(users)
    await world.session.flush()
    world.session.add_all(
        Membership(customer_id=ident(world.customers[key]), user_id=ident(user), role=role)
        for spec, user in zip(specs, users, strict=True)
        for key, role in spec.roles
    )
    await world.session.flush()


def add_api_tokens(
    world: World, settings: Settings, specs: Sequence[ApiTokenSpec], since: datetime
) -> None:
    world.session.add_all(
        ApiToken(
            kind=spec.kind,
            name=spec.name,
            token_hash=hash_api_token(demo_api_token(settings, spec.label)),
            partner_id=world.partner_id(spec.partner),
            created_at=since,
        )
        for spec in specs
    )


async def _add_billing_accounts(world: World, specs: Sequence[PartySpec]) -> None:
    for spec in specs:
        account = _billing_account(world, spec)
        world.accounts[spec.key] = account
        world.session.add(account)
        if world.ledger:
            world.session.add(_ledger_account(account))
    await world.session.flush()


def _billing_account(world: World, spec: PartySpec) -> BillingAccount:
    partner = world.partners.get(spec.key)
    return BillingAccount(
        customer_id=None if partner else ident(world.customers[spec.key]),
        partner_id=ident(partner) if partner else None,
        name=spec.name,
        currency=CURRENCY,
        sold_to_name=spec.contact.name,
        sold_to_email=spec.contact.email,
        bill_to_name=f"{spec.name} Accounts Payable",
        bill_to_email=spec.billing_email,
        tax_id=spec.tax_id,
        billing_address_line1=spec.address.line1,
        billing_address_line2=spec.address.line2,
        billing_city=spec.address.city,
        billing_postal_code=spec.address.postal_code,
        billing_region=spec.address.region,
        billing_country=spec.address.country,
        payment_method=_card(world, spec),
        provider_ref=world.ref(account_ref(spec.key)),
        sync_status=SyncStatus.SYNCED,
    )


def _card(world: World, spec: PartySpec) -> str:
    """The local provider's token where its ledger is seeded, else one Stripe knows too."""
    return spec.payment_method if world.ledger else spec.any_provider_card or spec.payment_method


def _ledger_account(account: BillingAccount) -> LedgerAccount:
    return LedgerAccount(
        ref=account.provider_ref or "",
        name=account.name,
        currency=account.currency,
        email=account.bill_to_email,
        payment_method=account.payment_method,
    )


def _crm_rows(spec: PartySpec) -> list[SQLModel]:
    account = CrmAccountRecord(
        ref=crm_account_ref(spec.key),
        name=spec.name,
        segment=spec.segment,
        owner_name=spec.account_owner.name,
        owner_email=spec.account_owner.email,
        country=spec.country,
    )
    contact = CrmContactRecord(
        ref=crm_contact_ref(spec.key),
        account_ref=account.ref,
        name=spec.contact.name,
        email=spec.contact.email,
        role="Primary contact",
    )
    return [account, contact]
