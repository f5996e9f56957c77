"""Add-on seat assignments (docs/domain.md 5): user ids hold the seats of a purchased add-on,
never more than its quantity, and two concurrent assignments never both take the last seat.

The purchase row is locked (PostgreSQL `FOR UPDATE`; SQLite's write transaction is
already exclusive) before the assignments are counted, so writers to one purchase take
turns and each counts what the previous one committed. Use cases run inside the caller's
unit of work and never commit; the caller's reason (required of admins) is checked first and
lands on the audit row with the request id.

Every change queues one provisioning push (its own idempotency key): the push reads the
holders at send time, so of a burst of changes the last push sends the final holders and
the earlier ones may be superseded."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.authenticate import read_scope
from app.auth.principals import Principal, PrincipalKind
from app.db.repositories import changes
from app.db.tables import AddOnPurchase, Subscription
from app.domain.enums import MemberRole, SubscriptionStatus
from app.domain.errors import DomainError, ErrorCode
from app.services import audit, outbox
from app.services.orders.errors import NotAllowed

MAX_USER_IDS = 100
MAX_USER_ID_LENGTH = 64
ASSIGNABLE_STATUSES = frozenset({SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIAL})
# A portal user's external id: what the product's users are known by here.
USER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+|:-]*")  # `|`, `:`: OIDC subjects
ASSIGNERS = frozenset({PrincipalKind.CUSTOMER_USER, PrincipalKind.ADMIN})


@dataclass(frozen=True, slots=True)
class SeatAssignments:
    purchase: AddOnPurchase
    assigned_user_ids: tuple[str, ...]  # everyone holding a seat now, in assignment order


async def assign_seats(
    session: AsyncSession,
    principal: Principal,
    add_on_purchase_id: int,
    user_ids: Sequence[str],
    *,
    now: datetime,
    reason: str | None = None,
    request_id: str | None = None,
) -> SeatAssignments:
    """All or nothing: ids that already hold a seat are no-ops; an id that is not a member
    of the customer (a portal user with a membership in it: the product reports only counts
    of its billable users, so the customer's people are the ids known here) is
    USER_NOT_A_MEMBER; if the others do not all fit in the purchased quantity,
    NO_SEATS_AVAILABLE. On any refusal nothing is written."""
    attributed = audit.attribution(principal, reason, request_id)
    purchase, subscription = await _locked_purchase(session, principal, add_on_purchase_id)
    wanted = checked_user_ids(user_ids)
    held = await changes.assigned_user_ids(session, add_on_purchase_id)
    taken = set(held)
    new = [user_id for user_id in wanted if user_id not in taken]
    members = await changes.members_among(session, subscription.customer_id, new) if new else set()
    strangers = [user_id for user_id in new if user_id not in members]
    if strangers:
        raise DomainError(
            ErrorCode.USER_NOT_A_MEMBER,
            f"Not members of this customer: {', '.join(strangers[:5])}; nothing was assigned.",
        )
    if len(held) + len(new) > purchase.quantity:
        free = max(0, purchase.quantity - len(held))
        raise DomainError(
            ErrorCode.NO_SEATS_AVAILABLE,
            f"{len(new)} more seat(s) needed but only {free} of {purchase.quantity} "
            "are free; nothing was assigned.",
        )
    if not new:
        return SeatAssignments(purchase, tuple(held))
    await changes.add_assignments(session, add_on_purchase_id, new, now, principal.audit_actor)
    await _queue_push(session, subscription, "add_on.seats_assigned", now)
    await audit.record(
        session,
        principal,
        "add_on.seats_assigned",
        ("AddOnPurchase", add_on_purchase_id),
        before={"assigned": len(held)},
        after={"assigned": len(held) + len(new), "user_ids": new},
        attributed=attributed,
        now=now,
    )
    return SeatAssignments(purchase, (*held, *new))


async def unassign_seats(
    session: AsyncSession,
    principal: Principal,
    add_on_purchase_id: int,
    user_ids: Sequence[str],
    *,
    now: datetime,
    reason: str | None = None,
    request_id: str | None = None,
) -> SeatAssignments:
    """Free the seats of the given user ids, all or nothing: an id without a seat is
    SEAT_NOT_ASSIGNED. Membership is not checked, so a member who left can be unassigned."""
    attributed = audit.attribution(principal, reason, request_id)
    purchase, subscription = await _locked_purchase(session, principal, add_on_purchase_id)
    wanted = checked_user_ids(user_ids)
    held = await changes.assigned_user_ids(session, add_on_purchase_id)
    leaving = set(wanted) & set(held)
    absent = [user_id for user_id in wanted if user_id not in leaving]
    if absent:
        raise DomainError(
            ErrorCode.SEAT_NOT_ASSIGNED,
            f"No seat held by: {', '.join(absent[:5])}; nothing was unassigned.",
        )
    removed = [user_id for user_id in held if user_id in leaving]
    await changes.remove_assignments(session, add_on_purchase_id, removed)
    await _queue_push(session, subscription, "add_on.seats_unassigned", now)
    remaining = tuple(user_id for user_id in held if user_id not in leaving)
    await audit.record(
        session,
        principal,
        "add_on.seats_unassigned",
        ("AddOnPurchase", add_on_purchase_id),
        before={"assigned": len(held)},
        after={"assigned": len(remaining), "user_ids": removed},
        attributed=attributed,
        now=now,
    )
    return SeatAssignments(purchase, remaining)


async def _queue_push(
    session: AsyncSession, subscription: Subscription, reason: str, now: datetime
) -> None:
    """One push per change: the key is fresh, as two changes must never share a message."""
    payload = {
        "subscription_id": subscription.id,
        "deployment_id": subscription.deployment_id,
        "reason": reason,
    }
    key = f"add_on_seats:{subscription.id}:{uuid.uuid4().hex}:provision"
    await outbox.enqueue(session, outbox.PROVISION, payload, key, now=now)


def checked_user_ids(user_ids: Sequence[str]) -> list[str]:
    """1-100 ids (else VALIDATION) of 1-64 letters, digits and `._@+|:-`, starting with a
    letter or digit, surrounding blanks dropped (else USER_ID_INVALID); duplicates once."""
    if not 1 <= len(user_ids) <= MAX_USER_IDS:
        raise DomainError(ErrorCode.VALIDATION, f"Give 1-{MAX_USER_IDS} user ids.")
    cleaned: dict[str, None] = {}
    for raw in user_ids:
        user_id = raw.strip()
        if len(user_id) > MAX_USER_ID_LENGTH or not USER_ID.fullmatch(user_id):
            raise DomainError(
                ErrorCode.USER_ID_INVALID,
                f"Each user id must be 1-{MAX_USER_ID_LENGTH} letters, digits or ._@+|:- "
                "and start with a letter or digit.",
            )
        cleaned[user_id] = None
    return list(cleaned)


async def _locked_purchase(
    session: AsyncSession, principal: Principal, add_on_purchase_id: int
) -> tuple[AddOnPurchase, Subscription]:
    """The purchase (locked) and its subscription, if the principal may assign its seats:
    the customer's owner or an admin."""
    if principal.kind not in ASSIGNERS:
        raise NotAllowed
    found = await changes.add_on_for_update(session, read_scope(principal), add_on_purchase_id)
    if found is None:
        raise DomainError(ErrorCode.NOT_FOUND, "No such add-on purchase.")
    purchase, subscription = found
    if not principal.is_admin and principal.role_in(subscription.customer_id) != MemberRole.OWNER:
        raise NotAllowed
    if subscription.status not in ASSIGNABLE_STATUSES:
        raise DomainError(
            ErrorCode.SUBSCRIPTION_NOT_ACTIVE,
            f"Seats can only be changed while the subscription is active or in trial; "
            f"it is {subscription.status.value.lower()}.",
        )
    return purchase, subscription
