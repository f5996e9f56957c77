"""DataLoaders keep the SQL statement count flat however long the lists are, and the CRM is
called once per list level."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.tables import CrmAccountRecord
from app.domain.enums import TokenKind
from app.runtime import Runtime
from resolvers.ids import to_global_id
from tests.api.conftest import StatementCounter
from tests.support import factories as f
from tests.support.graphql import Api, api_token

QUERY = """query($id: ID!) {
  customer(id: $id) {
    name crmAccount { name }
    billingAccounts { name }
    subscriptions(first: 100) { nodes {
      number seatsOwed seatAlert plan { code }
      billingAccount { name } deployment { externalId } customer { name }
      addOns { quantity assignedSeats product { code } }
      consumables { units } license { activationCode }
      actions { canAddSeats reason }
      invoices(first: 5) { nodes { number total { amount } lines { amount { amount } }
                                   payments { status } } }
    } }
  }
}"""

LIST_QUERY = "{ customers(first: 100) { nodes { name crmAccount { name } } } }"


class CountingCrm:
    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[list[str]] = []

    async def get_accounts(self, refs: Sequence[str]) -> Any:
        self.calls.append(list(refs))
        return await self.inner.get_accounts(refs)


async def _customer_with(db: AsyncSession, subscriptions: int) -> f.Customer:
    customer = await f.customer(db)
    db.add(
        CrmAccountRecord(
            ref=customer.crm_ref or "",
            name=customer.name,
            segment="SMB",
            owner_name="Ada",
            owner_email="ada@vendor.example",
        )
    )
    account = await f.billing_account(db, customer)
    for _ in range(subscriptions):
        sub = await f.subscription(db, customer, account=account)
        await f.add_on(db, sub, quantity=2)
        for _ in range(2):
            await f.invoice(db, sub, amounts=(1_000, 2_000))
    return customer


async def test_statements_do_not_grow_with_the_list(
    db: AsyncSession, api: Api, runtime: Runtime, sql_statements: StatementCounter
) -> None:
    admin = await api_token(db, TokenKind.ADMIN)
    small, large = await _customer_with(db, 5), await _customer_with(db, 50)
    crm = CountingCrm(runtime.providers.crm)
    runtime.providers.crm = crm  # type: ignore[assignment]

    counts = []
    for customer in (small, large):
        sql_statements.reset()
        data = await api.data(
            QUERY, {"id": to_global_id("Customer", customer.id or 0)}, token=admin
        )
        counts.append(sql_statements.count)
        assert data["customer"]["crmAccount"] == {"name": customer.name}
    assert len(data["customer"]["subscriptions"]["nodes"]) == 50

    assert counts[0] == counts[1], sql_statements.statements
    assert crm.calls == [[small.crm_ref], [large.crm_ref]]


async def test_crm_is_called_once_for_a_list(db: AsyncSession, api: Api, runtime: Runtime) -> None:
    admin = await api_token(db, TokenKind.ADMIN)
    customers = [await _customer_with(db, 0) for _ in range(7)]
    crm = CountingCrm(runtime.providers.crm)
    runtime.providers.crm = crm  # type: ignore[assignment]

    data = await api.data(LIST_QUERY, token=admin)

    assert [c["crmAccount"]["name"] for c in data["customers"]["nodes"]] == [
        c.name for c in customers
    ]
    assert len(crm.calls) == 1
    assert sorted(crm.calls[0]) == sorted(c.crm_ref for c in customers)
