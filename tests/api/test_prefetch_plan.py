"""What a list prefetches is derived from the schema's own types (schema/loaded.py), so it
cannot drift from the fields: these tests fail when a field reads a loader without declaring
it, or when a declared field under a list still loads on its own."""

from __future__ import annotations

import re
import types
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types.base import StrawberryList, StrawberryOptional, get_object_definition
from strawberry.types.field import StrawberryField
from strawberry.types.lazy_type import LazyType

from app.domain.enums import TokenKind
from resolvers.ids import to_global_id
from schema import loaded
from schema.build import schema
from tests.api.conftest import StatementCounter
from tests.support import factories as f
from tests.support.graphql import Api, api_token


def _names_in(code: types.CodeType) -> Iterator[str]:
    yield from code.co_names
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _names_in(const)


def _fields() -> Iterator[tuple[str, StrawberryField]]:
    for definition in loaded.object_definitions(schema):
        for field in definition.fields:
            yield f"{definition.name}.{field.python_name}", field


def test_a_field_that_reads_a_loader_declares_it() -> None:
    """A resolver that reaches for `ctx.loaders` itself is one the prefetch cannot see: it
    must read through a `Loads` (resolvers/ functions an async field calls, e.g. `history`,
    load for one object at a time by design)."""
    undeclared = []
    for name, field in _fields():
        resolver = field.base_resolver
        if resolver is None or loaded.loads_of(field) is not None:
            continue
        function = resolver.wrapped_func
        code = getattr(function, "__code__", None)
        if code is None:
            continue
        if "loaders" in set(_names_in(code)):
            undeclared.append(name)
    assert undeclared == []


def test_the_loading_fields_are_the_known_ones() -> None:
    """The derived plan covers these (a new one joins by being declared, nothing else)."""
    declared = {name for name, field in _fields() if loaded.loads_of(field) is not None}
    assert declared >= {
        "Subscription.customer",
        "Subscription.add_ons",
        "Subscription.invoices",
        "AddOnPurchase.assigned_seats",
        "Invoice.lines",
        "PendingChange.plan",
    }
    # Every one of them is a field of a type a subscription list reaches (the test below).
    assert declared <= _declared_below_subscriptions()


def _type_of(field: StrawberryField) -> Any:
    kind: Any = field.type
    while True:
        if isinstance(kind, StrawberryOptional | StrawberryList):
            kind = kind.of_type
        elif isinstance(kind, LazyType):
            kind = kind.resolve_type()
        else:
            return kind


def _definition(name: str) -> Any:
    for definition in loaded.object_definitions(schema):
        if definition.name == name:
            return definition
    raise LookupError(name)


def _walkable(definition: Any, seen: set[int]) -> Iterator[tuple[str, StrawberryField]]:
    """(type, field) of the fields the prefetch walk follows from `definition`: attributes
    (a connection's `nodes`, `edges`, `node`) and the fields that load."""
    if id(definition) in seen:
        return
    seen.add(id(definition))
    for field in definition.fields:
        if field.base_resolver is not None and loaded.loads_of(field) is None:
            continue
        yield definition.name, field
        target = get_object_definition(_type_of(field))
        if target is not None:
            yield from _walkable(target, seen)


def _declared_below_subscriptions() -> set[str]:
    return {
        f"{type_name}.{field.python_name}"
        for type_name, field in _walkable(_definition("Subscription"), set())
        if loaded.loads_of(field) is not None
    }


# Every field a list prefetches, under a subscription list (a query derived by hand would
# drift; this one names every loading field the schema declares on the way).
QUERY = """query($id: ID!) {
  customer(id: $id) { subscriptions(first: 20) { nodes {
    customer { name } deployment { externalId } billingAccount { name } soldBy { name }
    addOns { quantity product { code } assignedSeats availableSeats
             assignments(first: 3) { nodes { userId } } }
    consumables { units product { code } }
    license { activated } provisioning { status } actions { canAddSeats }
    drift(includeResolved: true) { system }
    pendingChange { plan { code } } dunning { status }
    invoices(first: 5) { nodes { number lines { position } payments { status }
                                 creditNotes { number } amountCredited { amount }
                                 customer { name } billingAccount { name } } }
  } } }
}"""


@pytest.mark.parametrize("count", [3])
async def test_a_list_answers_every_loading_field_at_once(
    db: AsyncSession,
    api: Api,
    sql_statements: StatementCounter,
    monkeypatch: pytest.MonkeyPatch,
    count: int,
) -> None:
    graphql = schema.config.name_converter.get_graphql_name
    for type_name, field in _walkable(_definition("Subscription"), set()):
        if loaded.loads_of(field) is not None:  # the document above selects each of them
            assert re.search(rf"\b{graphql(field)}\b", QUERY), (type_name, field.python_name)

    admin = await api_token(db, TokenKind.ADMIN)
    customer = await f.customer(db)
    account = await f.billing_account(db, customer)
    for _ in range(count):
        sub = await f.subscription(db, customer, account=account)
        await f.add_on(db, sub, quantity=2)
        await f.invoice(db, sub, amounts=(1_000, 2_000))

    late: list[str] = []
    later = loaded.Loads._later

    def counting(self: Any, item: Any, *args: Any) -> Any:
        late.append(type(item).__name__)
        return later(self, item, *args)

    monkeypatch.setattr(loaded.Loads, "_later", counting)
    data = await api.data(QUERY, {"id": to_global_id("Customer", customer.id or 0)}, token=admin)
    nodes = data["customer"]["subscriptions"]["nodes"]
    assert len(nodes) == count
    assert all(len(node["addOns"]) == 1 for node in nodes)
    assert all(node["addOns"][0]["assignedSeats"] == 0 for node in nodes)
    assert all(node["addOns"][0]["availableSeats"] == 2 for node in nodes)
    assert all(len(node["invoices"]["nodes"]) == 1 for node in nodes)
    assert all(len(node["invoices"]["nodes"][0]["lines"]) == 2 for node in nodes)
    assert late == []  # nothing under the list waited for a load of its own
