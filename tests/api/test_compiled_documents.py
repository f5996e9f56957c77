"""The compiled path for trusted documents (schema/compiled) answers byte for byte what the
normal path answers: every registered document (documents/ and the ones the trusted
document tests register, plus documents made to reach masked fields, errors, nulls,
fragments, aliases and pages), sent by id as every demo principal, against two apps on the
same data, one with COMPILED_DOCUMENTS off. A document the plan does not handle runs on the
normal path and is counted as a fallback, never guessed at."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import (
    FragmentDefinitionNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    OperationType,
    parse,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import FixedClock
from app.config import Settings
from app.domain.document_ids import document_hash, document_id
from app.main import create_app
from app.observability.metrics import Metrics
from app.providers.registry import build_providers
from app.runtime import build_runtime
from app.services.demo import demo_tokens, seed_demo
from app.services.trusted_documents import DocumentSource, register_documents
from schema.build import build_schema
from schema.compiled.executor import CompiledExecutor
from schema.compiled.plan import Unsupported, compile_operation
from schema.document_files import load_documents

DOCUMENTS = Path(__file__).resolve().parents[2] / "documents"
PRINCIPALS = (
    None,  # anonymous
    "owner",
    "billing_admin",
    "viewer",
    "other_customer_owner",
    "partner_managed_owner",
    "partner",
    "other_partner",
    "admin",
    "service",
)

# The documents tests/api/test_trusted_documents.py registers.
TRUSTED_DOCUMENT_TESTS = {
    "products": "query Products { products { code } }",
    "viewer": "query Viewer { viewer { kind name } }",
    "seats": "query Seats($number: String!) { subscription(number: $number) { number seats } }",
    "cancel": """mutation Cancel($id: ID!, $reason: String) {
  subscriptionSetAutoRenew(id: $id, autoRenew: false, reason: $reason) {
    ... on SubscriptionSetAutoRenewPayload { subscription { autoRenew } }
    ... on UserError { code message } } }""",
}

# Reaching what the access rules mask or refuse, nulls, fragments, aliases and pages.
EXTRA = {
    "access": """query Access($first: Int!, $after: String) {
  subscriptions(first: $first, after: $after) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { number } }
    nodes {
      ...Seats
      first: number
      __typename
      license { activated instanceId activationCode billableUsers lastSyncedAt }
      drift { system field localValue }
      billingAccount { name currency taxId paymentMethod }
      soldBy { name }
      customer { name kind crmAccount { name segment } managingPartner { name } }
      deployment { __typename }
      provisioning { status attempts lastError nextAttemptAt }
      pendingChange { effectiveOn plan { code } }
      cancelReason
      consumables { kind packs units unitsUsed price { amount formatted } product { code } }
      addOns { id quantity availableSeats assignedSeats product { code tier } }
      actions { canAddSeats canDowngrade canCancel reason refusals { action code message } }
      invoices(first: 2) { pageInfo { hasNextPage } nodes { number amountDue { formatted } } }
    }
  }
}
fragment Seats on Subscription {
  seats seatsInUse seatsRemaining seatAlert ... on Subscription { termEnd }
}""",
    "one": """query One($number: String!) {
  a: subscription(number: $number) { number status history(first: 2) { nodes { __typename } } }
  b: subscription(number: "NOPE") { number }
  viewer { kind name partner { name } unreadNotificationCount }
}""",
    "bad_arguments": """query Bad {
  subscription(number: "A-S00000001", id: "x") { number }
  subscriptions(first: 1, after: "bad") { nodes { number } }
  invoices(first: 2, after: "not-a-cursor") { nodes { number } }
  products(tags: ["plan"]) { code prices { currency amount { formatted } } }
}""",
    "customers": """query Customers($first: Int!) {
  customers(first: $first) {
    nodes { name email country subscriptions(first: 1) { nodes { number } } }
  }
  auditEvents(first: 2) { nodes { __typename } }
}""",
    "node": 'query Node { node(id: "U3Vic2NyaXB0aW9uOjE") { id } }',
    "skip": "query Skip($yes: Boolean!) { viewer { kind name @skip(if: $yes) } }",
}

# Variables per document name (the rest run without).
VARIABLES: dict[str, list[dict[str, Any]]] = {
    "dashboard": [{}, {"first": 1}, {"first": 100}],
    "invoices": [{}, {"first": 1}, {"first": 2, "after": None}],
    "products": [{}, {"tags": ["plan"]}, {"tags": None}],
    "subscription": [{"number": "A-S00000001"}, {"number": "A-S00000003"}, {"number": "nope"}],
    "seats": [{"number": "A-S00000002"}],
    "access": [{"first": 3}, {"first": 20}],
    "one": [{"number": "A-S00000001"}],
    "skip": [{"yes": True}],
    "customers": [{"first": 5}, {}],  # without: a variable error, nothing executes
    "portal/subscription": [{"number": "A-S00000001"}, {}, {"number": "nope"}],
    "portal/customers": [{}, {"first": 1}, {"search": "Ini"}],
    "portal/subscriptions": [{}, {"first": 1}],
}


class Apps:
    def __init__(self, compiled: httpx.AsyncClient, normal: httpx.AsyncClient) -> None:
        self.compiled = compiled
        self.normal = normal


async def _client(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], clock: FixedClock, on: bool
) -> tuple[httpx.AsyncClient, Metrics]:
    configured = Settings(
        environment="test", database_url=settings.database_url, compiled_documents=on
    )
    metrics = Metrics()
    providers = build_providers(configured, sessions, clock, metrics)
    runtime = build_runtime(
        configured, sessions=sessions, clock=clock, providers=providers, metrics=metrics
    )
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver"), metrics


@pytest.fixture
async def both(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], clock: FixedClock
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient, Metrics]]:
    compiled, metrics = await _client(settings, session_factory, clock, True)
    normal, _ = await _client(settings, session_factory, clock, False)
    async with compiled, normal:
        yield compiled, normal, metrics


def registered_texts(settings: Settings) -> dict[str, str]:
    texts = {source.name: source.text for source in load_documents(DOCUMENTS, settings)}
    texts.update(TRUSTED_DOCUMENT_TESTS)
    texts.update(EXTRA)
    return texts


def _operation_type(text: str) -> OperationType:
    document = parse(text)
    return next(d for d in document.definitions if isinstance(d, OperationDefinitionNode)).operation


def _needs_variables(text: str) -> bool:
    """Whether the operation has a required variable without a default."""
    document = parse(text)
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    return any(
        isinstance(v.type, NonNullTypeNode) and v.default_value is None
        for v in operation.variable_definitions or ()
    )


def verdict(text: str) -> OperationDefinitionNode | Unsupported:
    """What the plan makes of a document: its operation when it compiles, else why not."""
    document = parse(text)
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    try:
        compile_operation(build_schema(), fragments, operation)
    except Unsupported as refusal:
        return refusal
    return operation


def _compiled_count(metrics: Metrics, path: str, reason: str = "") -> float:
    value = metrics.registry.get_sample_value(
        "fulfillment_compiled_documents_total", {"path": path, "reason": reason}
    )
    return value or 0.0


async def test_every_registered_document_answers_the_same_bytes_on_both_paths(
    both: tuple[httpx.AsyncClient, httpx.AsyncClient, Metrics],
    db: AsyncSession,
    settings: Settings,
    clock: FixedClock,
) -> None:
    compiled, normal, metrics = both
    await seed_demo(db, settings, clock)
    tokens = demo_tokens(settings, datetime.now(UTC))
    texts = registered_texts(settings)
    sources = [DocumentSource(name=name, text=text) for name, text in texts.items()]
    await register_documents(db, sources, clock.now())

    compared = fallbacks = 0
    with_errors: set[str] = set()
    ran: set[str] = set()
    for name, text in texts.items():
        found = verdict(text)
        planned = not isinstance(found, Unsupported)
        is_mutation = _operation_type(text) is OperationType.MUTATION
        if is_mutation:  # runs once per app would change the data: the verdict suffices
            assert isinstance(found, Unsupported) and found.kind == "mutation", name
            continue
        for principal in PRINCIPALS:
            headers = {"X-Request-Id": f"req-{name.replace('/', '-')}-{principal}"}
            if principal is not None:
                headers["Authorization"] = f"Bearer {tokens[principal]}"
            for variables in VARIABLES.get(name, [{}]):
                # Refused before execution (a missing variable): neither path executes.
                refused = {name} if not variables and _needs_variables(text) else set()
                body = {"documentId": document_id(document_hash(text)), "variables": variables}
                before = _compiled_count(metrics, "compiled")
                first = await compiled.post("/graphql", json=body, headers=headers)
                second = await normal.post("/graphql", json=body, headers=headers)
                where = (name, principal, variables)
                assert first.status_code == second.status_code, where
                assert first.content == second.content, where
                assert dict(first.headers) == dict(second.headers), where
                ran_compiled = _compiled_count(metrics, "compiled") - before
                assert ran_compiled == (1 if planned and name not in refused else 0), where
                if ran_compiled:
                    ran.add(name)
                if b'"errors"' in first.content:
                    with_errors.add(name)
                compared += 1
                fallbacks += 0 if planned else 1

    # Every query document compiled except the ones made to fall back.
    assert isinstance(verdict(EXTRA["node"]), Unsupported)
    assert isinstance(verdict(EXTRA["skip"]), Unsupported)
    assert _compiled_count(metrics, "fallback", "abstract_type") > 0
    assert _compiled_count(metrics, "fallback", "directive") > 0
    plannable = {name for name, text in texts.items() if not isinstance(verdict(text), Unsupported)}
    assert plannable == ran
    assert {"dashboard", "invoices", "products", "subscription", "access", "one"} <= ran
    # The comparison reached errors: masked fields, refusals and bad arguments.
    assert {"access", "bad_arguments"} <= with_errors
    assert compared > 100 and fallbacks > 0


async def test_the_dashboard_answers_data_on_the_compiled_path(
    both: tuple[httpx.AsyncClient, httpx.AsyncClient, Metrics],
    db: AsyncSession,
    settings: Settings,
    clock: FixedClock,
) -> None:
    compiled, _, metrics = both
    await seed_demo(db, settings, clock)
    owner = demo_tokens(settings, datetime.now(UTC))["owner"]
    text = registered_texts(settings)["dashboard"]
    await register_documents(db, [DocumentSource(name="dashboard", text=text)], clock.now())

    response = await compiled.post(
        "/graphql",
        json={"documentId": document_id(document_hash(text)), "variables": {"first": 2}},
        headers={"Authorization": f"Bearer {owner}"},
    )

    body = response.json()
    assert "errors" not in body
    nodes = body["data"]["subscriptions"]["nodes"]
    assert [node["number"] for node in nodes] == ["A-S00000001", "A-S00000002"]
    assert body["data"]["viewer"]["kind"] == "CUSTOMER_USER"
    assert _compiled_count(metrics, "compiled") == 1


async def test_the_same_text_sent_in_full_runs_on_the_normal_path(
    both: tuple[httpx.AsyncClient, httpx.AsyncClient, Metrics],
    db: AsyncSession,
    settings: Settings,
    clock: FixedClock,
) -> None:
    """With TRUSTED_DOCUMENTS=off a text is not looked up, so it is not known as registered."""
    compiled, _, metrics = both
    await seed_demo(db, settings, clock)
    text = TRUSTED_DOCUMENT_TESTS["products"]
    await register_documents(db, [DocumentSource(name="products", text=text)], clock.now())

    response = await compiled.post("/graphql", json={"query": text})

    assert response.json()["data"]["products"]
    assert _compiled_count(metrics, "compiled") == 0


def test_the_executor_is_the_schemas_only_when_the_setting_is_on() -> None:
    on = build_schema(Settings(environment="test"))
    off = build_schema(Settings(environment="test", compiled_documents=False))

    assert issubclass(on.execution_context_class, CompiledExecutor)
    assert not issubclass(off.execution_context_class, CompiledExecutor)
