"""Cloud licenses (docs/domain.md 8): every self-managed subscription gets an activation code; an
instance activates it for a signed license key, then syncs its usage with that key and gets
the current license back.

Both calls come from the instance itself, without a bearer token: the activation code, then
the license key, is the credential. Each runs inside the caller's write unit of work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principals import Principal, PrincipalKind
from app.db.repositories import licenses as repo
from app.db.tables import License, Subscription
from app.domain.enums import LIVE_STATUSES, DeploymentKind, SubscriptionStatus
from app.domain.errors import DomainError, ErrorCode
from app.domain.licenses import (
    CODE_NOT_FOUND,
    ActivationRequest,
    InvalidLicenseKey,
    LicenseClaims,
    UsageReport,
    add_on_totals,
    new_activation_code,
    synced_peak,
)
from app.domain.seats import max_seats_used_after
from app.services import audit
from app.services.license_keys import LicenseSigner

ACTIVATED_ELSEWHERE = DomainError(
    ErrorCode.VALIDATION, "This activation code is already activated on another instance."
)
INVALID_KEY = DomainError(
    ErrorCode.VALIDATION,
    "Invalid license key: it was not issued by this service, or it was altered.",
)
REVOKED = DomainError(
    ErrorCode.LICENSE_REVOKED,
    "This license was reissued and its key revoked; activate the new activation code.",
)
OFFLINE_KEY = DomainError(
    ErrorCode.VALIDATION, "An offline license file's key is not synced; load it on the instance."
)
NOT_ACTIVE = DomainError(
    ErrorCode.SUBSCRIPTION_NOT_ACTIVE,
    "The subscription of this license has ended; renew it, then sync again.",
)


@dataclass(frozen=True, slots=True)
class IssuedLicense:
    """A license key as issued, its claims, and the license row as it stands now."""

    key: str
    claims: LicenseClaims
    license: License


async def ensure_license(session: AsyncSession, subscription: Subscription) -> License | None:
    """The license of a self-managed subscription, created (with a fresh activation code)
    when it has none; None for any other deployment. Call it with the subscription locked
    (as an order holds it), or it locks the row itself."""
    assert subscription.id is not None
    if await repo.deployment_kind(session, subscription.deployment_id) is not (
        DeploymentKind.SELF_MANAGED
    ):
        return None
    found = await repo.license_of_subscription(session, subscription.id)
    if found is not None:
        return found
    # Serialise creators (FOR UPDATE), then look again: one license per subscription.
    await repo.lock_subscription_row(session, subscription.id)
    found = await repo.license_of_subscription(session, subscription.id)
    if found is not None:
        return found
    created = License(subscription_id=subscription.id, activation_code=new_activation_code())
    session.add(created)
    await session.flush()
    return created


def _instance(instance_id: str, name: str | None = None) -> Principal:
    """The self-managed instance as the actor of its audit rows."""
    return Principal(kind=PrincipalKind.SERVICE, id=f"instance:{instance_id}", name=name or "")


async def activate(
    session: AsyncSession,
    signer: LicenseSigner,
    request: ActivationRequest,
    *,
    now: datetime,
    request_id: str | None = None,
) -> IssuedLicense:
    """Bind the code's license to the instance and issue its key. The same instance again
    gets the current key (the stored one while it still says what the subscription grants);
    another instance is refused."""
    instance_id, instance_name = request.instance_id, request.instance_name
    holder = await repo.holder_by_code(session, request.activation_code)
    if (
        holder is None
        or holder.deployment_kind is not DeploymentKind.SELF_MANAGED
        or holder.subscription.status not in LIVE_STATUSES
        or holder.license.revoked_at is not None  # reissued: the new code replaces it
    ):
        raise CODE_NOT_FOUND
    row = holder.license
    if row.instance_id is not None and row.instance_id != instance_id:
        raise ACTIVATED_ELSEWHERE
    first = row.instance_id is None
    if first:
        row.instance_id, row.activated_at = instance_id, now
    issued = await _issue(session, signer, holder.subscription, row, now=now, reuse=not first)
    if first:
        actor = _instance(instance_id, instance_name)
        await audit.record(
            session,
            actor,
            "license.activated",
            ("License", row.id or 0),
            after={
                "subscription": holder.subscription.number,
                "instance_id": instance_id,
                "instance_name": instance_name,
                "key_id": issued.claims.key_id,
            },
            attributed=audit.attribution(actor, None, request_id),
            now=now,
        )
    return issued


def verified_claims(signer: LicenseSigner, license_key: str) -> LicenseClaims:
    """The claims of a key this service signed; INVALID_KEY for anything else."""
    try:
        return signer.verify(license_key)
    except InvalidLicenseKey as exc:
        raise INVALID_KEY from exc


async def sync(
    session: AsyncSession,
    signer: LicenseSigner,
    *,
    license_key: str,
    report: UsageReport,
    now: datetime,
    today: date,
    request_id: str | None = None,
) -> IssuedLicense:
    """Record the instance's usage (license, the day's seat usage, the subscription's seats in
    use and term maximum, under the subscription's row lock) and issue the current key."""
    claims = verified_claims(signer, license_key)
    if claims.offline:
        raise OFFLINE_KEY
    holder = await repo.lock_holder(session, claims.license_id)
    if (
        holder is None
        or holder.license.instance_id != claims.instance_id
        or holder.subscription.number != claims.subscription_number
        or holder.deployment_kind is not DeploymentKind.SELF_MANAGED
    ):
        raise INVALID_KEY
    subscription, row = holder.subscription, holder.license
    if row.revoked_at is not None:
        raise REVOKED
    if subscription.status not in LIVE_STATUSES:
        raise NOT_ACTIVE
    before = _usage(row, subscription)
    row.billable_users = report.billable_users
    row.max_historical_users = report.max_historical_users
    row.last_synced_at = now
    await repo.upsert_seat_usage(
        session, subscription.deployment_id, today, report.billable_users, now
    )
    subscription.seats_in_use = report.billable_users
    peak = synced_peak(report, claims, subscription.term_start)
    subscription.max_seats_used = max_seats_used_after(subscription.max_seats_used, peak)
    subscription.updated_at = now
    issued = await _issue(session, signer, subscription, row, now=now, reuse=False)
    actor = _instance(claims.instance_id)
    await audit.record(
        session,
        actor,
        "license.synced",
        ("License", row.id or 0),
        before=before,
        after=_usage(row, subscription)
        | {
            "add_on_metrics": [
                {"code": m.code, "assigned_seats": m.assigned_seats} for m in report.add_on_metrics
            ],
            "reported_on": today.isoformat(),
        },
        attributed=audit.attribution(actor, None, request_id),
        now=now,
    )
    return issued


def _usage(row: License, subscription: Subscription) -> dict[str, int | None]:
    return {
        "billable_users": row.billable_users,
        "max_historical_users": row.max_historical_users,
        "seats_in_use": subscription.seats_in_use,
        "max_seats_used": subscription.max_seats_used,
    }


async def current_claims(
    session: AsyncSession,
    signer: LicenseSigner,
    subscription: Subscription,
    row: License,
    *,
    now: datetime,
) -> LicenseClaims:
    """What the license grants right now: plan, seats, term and add-ons of the subscription."""
    assert row.id is not None and row.instance_id is not None
    return await claims_for(session, signer, subscription, row.id, row.instance_id, now=now)


async def claims_for(
    session: AsyncSession,
    signer: LicenseSigner,
    subscription: Subscription,
    license_id: int,
    instance_id: str,
    *,
    now: datetime,
    offline: bool = False,
) -> LicenseClaims:
    """The claims of a key for `instance_id` granting what the subscription holds now (its
    comp seats included)."""
    assert subscription.id is not None
    return LicenseClaims(
        license_id=license_id,
        subscription_number=subscription.number,
        plan_code=await repo.plan_code(session, subscription.plan_id),
        seats=subscription.seats + subscription.comp_seats,
        trial=subscription.status is SubscriptionStatus.TRIAL,
        term_start=subscription.term_start,
        term_end=subscription.term_end,
        add_ons=add_on_totals(await repo.add_on_purchases(session, subscription.id)),
        instance_id=instance_id,
        issued_at=now,
        key_id=signer.key_id,
        offline=offline,
    )


async def _issue(
    session: AsyncSession,
    signer: LicenseSigner,
    subscription: Subscription,
    row: License,
    *,
    now: datetime,
    reuse: bool,
) -> IssuedLicense:
    """A key for the current claims, stored on the license. With `reuse`, the stored key is
    handed back unchanged while it grants exactly that (only its issue time would differ)."""
    claims = await current_claims(session, signer, subscription, row, now=now)
    if reuse and row.license_key:
        try:
            stored = signer.verify(row.license_key)
        except InvalidLicenseKey:  # signed with a retired key: issue a new one
            stored = None
        if stored is not None and stored.entitles_as(claims):
            return IssuedLicense(row.license_key, stored, row)
    row.license_key = signer.sign(claims)
    await session.flush()
    return IssuedLicense(row.license_key, claims, row)
