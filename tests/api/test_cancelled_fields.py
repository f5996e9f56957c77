"""When a field fails, graphql-core cancels its siblings, and strawberry then cancels the
DataLoader batch no field awaits any more. A read cut off half-way closed asyncpg's
connection, and the request ended in an exception out of the app (a 500). Found by the fuzz
test (tests/fuzz/); a started read now runs to its end and the request closes after it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.tables import CrmAccountRecord
from app.domain.enums import MemberRole
from tests.api.conftest import StatementCounter
from tests.support import factories as f
from tests.support.graphql import Api, user_token

# `subscriptions` refuses its cursor while `crmAccount` (a provider batch) is reading.
FAILING_SIBLING = """{
  viewer { memberships { customer {
    crmAccount { name }
    subscriptions(first: 1, after: "not-a-cursor") { nodes { id } }
  } } }
}"""


async def test_a_failing_field_leaves_its_siblings_reads_whole(
    db: AsyncSession, api: Api, settings: Settings, sql_statements: StatementCounter
) -> None:
    acme = await f.customer(db, name="Acme Corp", crm_ref="crm_acme")
    db.add(
        CrmAccountRecord(
            ref="crm_acme",
            name="Acme (CRM)",
            segment="SMB",
            owner_name="Ada",
            owner_email="ada@vendor.example",
        )
    )
    user = await f.user(db, member_of=acme, role=MemberRole.OWNER)
    owner = user_token(settings, user)
    await db.flush()
    sql_statements.reset()

    body = await api.query(FAILING_SIBLING, token=owner)

    assert body["data"] == {"viewer": None}
    [error] = body["errors"]
    assert error["extensions"] == {"code": "VALIDATION"}
    assert error["path"] == ["viewer", "memberships", 0, "customer", "subscriptions"]
    # The CRM read ran to its end, in the session the request lent it, before the request
    # closed that session.
    crm = next(i for i, sql in enumerate(sql_statements.statements) if "FROM crm_account" in sql)
    [after] = sql_statements.statements[crm + 1 :]
    assert after.startswith("ROLLBACK TO SAVEPOINT")
    # The connection is whole: the next request reads.
    assert await api.data("{ viewer { name } }", token=owner) == {"viewer": {"name": user.name}}
