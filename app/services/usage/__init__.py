"""Usage the product reports: billable users per day (seats.py) and compute minutes
(compute.py). Only the product's service principal reports; each report runs inside the
caller's unit of work and never commits."""

from __future__ import annotations

from app.auth.principals import Principal, PrincipalKind
from app.domain.errors import DomainError, ErrorCode
from app.services.orders.errors import NotAllowed

MAX_DEPLOYMENT_LENGTH = 64  # Deployment.external_id
UNKNOWN_DEPLOYMENT = DomainError(
    ErrorCode.NOT_FOUND, "No deployment with this namespace id or instance uuid."
)


def require_product(principal: Principal) -> None:
    """Usage comes from the product's service credential, from nobody else."""
    if principal.kind is not PrincipalKind.SERVICE:
        raise NotAllowed


def deployment_ref(value: str) -> str:
    """The deployment's external id as given (namespace id or instance uuid), trimmed."""
    cleaned = value.strip()
    if not cleaned:
        raise DomainError(ErrorCode.VALIDATION, "`deployment` must not be blank.")
    if len(cleaned) > MAX_DEPLOYMENT_LENGTH:
        raise UNKNOWN_DEPLOYMENT
    return cleaned
