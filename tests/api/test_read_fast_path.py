"""The read fast path: lists load what their items ask for in one batch per edge (and answer
exactly what the items answer alone), catalog rows are kept per process, queries read in the
session that authenticated the caller, fields without arguments resolve directly, costs of
repeated documents are remembered, and the first-party dashboard fits the default cost cap."""

from __future__ import annotations

from typing import Any

import httpx
from graphql import parse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import FixedClock
from app.config import Settings
from app.db.catalog_cache import CatalogCache
from app.db.tables import Customer, Payment, PortalUser
from app.domain.enums import MemberRole, PaymentStatus
from app.main import create_app
from app.providers.registry import build_providers
from app.runtime import build_runtime
from bench.queries import DASHBOARD
from schema.build import schema as default_schema
from schema.cost import CostCache, operation_cost
from tests.api.conftest import StatementCounter
from tests.support import factories as f
from tests.support.graphql import Api, user_token

SUBSCRIPTION_FIELDS = """
  number seats seatAlert
  plan { code }
  pendingChange { effectiveOn }
  customer { name } deployment { externalId } billingAccount { name } soldBy { name }
  addOns { quantity assignedSeats product { code name } }
  consumables { units }
  license { activationCode }
  provisioning { status attempts }
  actions { canAddSeats reason }
  recent: invoices(first: 1) { nodes { number } }
  invoices(first: 3) {
    pageInfo { hasNextPage }
    edges { cursor node { number total { amount formatted } } }
    nodes {
      number
      lines { position description amount { amount currency formatted } }
      payments { status amount { formatted } }
      customer { name } billingAccount { name }
    }
  }
"""

LIST = (
    "query($n: Int!) { subscriptions(first: $n) { nodes { ...S } "
    "edges { node { number addOns { quantity } } } } }\n"
    f"fragment S on Subscription {{ {SUBSCRIPTION_FIELDS} }}"
)
ONE = f"query($number: String!) {{ subscription(number: $number) {{ {SUBSCRIPTION_FIELDS} }} }}"


async def _tenant(db: AsyncSession, subscriptions: int) -> tuple[Customer, PortalUser]:
    customer = await f.customer(db)
    owner = await f.user(db, member_of=customer, role=MemberRole.OWNER)
    account = await f.billing_account(db, customer)
    for n in range(subscriptions):
        sub = await f.subscription(db, customer, account=account, seats=10 + n)
        await f.add_on(db, sub, quantity=1 + n)
        for amounts in ((1_000, 2_050), (3_000,)):
            paid = await f.invoice(db, sub, amounts=amounts)
            db.add(
                Payment(
                    invoice_id=paid.id,
                    amount=paid.total,
                    currency="USD",
                    status=PaymentStatus.SUCCEEDED,
                )
            )
    await db.flush()
    return customer, owner


async def test_a_list_answers_what_each_item_answers_alone(
    db: AsyncSession, api: Api, settings: Settings
) -> None:
    _, owner = await _tenant(db, 3)
    token = user_token(settings, owner)

    listed = (await api.data(LIST, {"n": 10}, token))["subscriptions"]
    alone = [
        (await api.data(ONE, {"number": node["number"]}, token))["subscription"]
        for node in listed["nodes"]
    ]

    assert len(listed["nodes"]) == 3
    assert listed["nodes"] == alone
    first = listed["nodes"][0]
    assert first["addOns"] == [
        {"quantity": 1, "assignedSeats": 0, "product": {"code": "duo_pro", "name": "Duo Pro"}}
    ]
    newest = first["invoices"]["nodes"][0]
    assert newest["lines"] == [
        {
            "position": 1,
            "description": "Line 1",
            "amount": {"amount": "3000", "currency": "USD", "formatted": "$30.00"},
        }
    ]
    assert newest["payments"] == [{"status": "SUCCEEDED", "amount": {"formatted": "$30.00"}}]
    assert first["invoices"]["nodes"][1]["lines"][1]["amount"]["formatted"] == "$20.50"
    assert [e["node"]["number"] for e in first["invoices"]["edges"]] == [
        n["number"] for n in first["invoices"]["nodes"]
    ]
    assert first["recent"]["nodes"] == [{"number": newest["number"]}]
    assert [e["node"]["addOns"] for e in listed["edges"]] == [[{"quantity": n}] for n in (1, 2, 3)]


async def test_statements_stay_flat_with_fragments_aliases_and_two_invoice_pages(
    db: AsyncSession, api: Api, settings: Settings, sql_statements: StatementCounter
) -> None:
    counts = []
    for size in (2, 6):
        _, owner = await _tenant(db, size)
        token = user_token(settings, owner)
        sql_statements.reset()
        data = await api.data(LIST, {"n": 50}, token)
        counts.append(sql_statements.count)
        assert len(data["subscriptions"]["nodes"]) == size

    assert counts[0] == counts[1], sql_statements.statements


async def test_a_query_reads_in_the_session_that_authenticated_the_caller(
    db: AsyncSession, api: Api, settings: Settings, sql_statements: StatementCounter
) -> None:
    _, owner = await _tenant(db, 1)
    token = user_token(settings, owner)
    sql_statements.reset()

    await api.data(LIST, {"n": 10}, token)

    # In tests every session is a SAVEPOINT on the test's connection: one for the request.
    opened = [s for s in sql_statements.statements if s.startswith("SAVEPOINT")]
    assert len(opened) == 1, sql_statements.statements
    assert "portal_user" in sql_statements.statements[1]


async def test_catalog_rows_are_kept_for_the_process(
    db: AsyncSession,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    sql_statements: StatementCounter,
) -> None:
    _, owner = await _tenant(db, 2)
    token = user_token(settings, owner)
    cached = settings.model_copy(update={"catalog_cache": True})
    providers = build_providers(cached, session_factory, clock)
    runtime = build_runtime(cached, sessions=session_factory, clock=clock, providers=providers)
    assert isinstance(runtime.catalog, CatalogCache)
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    query = "{ subscriptions(first: 5) { nodes { plan { code } addOns { product { code } } } } }"

    answers, product_reads = [], []
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        for _ in range(2):
            sql_statements.reset()
            response = await client.post(
                "/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"}
            )
            answers.append(response.json()["data"])
            product_reads.append(
                [s for s in sql_statements.statements if "FROM product" in s and "WHERE" in s]
            )

    assert answers[0] == answers[1]
    assert answers[0]["subscriptions"]["nodes"][0] == {
        "plan": {"code": "premium"},
        "addOns": [{"product": {"code": "duo_pro"}}],
    }
    assert len(product_reads[0]) == 2  # the plans, then the add-ons' products
    assert product_reads[1] == []
    assert sorted(row.code for row in runtime.catalog.products.values()) == ["duo_pro", "premium"]


async def test_the_dashboard_fits_the_default_cost_cap(
    db: AsyncSession, api: Api, settings: Settings
) -> None:
    _, owner = await _tenant(db, 2)

    body = await api.query(DASHBOARD, token=user_token(settings, owner))

    assert "errors" not in body, body.get("errors")
    assert len(body["data"]["subscriptions"]["nodes"]) == 2
    # subscriptions 1 + 100 x (nodes 1 + plan 1 + addOns 1 + product 1
    #                          + invoices 1 + 3 x (nodes 1 + total 1 + lines 1 + amount 1))
    assert body["extensions"]["rateLimit"]["cost"] == 1 + 100 * (4 + 1 + 3 * 4) == 1701
    assert settings.max_query_cost == 5000


def test_fields_without_arguments_resolve_directly() -> None:
    fields = default_schema._schema.type_map["Subscription"].fields  # type: ignore[attr-defined]
    money = default_schema._schema.type_map["Money"].fields  # type: ignore[attr-defined]

    assert getattr(fields["number"].resolve, "_direct", False)  # no resolver: getattr
    assert getattr(fields["addOns"].resolve, "_direct", False)  # self + info
    assert getattr(money["formatted"].resolve, "_direct", False)  # self only
    assert not getattr(fields["invoices"].resolve, "_direct", False)  # has arguments


def test_a_repeated_document_is_costed_once() -> None:
    calls: list[object] = []

    def counting(*args: Any) -> int:
        calls.append(args[3])
        return operation_cost(*args)

    costs = CostCache(maxsize=2)
    schema = default_schema._schema
    document = parse("query($n: Int!) { customers(first: $n) { nodes { name } } }")

    found = [costs.cost(schema, document, None, {"n": n}, compute=counting) for n in (5, 5, 7)]

    assert found == [6, 6, 8]
    assert calls == [{"n": 5}, {"n": 7}]
    other = parse("query($n: Int!) { customers(first: $n) { nodes { name } } }")
    assert costs.cost(schema, other, None, {"n": 5}, compute=counting) == 6
    assert len(calls) == 3  # another document object: costed again, never confused


def test_a_cached_cost_keeps_no_copy_of_the_variables() -> None:
    """256 entries keyed by 1 MB variables held 256 MB; each key now holds a 16-byte hash."""
    costs = CostCache(maxsize=4)
    schema = default_schema._schema
    document = parse("query($n: Int!, $t: [String!]) { products(tags: $t) { code } }")

    for n in range(4):
        costs.cost(schema, document, None, {"n": n, "t": ["x" * 1000] * 1000})

    assert len(costs._entries) == 4
    assert all(len(key[2]) == 16 for key in costs._entries)
