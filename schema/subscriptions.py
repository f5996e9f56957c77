"""Subscription types: seat figures, add-ons, consumables, license, allowed actions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import sqlalchemy as sa
import strawberry

from app.db import tables
from app.db.pagination import Page
from app.db.repositories.dunning import Collected
from app.domain.eligibility import Action, ActionVerdicts
from app.domain.history import actor_from
from resolvers import history as resolve_history
from resolvers import money_back as resolve_money_back
from resolvers import subscriptions as resolve
from resolvers.access import activation_code_forbidden, may_read_activation_code
from resolvers.context import RequestContext
from resolvers.drift import drift_forbidden
from resolvers.ids import DEFAULT_PAGE_SIZE, page_request, to_global_id
from resolvers.loaders import PageKey
from resolvers.subscriptions import SubscriptionView
from schema import described, usage_figures
from schema.catalog import Product
from schema.common import Connection, Money, Node
from schema.customers import BillingAccount, Customer, Deployment, Partner
from schema.drift_findings import DriftFinding
from schema.dunning import Dunning
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
from schema.loaded import Arguments, Loads, Ready, prefetch

if TYPE_CHECKING:
    from schema.invoices import Invoice

InvoiceRef = Annotated["Invoice", strawberry.lazy("schema.invoices")]
T = TypeVar("T")
# The columns of an add-on purchase: a table row, or the row a list reads (the same names).
AddOnRow = tables.AddOnPurchase | sa.Row[Any]


def _product(found: tables.Product | None) -> Product:
    if found is None:  # a foreign key: the database keeps the product
        raise LookupError("product referenced but missing")
    return Product.from_row(found)


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


_PENDING_PLAN: Loads[PendingChange, int, tables.Product | None, Product] = Loads(
    lambda loaders: loaders.product,
    key=lambda change, _ctx, _args: change._plan_id,
    convert=lambda _change, _ctx, _args, found: _product(found),
)


@strawberry.type(description="A downgrade scheduled for the end of the term.")
class PendingChange:
    effective_on: date
    _plan_id: strawberry.Private[int]

    @staticmethod
    def of(row: tables.Subscription) -> PendingChange | None:
        if row.pending_plan_id is None:
            return None
        return PendingChange(effective_on=row.term_end, _plan_id=row.pending_plan_id)

    @_PENDING_PLAN.field(Product)
    def plan(self, info: strawberry.Info) -> Ready[Product]:
        return _PENDING_PLAN.resolve(self, info)


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


def _assignments(
    add_on: AddOnPurchase, ctx: RequestContext, args: Arguments, page: Page[Any]
) -> Connection[AddOnAssignment]:
    viewer = resolve_history.viewer_actor(ctx)
    return Connection.build(page, page.items, AddOnAssignment.of(viewer))


_ADD_ON_PRODUCT: Loads[AddOnPurchase, int, tables.Product | None, Product] = Loads(
    lambda loaders: loaders.product,
    key=lambda add_on, _ctx, _args: add_on._row.product_id,
    convert=lambda _add_on, _ctx, _args, found: _product(found),
)
_ASSIGNED: Loads[AddOnPurchase, int, int, int] = Loads(
    lambda loaders: loaders.assignment_count,
    key=lambda add_on, _ctx, _args: add_on._pk,
    convert=lambda _add_on, _ctx, _args, count: count,
)
_AVAILABLE: Loads[AddOnPurchase, int, int, int] = Loads(
    lambda loaders: loaders.assignment_count,
    key=lambda add_on, _ctx, _args: add_on._pk,
    convert=lambda add_on, _ctx, _args, count: max(0, add_on.quantity - count),
)
_ASSIGNMENTS: Loads[AddOnPurchase, PageKey, Page[Any], Connection[AddOnAssignment]] = Loads(
    lambda loaders: loaders.assignment_pages,
    key=lambda add_on, _ctx, args: (add_on._pk, page_request(args["first"], args["after"])),
    convert=_assignments,
)


@strawberry.type(description="A seat add-on (e.g. Duo Pro), co-termed with its subscription.")
class AddOnPurchase(Node):
    quantity: int
    _row: strawberry.Private[AddOnRow]

    @classmethod
    def from_row(cls, row: AddOnRow) -> AddOnPurchase:
        assert row.id is not None
        return cls(
            id=strawberry.ID(to_global_id("AddOnPurchase", row.id)), quantity=row.quantity, _row=row
        )

    @property
    def _pk(self) -> int:
        pk: int | None = self._row.id
        assert pk is not None
        return pk

    @_ADD_ON_PRODUCT.field(Product)
    def product(self, info: strawberry.Info) -> Ready[Product]:
        return _ADD_ON_PRODUCT.resolve(self, info)

    @_ASSIGNED.field(int)
    def assigned_seats(self, info: strawberry.Info) -> Ready[int]:
        return _ASSIGNED.resolve(self, info)

    @_AVAILABLE.field(int, description="Seats not held by anyone: quantity minus assignedSeats.")
    def available_seats(self, info: strawberry.Info) -> Ready[int]:
        return _AVAILABLE.resolve(self, info)

    @_ASSIGNMENTS.field(
        Connection[AddOnAssignment], description="Who holds the seats, oldest assignment first."
    )
    def assignments(
        self, info: strawberry.Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Ready[Connection[AddOnAssignment]]:
        return _ASSIGNMENTS.resolve(self, info, {"first": first, "after": after})


_PACK_PRODUCT: Loads[ConsumablePurchase, int, tables.Product | None, Product] = Loads(
    lambda loaders: loaders.product,
    key=lambda pack, _ctx, _args: pack._product_id,
    convert=lambda _pack, _ctx, _args, found: _product(found),
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

    @_PACK_PRODUCT.field(Product)
    def product(self, info: strawberry.Info) -> Ready[Product]:
        return _PACK_PRODUCT.resolve(self, info)


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

    @described.field(
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


def _maybe(convert: Callable[[Any], T]) -> Callable[[Any], T | None]:
    return lambda found: None if found is None else convert(found)


def _license(
    subscription: Subscription, ctx: RequestContext, _args: Arguments, rows: list[tables.License]
) -> License | None:
    readable = may_read_activation_code(ctx, subscription._row)
    return License.from_row(rows[-1], readable) if rows else None


def _drift(
    _subscription: Subscription,
    _ctx: RequestContext,
    args: Arguments,
    rows: list[tables.DriftFinding],
) -> list[DriftFinding]:
    shown = [row for row in rows if args["include_resolved"] or row.resolved_at is None]
    return [DriftFinding.from_row(row) for row in shown]


def _invoices(
    _subscription: Subscription, _ctx: RequestContext, _args: Arguments, page: Page[tables.Invoice]
) -> Connection[Invoice]:
    from schema.invoices import Invoice

    return Connection.build(page, page.items, Invoice.from_row)


_CUSTOMER: Loads[Subscription, int, tables.Customer | None, Customer | None] = Loads(
    lambda loaders: loaders.customer,
    key=lambda sub, _ctx, _args: sub._row.customer_id,
    convert=lambda _sub, _ctx, _args, found: _maybe(Customer.from_row)(found),
)
_DEPLOYMENT: Loads[Subscription, int, tables.Deployment | None, Deployment | None] = Loads(
    lambda loaders: loaders.deployment,
    key=lambda sub, _ctx, _args: sub._row.deployment_id,
    convert=lambda _sub, _ctx, _args, found: _maybe(Deployment.from_row)(found),
)
_BILLING_ACCOUNT: Loads[Subscription, int, tables.BillingAccount | None, BillingAccount | None] = (
    Loads(
        lambda loaders: loaders.billing_account,
        key=lambda sub, _ctx, _args: sub._row.billing_account_id,
        convert=lambda _sub, _ctx, _args, found: _maybe(BillingAccount.from_row)(found),
    )
)
_SOLD_BY: Loads[Subscription, int, tables.Partner | None, Partner | None] = Loads(
    lambda loaders: loaders.partner,
    key=lambda sub, _ctx, _args: sub._row.partner_id,
    convert=lambda _sub, _ctx, _args, found: _maybe(Partner.from_row)(found),
)
_ADD_ONS: Loads[Subscription, int, list[sa.Row[Any]], list[AddOnPurchase]] = Loads(
    lambda loaders: loaders.add_ons_by_subscription,
    key=lambda sub, _ctx, _args: sub._pk,
    convert=lambda _sub, _ctx, _args, rows: [AddOnPurchase.from_row(row) for row in rows],
)
_CONSUMABLES: Loads[
    Subscription, int, list[tables.ConsumablePurchase], list[ConsumablePurchase]
] = Loads(
    lambda loaders: loaders.consumables_by_subscription,
    key=lambda sub, _ctx, _args: sub._pk,
    convert=lambda _sub, _ctx, _args, rows: [ConsumablePurchase.from_row(row) for row in rows],
)
_LICENSE: Loads[Subscription, int, list[tables.License], License | None] = Loads(
    lambda loaders: loaders.licenses_by_subscription,
    key=lambda sub, _ctx, _args: sub._pk,
    convert=_license,
)
_DRIFT: Loads[Subscription, int, list[tables.DriftFinding], list[DriftFinding]] = Loads(
    lambda loaders: loaders.drift_findings_by_subscription,
    # Staff only: for anyone else the field refuses without reading.
    key=lambda sub, ctx, _args: sub._pk if ctx.principal.is_admin else None,
    convert=_drift,
)
_PROVISIONING: Loads[Subscription, int, tables.OutboxMessage | None, ProvisioningState] = Loads(
    lambda loaders: loaders.provisioning_message,
    key=lambda sub, _ctx, _args: sub._pk,
    convert=lambda sub, _ctx, _args, message: ProvisioningState.from_state(
        resolve.provisioning_state(sub._row, message)
    ),
)
_ACTIONS: Loads[Subscription, int, tuple[int, int], SubscriptionActions] = Loads(
    lambda loaders: loaders.plan_tier_bounds,
    key=lambda _sub, _ctx, _args: 0,
    convert=lambda sub, ctx, _args, bounds: SubscriptionActions.from_verdicts(
        resolve.verdicts(ctx, sub._view, bounds)
    ),
)
_DUNNING: Loads[Subscription, int, Collected, Dunning | None] = Loads(
    lambda loaders: loaders.dunning_by_subscription,
    key=lambda sub, _ctx, _args: sub._pk,
    convert=lambda _sub, ctx, _args, collected: Dunning.maybe(
        resolve_money_back.dunning(ctx, collected)
    ),
)
_INVOICES: Loads[Subscription, PageKey, Page[tables.Invoice], Connection[Invoice]] = Loads(
    lambda loaders: loaders.invoice_pages_by_subscription,
    key=lambda sub, _ctx, args: (
        sub._pk,
        page_request(args["first"], args["after"], descending=True),
    ),
    convert=_invoices,
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
    pending_change: PendingChange | None
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
            pending_change=PendingChange.of(row),
            _view=view,
        )

    @property
    def _row(self) -> tables.Subscription:
        return self._view.row

    @property
    def _pk(self) -> int:
        assert self._row.id is not None
        return self._row.id

    # The edges below answer at once when a list prefetched their loader for all its items
    # (schema.loaded); alone, they load as they are asked for.

    @_CUSTOMER.field(Customer | None)
    def customer(self, info: strawberry.Info) -> Ready[Customer | None]:
        return _CUSTOMER.resolve(self, info)

    @_DEPLOYMENT.field(Deployment | None)
    def deployment(self, info: strawberry.Info) -> Ready[Deployment | None]:
        return _DEPLOYMENT.resolve(self, info)

    @_BILLING_ACCOUNT.field(
        BillingAccount | None, description="Null when the caller may not see the paying account."
    )
    def billing_account(self, info: strawberry.Info) -> Ready[BillingAccount | None]:
        return _BILLING_ACCOUNT.resolve(self, info)

    @_SOLD_BY.field(Partner | None, description="The partner that sold it, if any.")
    def sold_by(self, info: strawberry.Info) -> Ready[Partner | None]:
        if self._row.partner_id is None:
            return None
        return _SOLD_BY.resolve(self, info)

    @_ADD_ONS.field(list[AddOnPurchase])
    def add_ons(self, info: strawberry.Info) -> Ready[list[AddOnPurchase]]:
        return _ADD_ONS.resolve(self, info)

    @_CONSUMABLES.field(list[ConsumablePurchase])
    def consumables(self, info: strawberry.Info) -> Ready[list[ConsumablePurchase]]:
        return _CONSUMABLES.resolve(self, info)

    @_LICENSE.field(License | None)
    def license(self, info: strawberry.Info) -> Ready[License | None]:
        return _LICENSE.resolve(self, info)

    @_DRIFT.field(
        list[DriftFinding] | None,
        description="Staff only (null with a `FORBIDDEN` error for anyone else): where the "
        "billing provider's or the CRM's copy differs, newest first; the open findings "
        "unless `includeResolved`.",
    )
    def drift(
        self, info: strawberry.Info, include_resolved: bool = False
    ) -> Ready[list[DriftFinding]]:
        if not info.context.principal.is_admin:
            raise drift_forbidden()
        return _DRIFT.resolve(self, info, {"include_resolved": include_resolved})

    @_PROVISIONING.field(ProvisioningState)
    def provisioning(self, info: strawberry.Info) -> Ready[ProvisioningState]:
        return _PROVISIONING.resolve(self, info)

    @_ACTIONS.field(SubscriptionActions)
    def actions(self, info: strawberry.Info) -> Ready[SubscriptionActions]:
        return _ACTIONS.resolve(self, info)

    @_DUNNING.field(
        Dunning | None,
        description="Null when nothing is owed late; otherwise the late invoice (a declined "
        "charge or a passed due date), its attempts, next retry and grace end.",
    )
    def dunning(self, info: strawberry.Info) -> Ready[Dunning | None]:
        return _DUNNING.resolve(self, info)

    @described.field(
        description="What happened to it, newest first: orders, renewals, reconciliations, "
        "changes, payments, provisioning pushes and credit notes."
    )
    async def history(
        self, info: strawberry.Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[SubscriptionEvent]:
        events, has_next = await resolve_history.page(info.context, self._row, first, after)
        viewer = resolve_history.viewer_actor(info.context)
        return history_connection(events, has_next, after is not None, viewer)

    @_INVOICES.field(Connection[InvoiceRef], description="Newest first.")
    def invoices(
        self, info: strawberry.Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Ready[Connection[Invoice]]:
        return _INVOICES.resolve(self, info, {"first": first, "after": after})


async def subscription_connection(
    info: strawberry.Info, page: Page[tables.Subscription], views: list[SubscriptionView]
) -> Connection[Subscription]:
    """A page of subscriptions as a connection, with what its items ask for loaded per page."""
    connection = Connection.build(page, views, Subscription.from_view)
    await prefetch(info, connection)
    return connection
