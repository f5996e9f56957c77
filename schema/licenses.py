"""Cloud licenses for self-managed instances: licenseActivate and licenseSync. Neither needs a
bearer token: the activation code, then the signed license key, is the credential. The key
verifies offline with the public key that `fulfillment license-public-key` prints."""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from app.domain.errors import DomainError
from resolvers import licenses as resolve
from resolvers.licenses import IssuedLicense
from schema import described
from schema.errors import NotFoundError, RuleViolation, ValidationError, result_union, user_error


@strawberry.input(description="Seats of one add-on assigned on the instance.")
class AddOnMetricInput:
    code: str = strawberry.field(description="The add-on's product code, e.g. `duo_pro`.")
    assigned_seats: int


@strawberry.type(description="Seats of one add-on that the license grants.")
class LicenseAddOn:
    code: str
    quantity: int


@strawberry.type(
    description="What a license key grants (exactly its signed claims) and what the instance "
    "last reported."
)
class LicenseInfo:
    subscription_number: str
    plan_code: str
    seats: int
    trial: bool
    term_start: date
    term_end: date
    add_ons: list[LicenseAddOn]
    instance_id: str
    issued_at: datetime
    key_id: str = strawberry.field(description="Fingerprint of the public key that verifies it.")
    activated_at: datetime | None
    billable_users: int | None
    max_historical_users: int | None
    last_synced_at: datetime | None

    @classmethod
    def of(cls, issued: IssuedLicense) -> LicenseInfo:
        claims, row = issued.claims, issued.license
        return cls(
            subscription_number=claims.subscription_number,
            plan_code=claims.plan_code,
            seats=claims.seats,
            trial=claims.trial,
            term_start=claims.term_start,
            term_end=claims.term_end,
            add_ons=[LicenseAddOn(code=c, quantity=q) for c, q in claims.add_ons.items()],
            instance_id=claims.instance_id,
            issued_at=claims.issued_at,
            key_id=claims.key_id,
            activated_at=row.activated_at,
            billable_users=row.billable_users,
            max_historical_users=row.max_historical_users,
            last_synced_at=row.last_synced_at,
        )


@strawberry.type
class LicenseActivatePayload:
    license_key: str = strawberry.field(
        description="`base64url(claims).base64url(Ed25519 signature)`; keep it for licenseSync."
    )
    license: LicenseInfo


@strawberry.type
class LicenseSyncPayload:
    license_key: str = strawberry.field(description="The current license, freshly signed.")
    license: LicenseInfo


LicenseActivateResult = result_union(
    "LicenseActivateResult", LicenseActivatePayload, ValidationError, NotFoundError
)
LicenseSyncResult = result_union(
    "LicenseSyncResult", LicenseSyncPayload, ValidationError, RuleViolation
)


@strawberry.type
class LicenseMutations:
    @described.mutation(
        description="Activate a self-managed instance with its subscription's activation code "
        "(no bearer token needed) and get a signed license key. Activating again from the "
        "same instance returns the current license; another instance is refused."
    )
    async def license_activate(
        self,
        info: strawberry.Info,
        activation_code: str,
        instance_id: str,
        instance_name: str | None = None,
    ) -> LicenseActivateResult:  # type: ignore[valid-type]
        found = await resolve.activate(info.context, activation_code, instance_id, instance_name)
        if isinstance(found, DomainError):
            return user_error(found)
        return LicenseActivatePayload(license_key=found.key, license=LicenseInfo.of(found))

    @described.mutation(
        description="Report the instance's usage, authenticated by its license key (no bearer "
        "token needed), and get the current license back. A day reported twice counts once."
    )
    async def license_sync(
        self,
        info: strawberry.Info,
        license_key: str,
        billable_users: int,
        max_historical_users: int,
        add_on_metrics: list[AddOnMetricInput] | None = None,
    ) -> LicenseSyncResult:  # type: ignore[valid-type]
        metrics = [
            resolve.AddOnMetric(code=m.code, assigned_seats=m.assigned_seats)
            for m in add_on_metrics or ()
        ]
        found = await resolve.sync(
            info.context, license_key, billable_users, max_historical_users, metrics
        )
        if isinstance(found, DomainError):
            return user_error(found)
        return LicenseSyncPayload(license_key=found.key, license=LicenseInfo.of(found))
