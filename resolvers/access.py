"""Gates for root fields: who may call them at all (objects are scoped in SQL)."""

from __future__ import annotations

from app.auth.principals import PrincipalKind
from resolvers.context import RequestContext
from resolvers.errors import forbidden, unauthenticated

READERS = frozenset({PrincipalKind.CUSTOMER_USER, PrincipalKind.PARTNER, PrincipalKind.ADMIN})
LISTERS = frozenset({PrincipalKind.PARTNER, PrincipalKind.ADMIN})


def require_reader(ctx: RequestContext) -> None:
    """Customer users, partners and admins read tenant data; the product service does not."""
    if not ctx.principal.is_authenticated:
        raise unauthenticated()
    if ctx.principal.kind not in READERS:
        raise forbidden()


def require_lister(ctx: RequestContext) -> None:
    """Listing customers is for admins and partners (their own); members use `viewer`."""
    require_reader(ctx)
    if ctx.principal.kind not in LISTERS:
        raise forbidden()
