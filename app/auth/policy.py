"""Who may act on a subscription, as the domain's eligibility rules need to know it."""

from __future__ import annotations

from app.auth.principals import Principal, PrincipalKind
from app.domain.eligibility import Caller

_NOBODY = Caller(may_purchase=False, self_service=False)


def caller_for(principal: Principal, customer_id: int, sold_by_partner_id: int | None) -> Caller:
    if principal.kind is PrincipalKind.ADMIN:
        return Caller(may_purchase=True, self_service=False)
    if principal.kind is PrincipalKind.PARTNER:
        owns = sold_by_partner_id is not None and sold_by_partner_id == principal.partner_id
        return Caller(may_purchase=owns, self_service=False)
    if principal.kind is PrincipalKind.CUSTOMER_USER:
        return Caller(may_purchase=principal.may_purchase_for(customer_id), self_service=True)
    return _NOBODY
