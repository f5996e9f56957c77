"""Gates for root fields: who may call them at all (objects are scoped in SQL)."""

from __future__ import annotations

from app.auth.policy import caller_for
from app.auth.principals import PrincipalKind
from app.db.tables import Subscription
from app.domain.errors import ErrorCode
from resolvers.context import RequestContext
from resolvers.errors import PublicError, forbidden, no_membership, unauthenticated

READERS = frozenset({PrincipalKind.CUSTOMER_USER, PrincipalKind.PARTNER, PrincipalKind.ADMIN})
LISTERS = frozenset({PrincipalKind.PARTNER, PrincipalKind.ADMIN})


def require_reader(ctx: RequestContext) -> None:
    """Customer users, partners and admins read tenant data; the product service does not."""
    if not ctx.principal.is_authenticated:
        raise unauthenticated()
    if ctx.principal.kind not in READERS:
        raise forbidden()


def require_member(ctx: RequestContext) -> None:
    """As `require_reader`, and a customer user must belong to some customer: one who does
    not (a valid token for a user never seen, or removed everywhere) gets
    NO_CUSTOMER_MEMBERSHIP, not a NOT_FOUND that would look like a wrong id."""
    require_reader(ctx)
    if ctx.principal.has_no_membership:
        raise no_membership()


def require_lister(ctx: RequestContext) -> None:
    """Listing customers is for admins and partners (their own); members use `viewer`."""
    require_reader(ctx)
    if ctx.principal.kind not in LISTERS:
        raise forbidden()


def may_read_activation_code(ctx: RequestContext, subscription: Subscription) -> bool:
    """Whoever may buy for a subscription may hand its activation code to an instance: the
    customer's owners and billing admins, the partner that sold it, admins; not viewers."""
    caller = caller_for(ctx.principal, subscription.customer_id, subscription.partner_id)
    return caller.may_purchase


def activation_code_forbidden() -> PublicError:
    return PublicError(
        ErrorCode.FORBIDDEN,
        "Only the customer's owners and billing admins, the partner that sold the subscription "
        "and staff may read its activation code.",
    )
