"""Order inputs (one-of actions), quotes, orders, and the orderQuote/orderPlace mutations."""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from app.db import tables
from app.domain import pricing
from app.domain.buyers import ContactDetails, NewCustomer, PostalAddress
from app.domain.errors import DomainError
from app.services.orders.requests import DeploymentRef
from resolvers import customers as resolve_customers
from resolvers import invoices as resolve_invoices
from resolvers import orders as resolve
from resolvers import subscriptions as resolve_subscriptions
from resolvers.ids import to_global_id
from schema import described
from schema.audit import Reason
from schema.common import Money, Node
from schema.customers import Customer
from schema.enums import DeploymentKind, InvoiceLineKind, OrderStatus
from schema.errors import (
    NotFoundError,
    PaymentDeclinedError,
    ProviderError,
    QuoteError,
    RuleViolation,
    ValidationError,
    result_union,
    user_error,
)
from schema.invoices import Invoice
from schema.subscriptions import Subscription
from schema.tax import LineTax


@strawberry.input
class DeploymentInput:
    external_id: str = strawberry.field(description="Namespace id or instance uuid.")
    kind: DeploymentKind = DeploymentKind.SAAS_NAMESPACE
    name: str | None = None


@strawberry.input
class CreateSubscriptionInput:
    plan: str
    seats: int
    deployment: DeploymentInput


@strawberry.input
class AddSeatsInput:
    seats: int


@strawberry.input
class ChangePlanInput:
    plan: str = strawberry.field(description="An upgrade applies now; a downgrade at term end.")


@strawberry.input
class AddAddOnInput:
    add_on: str
    seats: int


@strawberry.input
class BuyPackInput:
    pack: str
    quantity: int = 1


@strawberry.input
class RenewInput:
    seats: int | None = strawberry.field(
        default=None, description="Defaults to max(current seats, billable users)."
    )


@strawberry.input(one_of=True, description="Exactly one action.")
class OrderActionInput:
    create_subscription: CreateSubscriptionInput | None = strawberry.UNSET
    add_seats: AddSeatsInput | None = strawberry.UNSET
    change_plan: ChangePlanInput | None = strawberry.UNSET
    add_add_on: AddAddOnInput | None = strawberry.UNSET
    buy_pack: BuyPackInput | None = strawberry.UNSET
    renew: RenewInput | None = strawberry.UNSET

    def to_action(self) -> pricing.OrderAction:
        if self.create_subscription:
            return pricing.CreateSubscription(
                plan=self.create_subscription.plan, seats=self.create_subscription.seats
            )
        if self.add_seats:
            return pricing.AddSeats(seats=self.add_seats.seats)
        if self.change_plan:
            return pricing.ChangePlan(plan=self.change_plan.plan)
        if self.add_add_on:
            return pricing.AddAddOn(add_on=self.add_add_on.add_on, seats=self.add_add_on.seats)
        if self.buy_pack:
            return pricing.BuyPack(pack=self.buy_pack.pack, quantity=self.buy_pack.quantity)
        assert self.renew is not None
        return pricing.Renew(seats=self.renew.seats)


@strawberry.input
class ContactInput:
    name: str
    email: str


@strawberry.input(description="A postal address; `country` is required (ISO 3166-1 alpha-2).")
class AddressInput:
    country: str
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    postal_code: str | None = None
    region: str | None = strawberry.field(default=None, description="State, province or county.")


@strawberry.input(
    description="A first purchase: the customer to create, with its billing account. For a "
    "signed-in user who belongs to no customer yet; placing the order makes them its owner."
)
class NewCustomerInput:
    name: str = strawberry.field(description="The buying organisation.")
    sold_to: ContactInput = strawberry.field(description="Who buys (the customer's contact).")
    bill_to: ContactInput | None = strawberry.field(
        default=None, description="Who receives the invoices; defaults to `soldTo`."
    )
    billing_address: AddressInput
    vat_id: str | None = strawberry.field(
        default=None,
        description="VAT or tax id; its format must fit the country (VAT_ID_INVALID).",
    )
    currency: str = "USD"
    payment_method_token: str | None = strawberry.field(
        default=None, description="The provider's token for the card to charge."
    )

    def to_new_customer(self) -> NewCustomer:
        address = self.billing_address
        bill_to = self.bill_to or self.sold_to
        return NewCustomer(
            name=self.name,
            sold_to=ContactDetails(self.sold_to.name, self.sold_to.email),
            bill_to=ContactDetails(bill_to.name, bill_to.email),
            address=PostalAddress(
                country=address.country,
                line1=address.line1,
                line2=address.line2,
                city=address.city,
                postal_code=address.postal_code,
                region=address.region,
            ),
            currency=self.currency,
            vat_id=self.vat_id,
            payment_method=self.payment_method_token,
        )


@strawberry.input
class OrderInput:
    customer_id: strawberry.ID | None = strawberry.field(
        default=None, description="For a new subscription."
    )
    new_customer: NewCustomerInput | None = strawberry.field(
        default=None, description="For a first purchase: instead of `customerId`."
    )
    subscription_id: strawberry.ID | None = strawberry.field(
        default=None, description="For a change to an existing one."
    )
    actions: list[OrderActionInput]
    promo_code: str | None = None

    def to_draft(self) -> resolve.OrderDraft:
        created = next((a.create_subscription for a in self.actions if a.create_subscription), None)
        deployment = None
        if created is not None:
            ref = created.deployment
            deployment = DeploymentRef(ref.external_id.strip(), ref.kind, ref.name)
        return resolve.OrderDraft(
            customer_id=self.customer_id,
            subscription_id=self.subscription_id,
            deployment=deployment,
            actions=tuple(action.to_action() for action in self.actions),
            promo_code=self.promo_code,
            new_customer=None if self.new_customer is None else self.new_customer.to_new_customer(),
        )


@strawberry.type
class QuoteLine:
    kind: InvoiceLineKind
    description: str
    product_code: str | None
    quantity: int
    unit_amount: Money
    amount: Money
    period_start: date | None
    period_end: date | None
    tax: LineTax


@strawberry.type(description="A binding price: place it with `orderPlace(quoteToken)`.")
class Quote:
    currency: str
    lines: list[QuoteLine]
    subtotal: Money
    discount: Money
    tax: Money = strawberry.field(description="The sum of the lines' taxes.")
    total: Money = strawberry.field(description="subtotal - discount + tax.")
    token: str
    expires_at: datetime

    @classmethod
    def from_quote(cls, quote: resolve.Quote) -> Quote:
        priced, currency = quote.priced, quote.priced.currency
        return cls(
            currency=currency,
            lines=[
                QuoteLine(
                    kind=line.kind,
                    description=line.description,
                    product_code=line.product_code,
                    quantity=line.quantity,
                    unit_amount=Money.of(line.unit_amount, currency),
                    amount=Money.of(line.amount, currency),
                    period_start=line.period_start,
                    period_end=line.period_end,
                    tax=LineTax.of(
                        line.tax_treatment,
                        line.tax_rate_ppm,
                        line.tax_amount,
                        line.tax_note,
                        currency,
                    ),
                )
                for line in priced.lines
            ],
            subtotal=Money.of(priced.subtotal, currency),
            discount=Money.of(priced.discount, currency),
            tax=Money.of(priced.tax, currency),
            total=Money.of(priced.total, currency),
            token=quote.token,
            expires_at=quote.expires_at,
        )


@strawberry.type(description="One customer intent that changed money or entitlement.")
class Order(Node):
    status: OrderStatus
    total: Money
    created_at: datetime
    _row: strawberry.Private[tables.Order]

    @classmethod
    def from_row(cls, row: tables.Order) -> Order:
        assert row.id is not None
        return cls(
            id=strawberry.ID(to_global_id("Order", row.id)),
            status=row.status,
            total=Money.of(row.total, row.currency),
            created_at=row.created_at,
            _row=row,
        )

    @strawberry.field
    async def invoice(self, info: strawberry.Info) -> Invoice | None:
        found = await resolve_invoices.for_order(info.context, self._row.id or 0)
        return None if found is None else Invoice.from_row(found)

    @described.field(
        description="The customer it was placed for (after a first purchase: "
        "the customer it created)."
    )
    async def customer(self, info: strawberry.Info) -> Customer | None:
        found = await resolve_customers.by_id(info.context, self._row.customer_id)
        return None if found is None else Customer.from_row(found)

    @strawberry.field
    async def subscription(self, info: strawberry.Info) -> Subscription | None:
        if self._row.subscription_id is None:
            return None
        view = await resolve_subscriptions.by_id(info.context, self._row.subscription_id)
        return None if view is None else Subscription.from_view(view)


@strawberry.type
class OrderPlacePayload:
    order: Order


OrderQuoteResult = result_union(
    "OrderQuoteResult", Quote, ValidationError, NotFoundError, RuleViolation, QuoteError
)
OrderPlaceResult = result_union(
    "OrderPlaceResult",
    OrderPlacePayload,
    ValidationError,
    NotFoundError,
    RuleViolation,
    QuoteError,
    PaymentDeclinedError,
    ProviderError,
)


@strawberry.type
class OrderMutations:
    @described.mutation(description="Price a list of actions; changes nothing.")
    async def order_quote(self, info: strawberry.Info, input: OrderInput) -> OrderQuoteResult:  # type: ignore[valid-type]
        try:
            draft = input.to_draft()
        except DomainError as error:
            return user_error(error)
        found = await resolve.quote(info.context, draft)
        return user_error(found) if isinstance(found, DomainError) else Quote.from_quote(found)

    @described.mutation(description="Execute exactly a quote, once per idempotency key.")
    async def order_place(
        self,
        info: strawberry.Info,
        quote_token: str,
        idempotency_key: str,
        reason: Reason = None,
    ) -> OrderPlaceResult:  # type: ignore[valid-type]
        found = await resolve.place(info.context, quote_token, idempotency_key, reason)
        if isinstance(found, DomainError):
            return user_error(found)
        return OrderPlacePayload(order=Order.from_row(found.order))
