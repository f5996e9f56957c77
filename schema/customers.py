"""Customer-side types: customers, deployments, billing accounts, partners, CRM accounts."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from app.db import tables
from app.providers.crm import CrmAccount as CrmAccountRecord
from resolvers import customers as resolve
from resolvers import invoices as resolve_invoices
from resolvers import people as resolve_people
from resolvers import subscriptions as resolve_subscriptions
from resolvers.ids import DEFAULT_PAGE_SIZE, to_global_id
from schema import described
from schema.common import Connection, Node
from schema.enums import CustomerKind, DeploymentKind, SyncStatus

if TYPE_CHECKING:
    from schema.invoices import Invoice
    from schema.people import CustomerMember
    from schema.subscriptions import Subscription

SubscriptionRef = Annotated["Subscription", strawberry.lazy("schema.subscriptions")]
InvoiceRef = Annotated["Invoice", strawberry.lazy("schema.invoices")]
CustomerMemberRef = Annotated["CustomerMember", strawberry.lazy("schema.people")]


@strawberry.type(description="A reseller or marketplace.")
class Partner:
    name: str

    @classmethod
    def from_row(cls, row: tables.Partner) -> Partner:
        return cls(name=row.name)


@strawberry.type(description="The relationship as the CRM sees it, joined at read time.")
class CrmAccount:
    ref: str
    name: str
    segment: str
    owner_name: str
    owner_email: str

    @classmethod
    def from_record(cls, record: CrmAccountRecord) -> CrmAccount:
        return cls(
            ref=record.ref,
            name=record.name,
            segment=record.segment,
            owner_name=record.owner_name,
            owner_email=record.owner_email,
        )


@strawberry.type
class Contact:
    name: str
    email: str


@strawberry.type(description="A postal address, as printed on invoices.")
class Address:
    line1: str | None
    line2: str | None
    city: str | None
    postal_code: str | None
    region: str | None = strawberry.field(description="State, province or county.")
    country: str | None = strawberry.field(description="ISO 3166-1 alpha-2.")

    @classmethod
    def billing_of(cls, row: tables.BillingAccount) -> Address:
        return cls(
            line1=row.billing_address_line1,
            line2=row.billing_address_line2,
            city=row.billing_city,
            postal_code=row.billing_postal_code,
            region=row.billing_region,
            country=row.billing_country,
        )


@strawberry.type(description="Who pays: a customer's account, or a partner's for what it sold.")
class BillingAccount(Node):
    name: str
    currency: str
    sold_to: Contact
    bill_to: Contact
    billing_address: Address = strawberry.field(
        description="Where invoices are addressed (read-only here; null parts are not set)."
    )
    tax_id: str | None
    payment_method: str | None
    sync_status: SyncStatus

    @classmethod
    def from_row(cls, row: tables.BillingAccount) -> BillingAccount:
        assert row.id is not None
        return cls(
            id=strawberry.ID(to_global_id("BillingAccount", row.id)),
            name=row.name,
            currency=row.currency,
            sold_to=Contact(name=row.sold_to_name, email=row.sold_to_email),
            bill_to=Contact(name=row.bill_to_name, email=row.bill_to_email),
            billing_address=Address.billing_of(row),
            tax_id=row.tax_id,
            payment_method=row.payment_method,
            sync_status=row.sync_status,
        )


@strawberry.type(description="A SaaS namespace or a self-managed instance.")
class Deployment(Node):
    kind: DeploymentKind
    external_id: str
    name: str
    trial_used: bool

    @classmethod
    def from_row(cls, row: tables.Deployment) -> Deployment:
        assert row.id is not None
        return cls(
            id=strawberry.ID(to_global_id("Deployment", row.id)),
            kind=row.kind,
            external_id=row.external_id,
            name=row.name,
            trial_used=row.trial_started_on is not None,
        )


@strawberry.type(description="The buying organisation.")
class Customer(Node):
    name: str
    email: str
    country: str
    kind: CustomerKind
    created_at: datetime
    _row: strawberry.Private[tables.Customer]

    @classmethod
    def from_row(cls, row: tables.Customer) -> Customer:
        assert row.id is not None
        return cls(
            id=strawberry.ID(to_global_id("Customer", row.id)),
            name=row.name,
            email=row.email,
            country=row.country,
            kind=row.kind,
            created_at=row.created_at,
            _row=row,
        )

    @strawberry.field
    async def managing_partner(self, info: strawberry.Info) -> Partner | None:
        found = await resolve.partner(info.context, self._row.managing_partner_id)
        return None if found is None else Partner.from_row(found)

    @strawberry.field
    async def crm_account(self, info: strawberry.Info) -> CrmAccount | None:
        found = await resolve.crm_account(info.context, self._row.crm_ref)
        return None if found is None else CrmAccount.from_record(found)

    @strawberry.field
    async def billing_accounts(self, info: strawberry.Info) -> list[BillingAccount]:
        rows = await resolve.billing_accounts(info.context, self._pk)
        return [BillingAccount.from_row(row) for row in rows]

    @strawberry.field
    async def deployments(self, info: strawberry.Info) -> list[Deployment]:
        return [
            Deployment.from_row(row) for row in await resolve.deployments(info.context, self._pk)
        ]

    @strawberry.field
    async def subscriptions(
        self, info: strawberry.Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[SubscriptionRef]:
        from schema.subscriptions import subscription_connection

        page, views = await resolve_subscriptions.page_for_customer(
            info.context, self._pk, first, after
        )
        return await subscription_connection(info, page, views)

    @described.field(description="Newest first.")
    async def invoices(
        self, info: strawberry.Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[InvoiceRef]:
        from schema.invoices import invoice_connection

        page = resolve_invoices.page_for(info.context, "customer", self._pk, first, after)
        return await invoice_connection(info, page)

    @described.field(
        description="Its members with their roles, in the order they joined. For the "
        "customer's members and staff; others get FORBIDDEN at this field."
    )
    async def members(self, info: strawberry.Info) -> list[CustomerMemberRef] | None:
        from schema.people import CustomerMember, PortalUser

        return [
            CustomerMember(
                user=PortalUser(external_id=user.external_id, name=user.name, email=user.email),
                role=membership.role,
            )
            for membership, user in await resolve_people.members(info.context, self._pk)
        ]

    @property
    def _pk(self) -> int:
        assert self._row.id is not None
        return self._row.id
