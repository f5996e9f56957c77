"""Tenant scoping as SQL: every read of a tenant-owned table goes through one of these."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

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
                col(Customer.managing_partner_id) == self.partner_id,
                col(Customer.id).in_(self._sold(col(Subscription.customer_id))),
            )
        return self._by_customer(col(Customer.id))

    def subscriptions(self) -> ColumnElement[bool]:
        if self.partner_id is not None:
            return col(Subscription.partner_id) == self.partner_id
        return self._by_customer(col(Subscription.customer_id))

    def invoices(self) -> ColumnElement[bool]:
        if self.partner_id is not None:
            return col(Invoice.subscription_id).in_(self._sold(col(Subscription.id)))
        return self._by_customer(col(Invoice.customer_id))

    def deployments(self) -> ColumnElement[bool]:
        if self.partner_id is not None:
            return col(Deployment.id).in_(self._sold(col(Subscription.deployment_id)))
        return self._by_customer(col(Deployment.customer_id))

    def billing_accounts(self) -> ColumnElement[bool]:
        if self.partner_id is not None:
            return col(BillingAccount.partner_id) == self.partner_id
        return self._by_customer(col(BillingAccount.customer_id))

    def audit_events(self) -> ColumnElement[bool]:
        """The audit log is for staff only: members and partners see none of it."""
        return sa.true() if self.everything else sa.false()

    def _by_customer(self, column: sa.SQLColumnExpression[int | None]) -> ColumnElement[bool]:
        if self.everything:
            return sa.true()
        if not self.customer_ids:
            return sa.false()
        return column.in_(sorted(self.customer_ids))

    def _sold(self, column: sa.SQLColumnExpression[int | None]) -> sa.Select[int | None]:
        """`column` of the subscriptions this scope's partner sold."""
        return sa.select(column).where(col(Subscription.partner_id) == self.partner_id)


NOTHING = ReadScope()
EVERYTHING = ReadScope(everything=True)
