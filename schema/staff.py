"""Staff tools (docs/staff-tools.md): comp seats, trial and grace extensions, a moved term
end, a retried provisioning push, a reissued license, an offline license file, and a
read-only view of a customer as its owner sees it. Admins only, each with a reason (audited);
the offline license file also for the customer's owners."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import TypeVar

import strawberry

from app.domain.errors import DomainError
from resolvers import staff as resolve
from resolvers.subscriptions import SubscriptionView
from schema import described
from schema.audit import Reason
from schema.customers import Customer
from schema.drift import RequiredReason
from schema.errors import (
    NotFoundError,
    RuleViolation,
    UserError,
    ValidationError,
    result_union,
    user_error,
)
from schema.subscriptions import License, Subscription

ExtensionKind = strawberry.enum(resolve.ExtensionKind, name="ExtensionKind")


@strawberry.type
class SubscriptionCompSeatsSetPayload:
    subscription: Subscription


@strawberry.type
class SubscriptionExtendPayload:
    subscription: Subscription


@strawberry.type
class SubscriptionTermEndChangePayload:
    subscription: Subscription


@strawberry.type
class SubscriptionProvisioningRetryPayload:
    subscription: Subscription


@strawberry.type
class LicenseReissuePayload:
    subscription: Subscription
    license: License = strawberry.field(description="The new license, with its new code.")


@strawberry.type
class LicenseResendPayload:
    subscription: Subscription
    recipients: int = strawberry.field(
        description="Owners and billing admins notified (in-app and by e-mail)."
    )


@strawberry.type(description="A signed license file for an air-gapped self-managed instance.")
class LicenseOfflineFilePayload:
    file_name: str
    content: str = strawberry.field(
        description="The file's text: a readable header, then the Ed25519-signed key between "
        "BEGIN/END OFFLINE LICENSE lines. The instance verifies it with the public key only."
    )
    seats: int
    term_end: date
    instance_id: str
    key_id: str


@strawberry.type
class CustomerReadOnlyViewStartPayload:
    token: str = strawberry.field(
        description="A bearer token that reads as the customer's owner would, for an hour; "
        "every mutation made with it is refused with READ_ONLY_VIEW."
    )
    expires_at: datetime
    customer: Customer


# VALIDATION (a reason, days, a date), NOT_FOUND, and the rules (SUBSCRIPTION_NOT_ACTIVE,
# EXTENSION_ALREADY_USED, TERM_HELD_BY_PROVIDER, PROVISIONING_NOT_FAILED, ...).
_STAFF_ERRORS = (ValidationError, NotFoundError, RuleViolation)
SubscriptionCompSeatsSetResult = result_union(
    "SubscriptionCompSeatsSetResult", SubscriptionCompSeatsSetPayload, *_STAFF_ERRORS
)
SubscriptionExtendResult = result_union(
    "SubscriptionExtendResult", SubscriptionExtendPayload, *_STAFF_ERRORS
)
SubscriptionTermEndChangeResult = result_union(
    "SubscriptionTermEndChangeResult", SubscriptionTermEndChangePayload, *_STAFF_ERRORS
)
SubscriptionProvisioningRetryResult = result_union(
    "SubscriptionProvisioningRetryResult", SubscriptionProvisioningRetryPayload, *_STAFF_ERRORS
)
LicenseReissueResult = result_union("LicenseReissueResult", LicenseReissuePayload, *_STAFF_ERRORS)
LicenseResendResult = result_union("LicenseResendResult", LicenseResendPayload, *_STAFF_ERRORS)
LicenseOfflineFileCreateResult = result_union(
    "LicenseOfflineFileCreateResult", LicenseOfflineFilePayload, *_STAFF_ERRORS
)
CustomerReadOnlyViewStartResult = result_union(
    "CustomerReadOnlyViewStartResult", CustomerReadOnlyViewStartPayload, *_STAFF_ERRORS
)


P = TypeVar("P")


def _answer(found: SubscriptionView | DomainError, payload: Callable[..., P]) -> P | UserError:
    """The payload with the changed subscription, or the typed refusal."""
    if isinstance(found, DomainError):
        return user_error(found)
    return payload(subscription=Subscription.from_view(found))


@strawberry.type
class StaffMutations:
    @described.mutation(
        description="Staff only: set the seats given free of charge for this term (0 takes "
        "them away; at most the paid seats). Never billed; provisioned and licensed beside "
        "the paid seats (audited)."
    )
    async def subscription_comp_seats_set(
        self, info: strawberry.Info, id: strawberry.ID, comp_seats: int, reason: RequiredReason
    ) -> SubscriptionCompSeatsSetResult:  # type: ignore[valid-type]
        return _answer(
            await resolve.set_comp_seats(info.context, id, comp_seats, reason),
            SubscriptionCompSeatsSetPayload,
        )

    @described.mutation(
        description="Staff only: extend a trial (1-30 days) or a grace period (1-14 days), "
        "once per trial or term (audited)."
    )
    async def subscription_extend(
        self,
        info: strawberry.Info,
        id: strawberry.ID,
        kind: ExtensionKind,  # type: ignore[valid-type]
        days: int,
        reason: RequiredReason,
    ) -> SubscriptionExtendResult:  # type: ignore[valid-type]
        return _answer(
            await resolve.extend(info.context, id, kind, days, reason), SubscriptionExtendPayload
        )

    @described.mutation(
        description="Staff only: move an active subscription's term end (not before today, "
        "after the term start, a term of at most three years); renewal follows it (audited)."
    )
    async def subscription_term_end_change(
        self, info: strawberry.Info, id: strawberry.ID, term_end: date, reason: RequiredReason
    ) -> SubscriptionTermEndChangeResult:  # type: ignore[valid-type]
        return _answer(
            await resolve.change_term_end(info.context, id, term_end, reason),
            SubscriptionTermEndChangePayload,
        )

    @described.mutation(
        description="Staff only: push the deployment's entitlement again after its "
        "provisioning FAILED for good (audited)."
    )
    async def subscription_provisioning_retry(
        self, info: strawberry.Info, id: strawberry.ID, reason: RequiredReason
    ) -> SubscriptionProvisioningRetryResult:  # type: ignore[valid-type]
        return _answer(
            await resolve.retry_provisioning(info.context, id, reason),
            SubscriptionProvisioningRetryPayload,
        )

    @described.mutation(
        description="Staff only: reissue a self-managed subscription's license: a new "
        "activation code; the old code and its license key are revoked (audited)."
    )
    async def license_reissue(
        self, info: strawberry.Info, subscription_id: strawberry.ID, reason: RequiredReason
    ) -> LicenseReissueResult:  # type: ignore[valid-type]
        found = await resolve.reissue_license(info.context, subscription_id, reason)
        if isinstance(found, DomainError):
            return user_error(found)
        view, row = found
        return LicenseReissuePayload(
            subscription=Subscription.from_view(view), license=License.from_row(row, True)
        )

    @described.mutation(
        description="Staff only: send a self-managed subscription's activation code again to "
        "the customer's owners and billing admins (in-app and e-mail; audited)."
    )
    async def license_resend(
        self, info: strawberry.Info, subscription_id: strawberry.ID, reason: RequiredReason
    ) -> LicenseResendResult:  # type: ignore[valid-type]
        found = await resolve.resend_license(info.context, subscription_id, reason)
        if isinstance(found, DomainError):
            return user_error(found)
        view, recipients = found
        return LicenseResendPayload(
            subscription=Subscription.from_view(view), recipients=recipients
        )

    @described.mutation(
        description="Staff and the customer's owners: a signed offline license file for the "
        "subscription's air-gapped instance, granting what it holds now (audited)."
    )
    async def license_offline_file_create(
        self, info: strawberry.Info, subscription_id: strawberry.ID, reason: Reason = None
    ) -> LicenseOfflineFileCreateResult:  # type: ignore[valid-type]
        found = await resolve.offline_license_file(info.context, subscription_id, reason)
        if isinstance(found, DomainError):
            return user_error(found)
        return LicenseOfflineFilePayload(
            file_name=found.file_name,
            content=found.content,
            seats=found.claims.seats,
            term_end=found.claims.term_end,
            instance_id=found.claims.instance_id,
            key_id=found.claims.key_id,
        )

    @described.mutation(
        description="Staff only: a bearer token for a read-only view of the customer as its "
        "owner sees it, for an hour (audited). Mutations with it fail with READ_ONLY_VIEW."
    )
    async def customer_read_only_view_start(
        self, info: strawberry.Info, customer_id: strawberry.ID, reason: RequiredReason
    ) -> CustomerReadOnlyViewStartResult:  # type: ignore[valid-type]
        found = await resolve.start_view(info.context, customer_id, reason)
        if isinstance(found, DomainError):
            return user_error(found)
        return CustomerReadOnlyViewStartPayload(
            token=found.token,
            expires_at=found.expires_at,
            customer=Customer.from_row(found.customer),
        )
