"""licenseActivate and licenseSync: called by self-managed instances without a bearer token
(the activation code, then the license key, is the credential). Each runs in one write unit
of work; expected refusals come back as values and leave nothing written."""

from __future__ import annotations

from collections.abc import Sequence

from app.db.unit_of_work import unit_of_work
from app.domain.errors import DomainError
from app.domain.licenses import ActivationRequest, AddOnMetric, UsageReport
from app.services import license_keys, licenses
from app.services.licenses import IssuedLicense
from resolvers.context import RequestContext

__all__ = ["AddOnMetric", "IssuedLicense", "activate", "sync"]


async def activate(
    ctx: RequestContext, activation_code: str, instance_id: str, instance_name: str | None
) -> IssuedLicense | DomainError:
    signer = license_keys.signer(ctx.runtime.settings)
    now = ctx.runtime.clock.now()
    try:
        # Checked before any transaction: malformed input takes no write lock.
        request = ActivationRequest.checked(activation_code, instance_id, instance_name)
        async with unit_of_work(ctx.runtime.sessions) as session:
            return await licenses.activate(
                session, signer, request, now=now, request_id=ctx.request_id
            )
    except DomainError as error:
        return error


async def sync(
    ctx: RequestContext,
    license_key: str,
    billable_users: int,
    max_historical_users: int,
    add_on_metrics: Sequence[AddOnMetric],
) -> IssuedLicense | DomainError:
    signer = license_keys.signer(ctx.runtime.settings)
    clock = ctx.runtime.clock
    try:
        # Checked before any transaction: a forged key or a bad report writes nothing.
        licenses.verified_claims(signer, license_key)
        report = UsageReport.checked(billable_users, max_historical_users, add_on_metrics)
        async with unit_of_work(ctx.runtime.sessions) as session:
            return await licenses.sync(
                session,
                signer,
                license_key=license_key,
                report=report,
                now=clock.now(),
                today=clock.today(),
                request_id=ctx.request_id,
            )
    except DomainError as error:
        return error
