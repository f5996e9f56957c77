"""Tenant scoping as SQL: every read of a tenant-owned table goes through one of these."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from app.db.tables import BillingAccount, Customer, Deployment, Invoice, Subscription


@dataclass(frozen=True, slots=True)
class ReadScope:
    """What a principal may read: everything (staff), some customers (members), or the
    subscriptions one partner sold (and what hangs off them). The default sees nothing."""

    everything: bool = False
    customer_ids: frozenset[int] = frozenset()
    partner_id: int | None = None

    def customers(self) -> ColumnElement[bool]:
        if self.partner_id is not None:
            return sa.or_(
                Customer.managing_partner_id == self.partner_id,  # type: ignore[arg-type]
                Customer.id.in_(self._sold().with_only_columns(Subscription.customer_id)),  # type: ignore[union-attr]
            )
        return self._by_customer(Customer.id)  # type: ignore[arg-type]

    def subscriptions(self) -> ColumnElement[bool]:
        if self.partner_id is not None:
            return Subscription.partner_id == self.partner_id  # type: ignore[return-value]
        return self._by_customer(Subscription.customer_id)  # type: ignore[arg-type]

    def invoices(self) -> ColumnElement[bool]:
        if self.partner_id is not None:
            return Invoice.subscription_id.in_(self._sold().with_only_columns(Subscription.id))  # type: ignore[union-attr]
        return self._by_customer(Invoice.customer_id)  # type: ignore[arg-type]

    def deployments(self) -> ColumnElement[bool]:
        if self.partner_id is not None:
            return Deployment.id.in_(  # type: ignore[union-attr]
                self._sold().with_only_columns(Subscription.deployment_id)
            )
        return self._by_customer(Deployment.customer_id)  # type: ignore[arg-type]

    def billing_accounts(self) -> ColumnElement[bool]:
        if self.partner_id is not None:
            return BillingAccount.partner_id == self.partner_id  # type: ignore[return-value]
        return self._by_customer(BillingAccount.customer_id)  # type: ignore[arg-type]

    def _by_customer(self, column: ColumnElement[int]) -> ColumnElement[bool]:
        if self.everything:
            return sa.true()
        if not self.customer_ids:
            return sa.false()
        return column.in_(sorted(self.customer_ids))

    def _sold(self) -> sa.Select[tuple[Subscription]]:
        return sa.select(Subscription).where(Subscription.partner_id == self.partner_id)  # type: ignore[arg-type]


NOTHING = ReadScope()
EVERYTHING = ReadScope(everything=True)
