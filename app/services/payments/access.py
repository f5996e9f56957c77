"""Who may change how a billing account pays, and charge its invoices: the owners and
billing admins of the customer it belongs to, the partner whose account it is, and admins
(with a reason). Viewers, other principals and the product service may not."""

from __future__ import annotations

from app.auth.principals import Principal, PrincipalKind
from app.db.tables import BillingAccount
from app.domain.errors import DomainError, ErrorCode
from app.services.orders.errors import NotAllowed

PAYERS = frozenset({PrincipalKind.CUSTOMER_USER, PrincipalKind.PARTNER, PrincipalKind.ADMIN})

PAID_BY_PARTNER = DomainError(
    ErrorCode.MANAGED_BY_PARTNER,
    "This invoice is paid by the partner that sold the subscription; contact them.",
)


def require_payer(principal: Principal) -> None:
    if principal.kind not in PAYERS:
        raise NotAllowed


def check_may_pay(principal: Principal, account: BillingAccount, customer_id: int) -> None:
    """For an account the caller can see (or that pays an invoice of `customer_id` the caller
    can see). A customer's owner or billing admin facing the partner's account is told so."""
    if principal.kind is PrincipalKind.ADMIN:
        return
    if principal.kind is PrincipalKind.PARTNER:
        if account.partner_id is None or account.partner_id != principal.partner_id:
            raise NotAllowed
        return
    if principal.kind is not PrincipalKind.CUSTOMER_USER:
        raise NotAllowed
    if not principal.may_purchase_for(customer_id):
        raise NotAllowed
    if account.customer_id != customer_id:
        raise PAID_BY_PARTNER
