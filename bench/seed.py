"""Bench data, built from the app's tables, catalog and numbering: tenants whose owner sees
exactly their own customer. Each subscription has a deployment with a week of seat usage,
add-ons with assignments, and 3 invoices with lines and a payment each."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from app.clock import SystemClock
from app.db.tables import (
    AddOnAssignment,
    AddOnPurchase,
    BillingAccount,
    CrmAccountRecord,
    Customer,
    Deployment,
    Invoice,
    InvoiceLine,
    Membership,
    Payment,
    PortalUser,
    Product,
    SeatUsage,
    Subscription,
)
from app.domain.enums import (
    Channel,
    DeploymentKind,
    InvoiceLineKind,
    InvoiceStatus,
    MemberRole,
    PaymentStatus,
    ReconciliationMode,
    SubscriptionStatus,
    SyncStatus,
)
from app.services.demo.catalog import seed_catalog, usd_prices
from app.services.demo.rows import ident
from app.services.numbering import invoice_number, subscription_number

CURRENCY = "USD"
USAGE_DAYS = 7


@dataclass(frozen=True, slots=True)
class Tenant:
    key: str
    customer_id: int
    owner: str  # the owner's external id (the JWT `sub`)
    subscription_ids: tuple[int, ...]
    subscription_numbers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Seeded:
    tenants: dict[str, Tenant]
    rows: dict[str, int]


async def seed(session: AsyncSession, sizes: dict[str, int]) -> Seeded:
    """One tenant per entry of `sizes` (key -> number of subscriptions). Flushes, never commits."""
    clock = SystemClock()
    products = await seed_catalog(session)
    builder = _Builder(
        session, clock.today(), clock.now(), products, await usd_prices(session, products)
    )
    tenants = {key: await builder.tenant(key, size) for key, size in sizes.items()}
    await session.flush()
    return Seeded(tenants, dict(builder.rows))


class _Builder:
    def __init__(
        self,
        session: AsyncSession,
        today: date,
        now: datetime,
        products: dict[str, Product],
        prices: dict[str, int],
    ) -> None:
        self.session, self.today, self.now = session, today, now
        self.products, self.prices = products, prices
        self.rows: Counter[str] = Counter()

    def add(self, *rows: SQLModel) -> None:
        self.session.add_all(rows)
        self.rows.update(type(row).__name__ for row in rows)

    def at(self, day: date) -> datetime:
        return datetime.combine(day, self.now.timetz())

    async def tenant(self, key: str, size: int) -> Tenant:
        name = f"Bench {key.replace('_', ' ').title()}"
        customer = Customer(
            name=name,
            email=f"billing@{key}.bench.example",
            country="US",
            crm_ref=f"crm_bench_{key}",
        )
        owner = PortalUser(
            external_id=f"bench-{key}-owner",
            email=f"owner@{key}.bench.example",
            name=f"{name} Owner",
        )
        crm = CrmAccountRecord(
            ref=customer.crm_ref or "",
            name=name,
            segment="MID_MARKET",
            owner_name="Dana Whitfield",
            owner_email="dana@vendor.example",
            country="US",
        )
        self.add(customer, owner, crm)
        await self.session.flush()
        account = BillingAccount(
            customer_id=ident(customer),
            name=name,
            currency=CURRENCY,
            sold_to_name=owner.name,
            sold_to_email=owner.email,
            bill_to_name=f"{name} Accounts Payable",
            bill_to_email=customer.email,
            payment_method="pm_card_visa",
            sync_status=SyncStatus.SYNCED,
        )
        self.add(
            account,
            Membership(customer_id=ident(customer), user_id=ident(owner), role=MemberRole.OWNER),
        )
        await self.session.flush()
        subscriptions = await self._subscriptions(key, customer, account, size)
        await self._add_ons(subscriptions)
        await self._invoices(subscriptions)
        return Tenant(
            key=key,
            customer_id=ident(customer),
            owner=owner.external_id,
            subscription_ids=tuple(ident(s) for s in subscriptions),
            subscription_numbers=tuple(s.number for s in subscriptions),
        )

    async def _subscriptions(
        self, key: str, customer: Customer, account: BillingAccount, size: int
    ) -> list[Subscription]:
        deployments = [
            Deployment(
                customer_id=ident(customer),
                kind=DeploymentKind.SAAS_NAMESPACE,
                external_id=f"bench-{key}-{n}",
                name=f"{key}-group-{n}",
            )
            for n in range(size)
        ]
        self.add(*deployments)
        await self.session.flush()
        subscriptions = []
        for n, deployment in enumerate(deployments):
            seats = 10 + 5 * (n % 9)
            in_use = seats - 1 - n % 4
            start = self.today - timedelta(days=30 + 3 * (n % 60))
            subscriptions.append(
                Subscription(
                    number=await subscription_number(self.session),
                    customer_id=ident(customer),
                    deployment_id=ident(deployment),
                    plan_id=ident(self.products["ultimate" if n % 2 else "premium"]),
                    billing_account_id=ident(account),
                    channel=Channel.WEB_DIRECT,
                    reconciliation_mode=ReconciliationMode.QUARTERLY,
                    status=SubscriptionStatus.ACTIVE,
                    currency=CURRENCY,
                    seats=seats,
                    seats_in_use=in_use,
                    max_seats_used=in_use + n % 3,
                    term_start=start,
                    term_end=start + timedelta(days=365),
                    sync_status=SyncStatus.SYNCED,
                    created_at=self.at(start),
                )
            )
            self.add(
                *(
                    SeatUsage(
                        deployment_id=ident(deployment),
                        reported_on=self.today - timedelta(days=d),
                        billable_users=in_use - d % 2,
                        max_billable_users=in_use - d % 2,
                        reported_at=self.at(self.today - timedelta(days=d)),
                    )
                    for d in range(USAGE_DAYS)
                )
            )
        self.add(*subscriptions)
        await self.session.flush()
        return subscriptions

    async def _add_ons(self, subscriptions: list[Subscription]) -> None:
        """Duo Pro on every subscription; Duo Enterprise too on the Ultimate ones."""
        ultimate = ident(self.products["ultimate"])
        purchases: list[tuple[AddOnPurchase, int]] = []
        for sub in subscriptions:
            purchases.append((self._add_on(sub, "duo_pro", 5), 3))
            if sub.plan_id == ultimate:
                purchases.append((self._add_on(sub, "duo_enterprise", 2), 1))
        self.add(*(purchase for purchase, _ in purchases))
        await self.session.flush()
        self.add(
            *(
                AddOnAssignment(
                    add_on_purchase_id=ident(purchase),
                    user_id=f"user-{ident(purchase)}-{n}",
                    assigned_at=purchase.created_at,
                )
                for purchase, assigned in purchases
                for n in range(assigned)
            )
        )

    def _add_on(self, sub: Subscription, code: str, quantity: int) -> AddOnPurchase:
        return AddOnPurchase(
            subscription_id=ident(sub),
            product_id=ident(self.products[code]),
            quantity=quantity,
            created_at=self.at(sub.term_start),
        )

    async def _invoices(self, subscriptions: list[Subscription]) -> None:
        """Initial (plan + Duo Pro, paid), a prorated seat top-up (paid), and a quarterly
        reconciliation (open, its card payment declined)."""
        ultimate = ident(self.products["ultimate"])
        invoices: list[tuple[Invoice, list[tuple[str, str, int, int]], PaymentStatus]] = []
        for sub in subscriptions:
            plan = "ultimate" if sub.plan_id == ultimate else "premium"
            start = sub.term_start
            specs = [
                (
                    start,
                    InvoiceStatus.PAID,
                    PaymentStatus.SUCCEEDED,
                    [
                        (f"{plan.title()}, {sub.seats} seats", plan, sub.seats, 12),
                        ("Duo Pro, 5 seats", "duo_pro", 5, 12),
                    ],
                ),
                (
                    start + timedelta(days=10),
                    InvoiceStatus.PAID,
                    PaymentStatus.SUCCEEDED,
                    [
                        (f"{plan.title()}, 2 seats, prorated to term end", plan, 2, 11),
                    ],
                ),
                (
                    start + timedelta(days=20),
                    InvoiceStatus.OPEN,
                    PaymentStatus.FAILED,
                    [
                        ("Quarterly reconciliation: 1 seat over, 3 quarters left", plan, 1, 9),
                    ],
                ),
            ]
            for issued, status, payment, lines in specs:
                priced = [
                    (text, code, qty, qty * self.prices[code] * months // 12)
                    for text, code, qty, months in lines
                ]
                total = sum(amount for *_, amount in priced)
                invoice = Invoice(
                    number=await invoice_number(self.session),
                    customer_id=sub.customer_id,
                    billing_account_id=sub.billing_account_id,
                    subscription_id=ident(sub),
                    currency=CURRENCY,
                    subtotal=total,
                    total=total,
                    amount_paid=total if status is InvoiceStatus.PAID else 0,
                    status=status,
                    issued_on=issued,
                    due_on=issued + timedelta(days=30),
                    sync_status=SyncStatus.SYNCED,
                    created_at=self.at(issued),
                )
                invoices.append((invoice, priced, payment))
        self.add(*(invoice for invoice, _, _ in invoices))
        await self.session.flush()
        for invoice, priced, payment in invoices:
            self.add(
                *(
                    InvoiceLine(
                        invoice_id=ident(invoice),
                        position=position,
                        kind=InvoiceLineKind.CHARGE,
                        description=text,
                        product_id=ident(self.products[code]),
                        quantity=qty,
                        unit_amount=self.prices[code],
                        amount=amount,
                        period_start=invoice.issued_on,
                        period_end=invoice.issued_on + timedelta(days=365),
                    )
                    for position, (text, code, qty, amount) in enumerate(priced, 1)
                ),
                Payment(
                    invoice_id=ident(invoice),
                    amount=invoice.total,
                    currency=CURRENCY,
                    status=payment,
                    payment_method="pm_card_visa",
                    failure_code="card_declined" if payment is PaymentStatus.FAILED else None,
                    created_at=invoice.created_at,
                ),
            )
        await self.session.flush()
