"""Subscription types: seat figures, add-ons, consumables, license, allowed actions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import strawberry

from app.db import tables
from app.db.pagination import Page
from app.domain.eligibility import Action, ActionVerdicts
from app.domain.history import actor_from
from resolvers import history as resolve_history
from resolvers import prefetch
from resolvers import subscriptions as resolve
from resolvers.access import activation_code_forbidden, may_read_activation_code
from resolvers.drift import drift_forbidden
from resolvers.ids import DEFAULT_PAGE_SIZE, page_request, to_global_id
from resolvers.loaders import now_or_later
from resolvers.subscriptions import SubscriptionView
from schema import lookahead, usage_figures
from schema.catalog import Product
from schema.common import Connection, Money, Node
from schema.customers import BillingAccount, Customer, Deployment, Partner
from schema.drift_findings import DriftFinding
from schema.enums import (
    Channel,
    ConsumableKind,
    ErrorCode,
    ProvisioningStatus,
    ReconciliationMode,
    SubscriptionAction,
    SubscriptionStatus,
    SyncStatus,
)
from schema.history import EventActor, SubscriptionEvent, history_connection

if TYPE_CHECKING:
    from schema.invoices import Invoice

InvoiceRef = Annotated["Invoice", strawberry.lazy("schema.invoices")]
T = TypeVar("T")


@strawberry.type
class ActionRefusal:
    action: SubscriptionAction
    code: ErrorCode
    message: str


@strawberry.type(description="What the caller may do now, and why not when not.")
class SubscriptionActions:
    can_add_seats: bool
    can_upgrade: bool
    can_downgrade: bool
    can_renew: bool
    can_cancel: bool
    can_add_add_ons: bool
    can_buy_packs: bool
    reason: ErrorCode | None
    refusals: list[ActionRefusal]

    @classmethod
    def from_verdicts(cls, verdicts: ActionVerdicts) -> SubscriptionActions:
        return cls(
            can_add_seats=verdicts.allowed(Action.ADD_SEATS),
            can_upgrade=verdicts.allowed(Action.UPGRADE),
            can_downgrade=verdicts.allowed(Action.DOWNGRADE),
            can_renew=verdicts.allowed(Action.RENEW),
            can_cancel=verdicts.allowed(Action.CANCEL),
            can_add_add_ons=verdicts.allowed(Action.ADD_ADD_ONS),
            can_buy_packs=verdicts.allowed(Action.BUY_PACKS),
            reason=verdicts.reason,
            refusals=[
                ActionRefusal(action=action, code=error.code, message=error.message)
                for action, error in verdicts.refusals.items()
            ],
        )


@strawberry.type(description="A downgrade scheduled for the end of the term.")
class PendingChange:
    effective_on: date
    _plan_id: strawberry.Private[int]

    @strawberry.field
    def plan(self, info: strawberry.Info) -> Product:
        return now_or_later(info.context.loaders.product, self._plan_id, Product.from_row)  # type: ignore[return-value]


@strawberry.type(description="A user id holding a seat of an add-on.")
class AddOnAssignment:
    user_id: str = strawberry.field(description="The portal user's external id.")
    assigned_at: datetime
    assigned_by: EventActor = strawberry.field(
        description="Who gave the seat, as a customer may read it: you, a colleague, staff "
        "(never who at staff), or the system when not recorded."
    )

    @classmethod
    def of(cls, viewer: str | None) -> Callable[[Any], AddOnAssignment]:
        def convert(row: Any) -> AddOnAssignment:
            by = row.assigned_by
            colleague = by.partition(":")[2] if by else None
            actor = actor_from(by, colleague, viewer)
            return cls(
                user_id=row.user_id,
                assigned_at=row.assigned_at,
                assigned_by=EventActor(kind=actor.kind, name=actor.name),
            )

        return convert


@strawberry.type(description="A seat add-on (e.g. Duo Pro), co-termed with its subscription.")
class AddOnPurchase(Node):
    quantity: int
    _row: strawberry.Private[tables.AddOnPurchase]

    @classmethod
    def from_row(cls, row: tables.AddOnPurchase) -> AddOnPurchase:
        assert row.id is not None
        return cls(
            id=strawberry.ID(to_global_id("AddOnPurchase", row.id)), quantity=row.quantity, _row=row
        )

    @strawberry.field
    def product(self, info: strawberry.Info) -> Product:
        return now_or_later(info.context.loaders.product, self._row.product_id, Product.from_row)  # type: ignore[return-value]

    @strawberry.field
    def assigned_seats(self, info: strawberry.Info) -> int:
        assert self._row.id is not None
        return now_or_later(info.context.loaders.assignment_count, self._row.id, int)  # type: ignore[return-value]

    @strawberry.field(description="Seats not held by anyone: quantity minus assignedSeats.")
    def available_seats(self, info: strawberry.Info) -> int:
        assert self._row.id is not None
        quantity = self._row.quantity
        return now_or_later(  # type: ignore[return-value]
            info.context.loaders.assignment_count, self._row.id, lambda n: max(0, quantity - n)
        )

    @strawberry.field(description="Who holds the seats, oldest assignment first.")
    def assignments(
        self, info: strawberry.Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[AddOnAssignment]:
        assert self._row.id is not None
        viewer = resolve_history.viewer_actor(info.context)
        return now_or_later(  # type: ignore[return-value]
            info.context.loaders.assignment_pages,
            (self._row.id, page_request(first, after)),
            lambda page: Connection.build(page, page.items, AddOnAssignment.of(viewer)),
        )


@strawberry.type(description="A compute-minutes or storage pack.")
class ConsumablePurchase:
    kind: ConsumableKind
    packs: int
    units: int
    units_used: int
    units_remaining: int
    price: Money
    purchased_on: date
    expires_on: date
    _product_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: tables.ConsumablePurchase) -> ConsumablePurchase:
        return cls(
            kind=row.kind,
            packs=row.packs,
            units=row.units,
            units_used=row.units_used,
            units_remaining=row.units - row.units_used,
            price=Money.of(row.amount, row.currency),
            purchased_on=row.purchased_on,
            expires_on=row.expires_on,
            _product_id=row.product_id,
        )

    @strawberry.field
    def product(self, info: strawberry.Info) -> Product:
        return now_or_later(info.context.loaders.product, self._product_id, Product.from_row)  # type: ignore[return-value]


@strawberry.type(description="The cloud license of a self-managed subscription.")
class License:
    activated: bool
    instance_id: str | None
    activated_at: datetime | None
    billable_users: int | None
    max_historical_users: int | None
    last_synced_at: datetime | None
    _activation_code: strawberry.Private[str | None]  # None: the caller may not read it

    @classmethod
    def from_row(cls, row: tables.License, code_readable: bool) -> License:
        return cls(
            activated=row.activated_at is not None,
            instance_id=row.instance_id,
            activated_at=row.activated_at,
            billable_users=row.billable_users,
            max_historical_users=row.max_historical_users,
            last_synced_at=row.last_synced_at,
            _activation_code=row.activation_code if code_readable else None,
        )

    @strawberry.field(
        description="What activates the instance. Null with a `FORBIDDEN` error unless the "
        "caller is an owner or billing admin of the customer, the partner that sold the "
        "subscription, or staff."
    )
    def activation_code(self) -> str | None:
        if self._activation_code is None:
            raise activation_code_forbidden()
        return self._activation_code


@strawberry.type(
    description="Pushing the entitlement to the product: the status, and the latest push's "
    "tries (`attempts` counts failed tries; `nextAttemptAt` is set while a push is due)."
)
class ProvisioningState:
    status: ProvisioningStatus
    attempts: int
    last_error: str | None
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None

    @classmethod
    def from_state(cls, state: resolve.ProvisioningState) -> ProvisioningState:
        return cls(
            status=state.status,
            attempts=state.attempts,
            last_error=state.last_error,
            last_attempt_at=state.last_attempt_at,
            next_attempt_at=state.next_attempt_at,
        )


@strawberry.type(description="A customer's contract for one plan on one deployment.")
class Subscription(Node):
    number: str
    status: SubscriptionStatus
    channel: Channel
    reconciliation_mode: ReconciliationMode
    currency: str
    seats: int = strawberry.field(description="The paid seats.")
    comp_seats: int = strawberry.field(
        description="Seats staff gave free of charge for this term: never billed, granted to "
        "the deployment beside the paid seats, and counted for seatsOwed and seatsRemaining."
    )
    seats_in_use: int
    max_seats_used: int
    seats_owed: int
    seats_remaining: int
    seat_alert: bool
    term_start: date
    term_end: date
    auto_renew: bool
    cancel_reason: str | None
    grace_extended_until: date | None = strawberry.field(
        description="In grace extended by staff: the first day without service."
    )
    sync_status: SyncStatus
    provisioning_status: ProvisioningStatus
    plan: Product
    _view: strawberry.Private[SubscriptionView]
    seat_usage = strawberry.field(
        resolver=usage_figures.seat_usage,
        description="Billable users the product reported, one figure per day, oldest first.",
    )
    compute_minutes = strawberry.field(
        resolver=usage_figures.compute_minutes,
        description="Compute minutes this month; null unless the subscription is live.",
    )

    @classmethod
    def from_view(cls, view: SubscriptionView) -> Subscription:
        row, figures = view.row, view.figures
        assert row.id is not None
        return cls(
            id=strawberry.ID(to_global_id("Subscription", row.id)),
            number=row.number,
            status=row.status,
            channel=row.channel,
            reconciliation_mode=row.reconciliation_mode,
            currency=row.currency,
            seats=figures.seats,
            comp_seats=row.comp_seats,
            seats_in_use=figures.seats_in_use,
            max_seats_used=figures.max_seats_used,
            seats_owed=figures.seats_owed,
            seats_remaining=figures.seats_remaining,
            seat_alert=figures.alert,
            term_start=row.term_start,
            term_end=row.term_end,
            auto_renew=row.auto_renew,
            cancel_reason=row.cancel_reason,
            grace_extended_until=row.grace_extended_until,
            sync_status=row.sync_status,
            provisioning_status=row.provisioning_status,
            plan=Product.from_row(view.plan),
            _view=view,
        )

    @property
    def _row(self) -> tables.Subscription:
        return self._view.row

    @property
    def _pk(self) -> int:
        assert self._row.id is not None
        return self._row.id

    @strawberry.field
    def pending_change(self) -> PendingChange | None:
        if self._row.pending_plan_id is None:
            return None
        return PendingChange(effective_on=self._row.term_end, _plan_id=self._row.pending_plan_id)

    # The edges below answer at once when resolvers.prefetch filled their loader for the
    # whole list (see schema.lookahead); alone, they load as before (`now_or_later`).

    @strawberry.field
    def customer(self, info: strawberry.Info) -> Customer | None:
        loader = info.context.loaders.customer
        return now_or_later(loader, self._row.customer_id, _maybe(Customer.from_row))  # type: ignore[return-value]

    @strawberry.field
    def deployment(self, info: strawberry.Info) -> Deployment | None:
        loader = info.context.loaders.deployment
        return now_or_later(loader, self._row.deployment_id, _maybe(Deployment.from_row))  # type: ignore[return-value]

    @strawberry.field(description="Null when the caller may not see the paying account.")
    def billing_account(self, info: strawberry.Info) -> BillingAccount | None:
        loader = info.context.loaders.billing_account
        convert = _maybe(BillingAccount.from_row)
        return now_or_later(loader, self._row.billing_account_id, convert)  # type: ignore[return-value]

    @strawberry.field(description="The partner that sold it, if any.")
    def sold_by(self, info: strawberry.Info) -> Partner | None:
        if self._row.partner_id is None:
            return None
        loader = info.context.loaders.partner
        return now_or_later(loader, self._row.partner_id, _maybe(Partner.from_row))  # type: ignore[return-value]

    @strawberry.field
    def add_ons(self, info: strawberry.Info) -> list[AddOnPurchase]:
        loader = info.context.loaders.add_ons_by_subscription
        return now_or_later(loader, self._pk, _each(AddOnPurchase.from_row))  # type: ignore[return-value]

    @strawberry.field
    def consumables(self, info: strawberry.Info) -> list[ConsumablePurchase]:
        loader = info.context.loaders.consumables_by_subscription
        return now_or_later(loader, self._pk, _each(ConsumablePurchase.from_row))  # type: ignore[return-value]

    @strawberry.field
    def license(self, info: strawberry.Info) -> License | None:
        loader = info.context.loaders.licenses_by_subscription
        readable = may_read_activation_code(info.context, self._row)
        return now_or_later(loader, self._pk, lambda rows: _latest_license(rows, readable))  # type: ignore[return-value]

    @strawberry.field(
        description="Staff only (null with a `FORBIDDEN` error for anyone else): where the "
        "billing provider's or the CRM's copy differs, newest first; the open findings "
        "unless `includeResolved`."
    )
    def drift(
        self, info: strawberry.Info, include_resolved: bool = False
    ) -> list[DriftFinding] | None:
        if not info.context.principal.is_admin:
            raise drift_forbidden()
        loader = info.context.loaders.drift_findings_by_subscription

        def convert(rows: list[tables.DriftFinding]) -> list[DriftFinding]:
            shown = [row for row in rows if include_resolved or row.resolved_at is None]
            return [DriftFinding.from_row(row) for row in shown]

        return now_or_later(loader, self._pk, convert)  # type: ignore[return-value]

    @strawberry.field
    def provisioning(self, info: strawberry.Info) -> ProvisioningState:
        row = self._row
        return now_or_later(  # type: ignore[return-value]
            info.context.loaders.provisioning_message,
            self._pk,
            lambda message: ProvisioningState.from_state(resolve.provisioning_state(row, message)),
        )

    @strawberry.field
    def actions(self, info: strawberry.Info) -> SubscriptionActions:
        ctx, view = info.context, self._view
        return now_or_later(  # type: ignore[return-value]
            ctx.loaders.plan_tier_bounds,
            0,
            lambda bounds: SubscriptionActions.from_verdicts(resolve.verdicts(ctx, view, bounds)),
        )

    @strawberry.field(
        description="What happened to it, newest first: orders, renewals, reconciliations, "
        "changes, payments and provisioning pushes."
    )
    async def history(
        self, info: strawberry.Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[SubscriptionEvent]:
        events, has_next = await resolve_history.page(info.context, self._row, first, after)
        viewer = resolve_history.viewer_actor(info.context)
        return history_connection(events, has_next, after is not None, viewer)

    @strawberry.field(description="Newest first.")
    def invoices(
        self, info: strawberry.Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[InvoiceRef]:
        from schema.invoices import Invoice, invoice_connection

        return now_or_later(  # type: ignore[return-value]
            info.context.loaders.invoice_pages_by_subscription,
            (self._pk, page_request(first, after, descending=True)),
            lambda page: Connection.build(page, page.items, Invoice.from_row),
            later=lambda pending: invoice_connection(info, pending),
        )


def _maybe(convert: Callable[[Any], T]) -> Callable[[Any], T | None]:
    return lambda found: None if found is None else convert(found)


def _each(convert: Callable[[Any], T]) -> Callable[[list[Any]], list[T]]:
    return lambda rows: [convert(row) for row in rows]


def _latest_license(rows: list[tables.License], code_readable: bool) -> License | None:
    return License.from_row(rows[-1], code_readable) if rows else None


async def subscription_connection(
    info: strawberry.Info, page: Page[Any], views: list[SubscriptionView]
) -> Any:
    """A page of subscriptions as a connection, with what its items ask for loaded per page."""
    needs = lookahead.subscription_needs(lookahead.list_items(lookahead.current(info)))
    await prefetch.for_subscriptions(info.context, views, needs)
    return Connection.build(page, views, Subscription.from_view)
