"""Tenant isolation on the read API: lists, nested edges, node/nodes, filters, guessed ids."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.domain.enums import Channel, CustomerKind, TokenKind
from resolvers.ids import to_global_id
from tests.support import factories as f
from tests.support.graphql import Api, api_token, error_codes, user_token
from tests.support.snapshots import table_counts


@dataclass
class World:
    owner_a: str
    owner_c: str
    partner_p: str
    admin: str
    sub_a: f.Subscription
    sub_b: f.Subscription
    sub_p: f.Subscription
    sub_q: f.Subscription
    direct_c: f.Subscription
    invoice_a: f.Invoice
    invoice_b: f.Invoice
    customer_b: f.Customer
    customer_c: f.Customer


@pytest.fixture
async def world(db: AsyncSession, settings: Settings) -> World:
    a, b = await f.customer(db, name="Alpha"), await f.customer(db, name="Beta")
    p, q = await f.partner(db, name="P"), await f.partner(db, name="Q")
    c = await f.customer(
        db, name="Gamma", kind=CustomerKind.PARTNER_MANAGED, managing_partner_id=p.id
    )
    d = await f.customer(
        db, name="Delta", kind=CustomerKind.PARTNER_MANAGED, managing_partner_id=q.id
    )
    sub_a, sub_b = await f.subscription(db, a), await f.subscription(db, b)
    sub_p = await f.subscription(
        db, c, account=await f.billing_account(db, p), partner_id=p.id, channel=Channel.PARTNER
    )
    sub_q = await f.subscription(
        db, d, account=await f.billing_account(db, q), partner_id=q.id, channel=Channel.PARTNER
    )
    direct_c = await f.subscription(db, c)
    invoice_a, invoice_b = await f.invoice(db, sub_a), await f.invoice(db, sub_b)
    await f.invoice(db, sub_p)
    await f.invoice(db, sub_q)
    return World(
        owner_a=user_token(settings, await f.user(db, member_of=a)),
        owner_c=user_token(settings, await f.user(db, member_of=c)),
        partner_p=await api_token(db, TokenKind.PARTNER, partner_id=p.id),
        admin=await api_token(db, TokenKind.ADMIN),
        sub_a=sub_a,
        sub_b=sub_b,
        sub_p=sub_p,
        sub_q=sub_q,
        direct_c=direct_c,
        invoice_a=invoice_a,
        invoice_b=invoice_b,
        customer_b=b,
        customer_c=c,
    )


def gid(type_name: str, row: object) -> str:
    return to_global_id(type_name, row.id)  # type: ignore[attr-defined]


async def numbers(api: Api, token: str) -> list[str]:
    data = await api.data("{ subscriptions(first: 100) { nodes { number } } }", token=token)
    return [n["number"] for n in data["subscriptions"]["nodes"]]


ROOT_READS = [
    "{ customers(first: 5) { nodes { name } } }",
    '{ customer(id: "x") { name } }',
    "{ subscriptions(first: 5) { nodes { number } } }",
    '{ subscription(number: "A-S1") { number } }',
    "{ invoices(first: 5) { nodes { number } } }",
    '{ invoice(id: "x") { number } }',
    '{ node(id: "x") { id } }',
    '{ nodes(ids: ["x"]) { id } }',
]


@pytest.mark.parametrize("query", ROOT_READS)
async def test_anonymous_gets_unauthenticated(
    world: World, api: Api, db: AsyncSession, query: str
) -> None:
    before = await table_counts(db)
    body = await api.query(query)
    assert error_codes(body) == ["UNAUTHENTICATED"]
    assert not any((body["data"] or {}).values())
    assert await table_counts(db) == before


async def test_anonymous_viewer_is_null_and_catalog_is_public(api: Api) -> None:
    assert await api.data("{ viewer { name } products { code } }") == {
        "viewer": None,
        "products": [],
    }


async def test_bad_token_is_refused_before_execution(api: Api) -> None:
    response = await api.post("{ viewer { name } }", token="not-a-real-token")
    assert response.status_code == 401
    assert error_codes(response.json()) == ["UNAUTHENTICATED"]


async def test_member_lists_only_own_objects(world: World, api: Api) -> None:
    assert await numbers(api, world.owner_a) == [world.sub_a.number]
    data = await api.data("{ invoices(first: 100) { nodes { number } } }", token=world.owner_a)
    assert data["invoices"]["nodes"] == [{"number": world.invoice_a.number}]


async def test_member_cannot_list_customers(world: World, api: Api, db: AsyncSession) -> None:
    before = await table_counts(db)
    body = await api.query("{ customers(first: 5) { nodes { name } } }", token=world.owner_a)
    assert error_codes(body) == ["FORBIDDEN"]
    assert await table_counts(db) == before


async def test_member_cannot_reach_another_customer_by_id(
    world: World, api: Api, db: AsyncSession
) -> None:
    before = await table_counts(db)
    query = """query($s: ID!, $i: ID!, $c: ID!, $ids: [ID!]!, $n: String!) {
      node(id: $s) { id }
      nodes(ids: $ids) { id }
      subscription(number: $n) { number }
      byId: subscription(id: $s) { number }
      invoice(id: $i) { number }
      customer(id: $c) { name }
    }"""
    own = gid("Subscription", world.sub_a)
    variables = {
        "s": gid("Subscription", world.sub_b),
        "i": gid("Invoice", world.invoice_b),
        "c": gid("Customer", world.customer_b),
        "n": world.sub_b.number,
        "ids": [
            own,
            gid("Subscription", world.sub_b),
            gid("Invoice", world.invoice_b),
            gid("Customer", world.customer_b),
            gid("Deployment", world.sub_b),
        ],
    }

    data = await api.data(query, variables, token=world.owner_a)

    assert data == {
        "node": None,
        "nodes": [{"id": own}, None, None, None, None],
        "subscription": None,
        "byId": None,
        "invoice": None,
        "customer": None,
    }
    assert await table_counts(db) == before


async def test_member_filter_by_foreign_customer_is_empty(world: World, api: Api) -> None:
    query = """query($c: ID!) {
      invoices(first: 10, filter: {customerId: $c}) { nodes { number } }
      subscriptions(first: 10, filter: {customerId: $c}) { nodes { number } } }"""
    data = await api.data(query, {"c": gid("Customer", world.customer_b)}, token=world.owner_a)
    assert data == {"invoices": {"nodes": []}, "subscriptions": {"nodes": []}}


async def test_nested_edge_hides_the_partners_billing_account(world: World, api: Api) -> None:
    query = """{ subscriptions(first: 10) { nodes { number billingAccount { name }
                   soldBy { name } customer { name } } } }"""
    data = await api.data(query, token=world.owner_c)
    by_number = {n["number"]: n for n in data["subscriptions"]["nodes"]}
    assert by_number[world.sub_p.number] == {
        "number": world.sub_p.number,
        "billingAccount": None,
        "soldBy": {"name": "P"},
        "customer": {"name": "Gamma"},
    }
    assert by_number[world.direct_c.number]["billingAccount"] == {"name": "Gamma"}


async def test_partner_sees_only_what_it_sold(world: World, api: Api) -> None:
    assert await numbers(api, world.partner_p) == [world.sub_p.number]
    query = """query($c: ID!, $q: ID!) {
      customers(first: 10) { nodes { name subscriptions(first: 10) { nodes { number } }
                                      invoices(first: 10) { nodes { subscription { number } } } } }
      customer(id: $c) { name }
      node(id: $q) { id }
      invoices(first: 10) { nodes { subscription { number } } } }"""
    variables = {"c": gid("Customer", world.customer_b), "q": gid("Subscription", world.sub_q)}

    data = await api.data(query, variables, token=world.partner_p)

    sold = {"number": world.sub_p.number}
    assert data["customers"]["nodes"] == [
        {
            "name": "Gamma",
            "subscriptions": {"nodes": [sold]},
            "invoices": {"nodes": [{"subscription": sold}]},
        }
    ]
    assert data["customer"] is None and data["node"] is None
    assert data["invoices"]["nodes"] == [{"subscription": sold}]


async def test_admin_sees_everything(world: World, api: Api) -> None:
    expected = {
        s.number for s in (world.sub_a, world.sub_b, world.sub_p, world.sub_q, world.direct_c)
    }
    assert set(await numbers(api, world.admin)) == expected


async def test_malformed_and_unknown_ids_read_as_null(world: World, api: Api) -> None:
    query = """query($ids: [ID!]!) { nodes(ids: $ids) { id } }"""
    ids = ["%%%", "", to_global_id("Subscription", 10**9), to_global_id("Nope", 1)]
    assert await api.data(query, {"ids": ids}, token=world.admin) == {"nodes": [None] * 4}
