"""Staff tools for the licenses of self-managed subscriptions (app/services/licenses.py):
reissue one (a new activation code; the old license and its key revoked) and issue an offline
license file for an air-gapped instance, which it verifies with the public key alone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import uuid4

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.authenticate import read_scope
from app.auth.principals import Principal, PrincipalKind
from app.db.repositories import changes
from app.db.repositories import licenses as repo
from app.db.tables import Deployment, License, Subscription
from app.domain.enums import LIVE_STATUSES, DeploymentKind, MemberRole, NotificationKind
from app.domain.errors import DomainError, ErrorCode
from app.domain.licenses import (
    LicenseClaims,
    new_activation_code,
    offline_file_name,
    offline_file_text,
)
from app.services import audit, licenses, notifications
from app.services.license_keys import LicenseSigner
from app.services.orders.errors import NotAllowed
from app.services.staff.common import NO_SUBSCRIPTION, locked_subscription, staff_attribution

NOT_SELF_MANAGED = DomainError(
    ErrorCode.VALIDATION, "Only self-managed subscriptions have a license; this one is SaaS."
)


@dataclass(frozen=True, slots=True)
class OfflineLicenseFile:
    file_name: str
    content: str
    claims: LicenseClaims
    subscription: Subscription


async def _licensed(session: AsyncSession, subscription: Subscription) -> Deployment:
    deployment = await session.get(Deployment, subscription.deployment_id)
    if deployment is None or deployment.kind is not DeploymentKind.SELF_MANAGED:
        raise NOT_SELF_MANAGED
    if subscription.status not in LIVE_STATUSES:
        raise DomainError(
            ErrorCode.SUBSCRIPTION_NOT_ACTIVE,
            f"Subscription {subscription.number} has ended; it has no license to issue.",
        )
    return deployment


async def reissue(
    session: AsyncSession,
    principal: Principal,
    subscription_id: int,
    reason: str | None,
    *,
    now: datetime,
    request_id: str | None = None,
) -> tuple[Subscription, License]:
    """Revoke the license in force (its activation code no longer activates, its key no
    longer syncs: LICENSE_REVOKED) and add a new one with a fresh activation code, which the
    instance activates as it did the first."""
    attributed = staff_attribution(principal, reason, request_id)
    subscription = await locked_subscription(session, subscription_id)
    await _licensed(session, subscription)
    assert subscription.id is not None
    old = await repo.license_of_subscription(session, subscription.id)
    if old is not None:
        old.revoked_at = now
    new = License(subscription_id=subscription.id, activation_code=new_activation_code())
    session.add(new)
    await session.flush()
    await audit.record(
        session,
        principal,
        "license.reissued",
        ("License", new.id or 0),
        before=None
        if old is None
        else {"license_id": old.id, "instance_id": old.instance_id, "revoked": True},
        after={"license_id": new.id, "subscription": subscription.number},
        attributed=attributed,
        now=now,
    )
    return subscription, new


async def resend(
    session: AsyncSession,
    principal: Principal,
    subscription_id: int,
    reason: str | None,
    *,
    now: datetime,
    request_id: str | None = None,
) -> tuple[Subscription, int]:
    """Send the license's activation code again to the customer's billing contacts (owners
    and billing admins, who may read it): an in-app notification and an e-mail each, sent
    once per request by the worker. Returns the subscription and how many were notified."""
    attributed = staff_attribution(principal, reason, request_id)
    subscription = await locked_subscription(session, subscription_id)
    await _licensed(session, subscription)
    row = await licenses.ensure_license(session, subscription)
    assert row is not None and row.id is not None
    where = f" (activated on instance {row.instance_id})" if row.instance_id else ""
    sent = await notifications.notify(
        session,
        customer_id=subscription.customer_id,
        kind=NotificationKind.LICENSE_SENT,
        title=f"Your license for subscription {subscription.number}",
        body=f"The activation code of subscription {subscription.number}{where} is "
        f"{row.activation_code}. Enter it on the self-managed instance to activate it.",
        dedupe_key=f"license-sent:{row.id}:{request_id or uuid4().hex}",
        now=now,
        subscription_id=subscription.id,
    )
    if sent == 0:
        raise DomainError(
            ErrorCode.VALIDATION,
            "The customer has no owner or billing admin to send the license to.",
        )
    await audit.record(
        session,
        principal,
        "license.resent",
        ("License", row.id),
        after={"subscription": subscription.number, "recipients": sent},
        attributed=attributed,
        now=now,
    )
    return subscription, sent


async def offline_file(
    session: AsyncSession,
    signer: LicenseSigner,
    principal: Principal,
    subscription_id: int,
    reason: str | None,
    *,
    now: datetime,
    request_id: str | None = None,
) -> OfflineLicenseFile:
    """A signed license file for the subscription's own instance (the deployment's instance
    id), granting what the subscription holds now, for staff (with a reason) and the
    customer's owners. Each file issued is audited."""
    attributed = audit.attribution(principal, reason, request_id)
    if principal.kind not in (PrincipalKind.ADMIN, PrincipalKind.CUSTOMER_USER):
        raise NotAllowed
    subscription = await changes.subscription_for_update(
        session, read_scope(principal), subscription_id
    )
    if subscription is None or subscription.id is None:
        raise NO_SUBSCRIPTION
    if (
        principal.kind is PrincipalKind.CUSTOMER_USER
        and principal.role_in(subscription.customer_id) is not MemberRole.OWNER
    ):
        raise NotAllowed
    deployment = await _licensed(session, subscription)
    row = await licenses.ensure_license(session, subscription)
    assert row is not None and row.id is not None
    claims = await licenses.claims_for(
        session, signer, subscription, row.id, deployment.external_id, now=now, offline=True
    )
    content = offline_file_text(claims, signer.sign(claims))
    await audit.record(
        session,
        principal,
        "license.offline_file_issued",
        ("License", row.id),
        after={
            "subscription": subscription.number,
            "instance_id": claims.instance_id,
            "seats": claims.seats,
            "term_end": claims.term_end.isoformat(),
            "key_id": claims.key_id,
        },
        attributed=attributed,
        now=now,
    )
    return OfflineLicenseFile(offline_file_name(claims), content, claims, subscription)
