"""Changes that are not orders: trialStart, subscriptionSetAutoRenew,
subscriptionCancelPendingChange, addOnSeatAssign and addOnSeatUnassign. Each takes a
`reason`: required of admins, optional for everyone else, kept on the audit row."""

from __future__ import annotations

import strawberry

from app.domain.errors import DomainError
from app.services.orders.requests import DeploymentRef
from resolvers import subscription_changes as resolve
from resolvers.subscriptions import SubscriptionView
from schema import described
from schema.audit import Reason
from schema.errors import NotFoundError, RuleViolation, ValidationError, result_union, user_error
from schema.orders import DeploymentInput
from schema.subscriptions import AddOnPurchase, Subscription


@strawberry.input
class TrialStartInput:
    customer_id: strawberry.ID
    deployment: DeploymentInput = strawberry.field(
        description="An existing deployment of the customer, or a new one to create."
    )


@strawberry.type
class TrialStartPayload:
    subscription: Subscription


@strawberry.type
class SubscriptionSetAutoRenewPayload:
    subscription: Subscription


@strawberry.type
class SubscriptionCancelPendingChangePayload:
    subscription: Subscription


@strawberry.type
class AddOnSeatAssignPayload:
    add_on_purchase: AddOnPurchase
    assigned_user_ids: list[str] = strawberry.field(
        description="Every user id holding a seat now, in the order they were assigned."
    )


@strawberry.type
class AddOnSeatUnassignPayload:
    add_on_purchase: AddOnPurchase
    assigned_user_ids: list[str] = strawberry.field(
        description="Every user id still holding a seat, in the order they were assigned."
    )


TrialStartResult = result_union(
    "TrialStartResult", TrialStartPayload, ValidationError, NotFoundError, RuleViolation
)
SubscriptionSetAutoRenewResult = result_union(
    "SubscriptionSetAutoRenewResult",
    SubscriptionSetAutoRenewPayload,
    ValidationError,
    NotFoundError,
    RuleViolation,
)
SubscriptionCancelPendingChangeResult = result_union(
    "SubscriptionCancelPendingChangeResult",
    SubscriptionCancelPendingChangePayload,
    ValidationError,
    NotFoundError,
    RuleViolation,
)
AddOnSeatAssignResult = result_union(
    "AddOnSeatAssignResult", AddOnSeatAssignPayload, ValidationError, NotFoundError, RuleViolation
)
AddOnSeatUnassignResult = result_union(
    "AddOnSeatUnassignResult",
    AddOnSeatUnassignPayload,
    ValidationError,
    NotFoundError,
    RuleViolation,
)


def _subscription(found: SubscriptionView | DomainError) -> Subscription | DomainError:
    return found if isinstance(found, DomainError) else Subscription.from_view(found)


@strawberry.type
class SubscriptionChangeMutations:
    @described.mutation(
        description="A 30-day trial of the top plan on a deployment that never had one."
    )
    async def trial_start(
        self, info: strawberry.Info, input: TrialStartInput, reason: Reason = None
    ) -> TrialStartResult:  # type: ignore[valid-type]
        ref = input.deployment
        deployment = DeploymentRef(ref.external_id, ref.kind, ref.name)
        found = _subscription(
            await resolve.start_trial(info.context, input.customer_id, deployment, reason)
        )
        if isinstance(found, DomainError):
            return user_error(found)
        return TrialStartPayload(subscription=found)

    @described.mutation(
        description="Cancel (auto-renew off, with a reason of at most 500 characters; service "
        "runs to the term end) or reactivate. Setting the current value changes nothing."
    )
    async def subscription_set_auto_renew(
        self, info: strawberry.Info, id: strawberry.ID, auto_renew: bool, reason: Reason = None
    ) -> SubscriptionSetAutoRenewResult:  # type: ignore[valid-type]
        found = _subscription(await resolve.set_auto_renew(info.context, id, auto_renew, reason))
        if isinstance(found, DomainError):
            return user_error(found)
        return SubscriptionSetAutoRenewPayload(subscription=found)

    @described.mutation(description="Drop a plan change scheduled for the term end.")
    async def subscription_cancel_pending_change(
        self, info: strawberry.Info, id: strawberry.ID, reason: Reason = None
    ) -> SubscriptionCancelPendingChangeResult:  # type: ignore[valid-type]
        found = _subscription(await resolve.cancel_pending_change(info.context, id, reason))
        if isinstance(found, DomainError):
            return user_error(found)
        return SubscriptionCancelPendingChangePayload(subscription=found)

    @described.mutation(
        description="Give add-on seats to user ids: all or none, never beyond the quantity."
    )
    async def add_on_seat_assign(
        self,
        info: strawberry.Info,
        add_on_purchase_id: strawberry.ID,
        user_ids: list[str],
        reason: Reason = None,
    ) -> AddOnSeatAssignResult:  # type: ignore[valid-type]
        found = await resolve.assign_seats(info.context, add_on_purchase_id, user_ids, reason)
        if isinstance(found, DomainError):
            return user_error(found)
        return AddOnSeatAssignPayload(
            add_on_purchase=AddOnPurchase.from_row(found.purchase),
            assigned_user_ids=list(found.assigned_user_ids),
        )

    @described.mutation(description="Free the seats of user ids: all or none, each must hold one.")
    async def add_on_seat_unassign(
        self,
        info: strawberry.Info,
        add_on_purchase_id: strawberry.ID,
        user_ids: list[str],
        reason: Reason = None,
    ) -> AddOnSeatUnassignResult:  # type: ignore[valid-type]
        found = await resolve.unassign_seats(info.context, add_on_purchase_id, user_ids, reason)
        if isinstance(found, DomainError):
            return user_error(found)
        return AddOnSeatUnassignPayload(
            add_on_purchase=AddOnPurchase.from_row(found.purchase),
            assigned_user_ids=list(found.assigned_user_ids),
        )
