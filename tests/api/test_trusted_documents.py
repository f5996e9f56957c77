"""Trusted documents: persisted document requests (`documentId`, Apollo's persistedQuery) in
both modes, and TRUSTED_DOCUMENTS=enforce refusing unregistered operations from customer
users and anonymous callers before anything runs, while partner and admin tokens may send
any operation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import strawberry.schema.schema as strawberry_schema
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.extensions import ParserCache

from app.clock import FixedClock
from app.config import Settings, TrustedDocumentsMode
from app.db.tables import AuditEvent
from app.domain.document_ids import document_hash, document_id
from app.domain.enums import MemberRole, TokenKind
from app.main import create_app
from app.providers.registry import build_providers
from app.runtime import build_runtime
from app.services.trusted_documents import (
    DocumentSource,
    Read,
    TrustedDocumentCache,
    in_own_session,
    register_documents,
)
from resolvers.ids import to_global_id
from schema.document_files import load_documents
from tests.api.conftest import StatementCounter
from tests.support import factories as f
from tests.support.graphql import api_token, error_codes, user_token
from tests.support.snapshots import table_counts

GRAPHQL_RESPONSE = "application/graphql-response+json"
DOCUMENTS = Path(__file__).resolve().parents[2] / "documents"

PRODUCTS = "query Products { products { code } }"
VIEWER = "query Viewer { viewer { kind name } }"
CANCEL = """mutation Cancel($id: ID!, $reason: String) {
  subscriptionSetAutoRenew(id: $id, autoRenew: false, reason: $reason) {
    ... on SubscriptionSetAutoRenewPayload { subscription { autoRenew } }
    ... on UserError { code message } } }"""
SUBSCRIPTION = "query Seats($number: String!) { subscription(number: $number) { number seats } }"


class Client:
    """Raw GraphQL-over-HTTP requests against one app."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def post(
        self, body: dict[str, Any], token: str | None = None, accept: str = "application/json"
    ) -> httpx.Response:
        return await self.client.post("/graphql", json=body, headers=_headers(token, accept))

    async def get(
        self, params: dict[str, str], token: str | None = None, accept: str = "application/json"
    ) -> httpx.Response:
        return await self.client.get("/graphql", params=params, headers=_headers(token, accept))


def _headers(token: str | None, accept: str) -> dict[str, str]:
    headers = {"Accept": accept}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


async def _client(
    mode: TrustedDocumentsMode,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> AsyncIterator[Client]:
    configured = Settings(
        environment="test", database_url=settings.database_url, trusted_documents=mode
    )
    providers = build_providers(configured, session_factory, clock)
    runtime = build_runtime(configured, sessions=session_factory, clock=clock, providers=providers)
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Client(client)


@pytest.fixture
async def enforced(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], clock: FixedClock
) -> AsyncIterator[Client]:
    async for client in _client(TrustedDocumentsMode.ENFORCE, settings, session_factory, clock):
        yield client


@pytest.fixture
async def relaxed(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], clock: FixedClock
) -> AsyncIterator[Client]:
    async for client in _client(TrustedDocumentsMode.OFF, settings, session_factory, clock):
        yield client


@pytest.fixture
async def acme(db: AsyncSession, settings: Settings) -> dict[str, Any]:
    customer = await f.customer(db, name="Acme")
    owner = await f.user(db, member_of=customer, role=MemberRole.OWNER, name="Olive Owner")
    sub = await f.subscription(db, customer, seats=10)
    return {
        "sub": sub,
        "id": to_global_id("Subscription", sub.id or 0),
        "owner": user_token(settings, owner),
    }


async def _register(db: AsyncSession, clock: FixedClock, *texts: str) -> list[str]:
    sources = [DocumentSource(name=f"doc-{n}", text=text) for n, text in enumerate(texts)]
    registrations = await register_documents(db, sources, clock.now())
    return [registration.document_id for registration in registrations]


def _refusal(body: dict[str, Any], code: str) -> None:
    assert error_codes(body) == [code]
    assert body.get("data") is None


# -- enforce: refusals --------------------------------------------------------------------


async def test_unregistered_mutation_from_a_customer_user_runs_nothing(
    enforced: Client, acme: dict[str, Any], db: AsyncSession
) -> None:
    before = await table_counts(db)

    response = await enforced.post(
        {"query": CANCEL, "variables": {"id": acme["id"]}}, acme["owner"], GRAPHQL_RESPONSE
    )

    assert response.status_code == 400
    body = response.json()
    assert "data" not in body
    assert error_codes(body) == ["DOCUMENT_NOT_TRUSTED"]
    assert body["errors"][0]["message"].startswith("Only registered operations are accepted")
    await db.refresh(acme["sub"])
    assert acme["sub"].auto_renew is True
    assert await table_counts(db) == before


async def test_unregistered_queries_from_anonymous_and_customer_users_are_refused(
    enforced: Client, acme: dict[str, Any]
) -> None:
    anonymous = await enforced.post({"query": PRODUCTS})
    customer_user = await enforced.post({"query": VIEWER}, acme["owner"])

    assert anonymous.status_code == 200  # application/json: every GraphQL answer is a 200
    _refusal(anonymous.json(), "DOCUMENT_NOT_TRUSTED")
    _refusal(customer_user.json(), "DOCUMENT_NOT_TRUSTED")


async def test_whitespace_makes_another_document(
    enforced: Client, db: AsyncSession, clock: FixedClock
) -> None:
    await _register(db, clock, PRODUCTS)

    response = await enforced.post({"query": PRODUCTS + "\n"})

    _refusal(response.json(), "DOCUMENT_NOT_TRUSTED")


async def test_unknown_id_is_a_typed_request_error(enforced: Client, acme: dict[str, Any]) -> None:
    unknown = document_id(document_hash("query Nope { viewer { kind } }"))

    response = await enforced.post({"documentId": unknown}, acme["owner"], GRAPHQL_RESPONSE)

    assert response.status_code == 400
    body = response.json()
    assert error_codes(body) == ["PERSISTED_DOCUMENT_NOT_FOUND"]
    assert body["errors"][0]["message"] == f"No document with the id {unknown} is registered."


@pytest.mark.parametrize("malformed", ["sha256:ABC", "md5:0123", "f" * 64, ""])
async def test_malformed_id_is_not_found(enforced: Client, malformed: str) -> None:
    response = await enforced.post({"documentId": malformed})

    body = response.json()
    _refusal(body, "PERSISTED_DOCUMENT_NOT_FOUND")
    assert body["errors"][0]["message"].startswith("A document id is `sha256:`")


async def test_a_document_id_that_is_not_a_string_is_a_bad_request(enforced: Client) -> None:
    response = await enforced.post({"documentId": 42})

    assert response.status_code == 400
    assert error_codes(response.json()) == ["BAD_REQUEST"]


# -- enforce: what runs -------------------------------------------------------------------


async def test_registered_id_runs_for_a_customer_user(
    enforced: Client, acme: dict[str, Any], db: AsyncSession, clock: FixedClock
) -> None:
    [seats] = await _register(db, clock, SUBSCRIPTION)

    response = await enforced.post(
        {"documentId": seats, "variables": {"number": acme["sub"].number}}, acme["owner"]
    )

    assert response.json() == {
        "data": {"subscription": {"number": acme["sub"].number, "seats": 10}},
        "extensions": response.json()["extensions"],
    }
    assert response.json()["extensions"]["rateLimit"]["cost"] == 1


async def test_registered_id_runs_over_get(
    enforced: Client, db: AsyncSession, clock: FixedClock
) -> None:
    await f.catalog(db)
    [products] = await _register(db, clock, PRODUCTS)

    response = await enforced.get({"documentId": products})

    assert response.status_code == 200
    codes = [product["code"] for product in response.json()["data"]["products"]]
    assert "premium" in codes and "ultimate" in codes


async def test_a_registered_mutation_over_get_is_405(
    enforced: Client, acme: dict[str, Any], db: AsyncSession, clock: FixedClock
) -> None:
    [cancel] = await _register(db, clock, CANCEL)

    response = await enforced.get(
        {"documentId": cancel, "variables": f'{{"id": "{acme["id"]}"}}'}, acme["owner"]
    )

    assert response.status_code == 405
    await db.refresh(acme["sub"])
    assert acme["sub"].auto_renew is True


async def test_registered_mutation_by_id_runs(
    enforced: Client, acme: dict[str, Any], db: AsyncSession, clock: FixedClock
) -> None:
    [cancel] = await _register(db, clock, CANCEL)

    variables = {"id": acme["id"], "reason": "too expensive"}
    response = await enforced.post({"documentId": cancel, "variables": variables}, acme["owner"])

    assert response.json()["data"] == {
        "subscriptionSetAutoRenew": {"subscription": {"autoRenew": False}}
    }
    await db.refresh(acme["sub"])
    assert acme["sub"].auto_renew is False


async def test_the_text_of_a_registered_document_runs(
    enforced: Client, acme: dict[str, Any], db: AsyncSession, clock: FixedClock
) -> None:
    await _register(db, clock, VIEWER)

    response = await enforced.post({"query": VIEWER}, acme["owner"])

    assert response.json()["data"] == {"viewer": {"kind": "CUSTOMER_USER", "name": "Olive Owner"}}


async def test_apollo_persisted_query_hash_runs(
    enforced: Client, db: AsyncSession, clock: FixedClock
) -> None:
    await _register(db, clock, VIEWER)
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": document_hash(VIEWER)}}

    by_hash = await enforced.post({"extensions": extensions})
    with_text = await enforced.post({"query": VIEWER, "extensions": extensions})

    assert by_hash.json()["data"] == {"viewer": None}
    assert with_text.json()["data"] == {"viewer": None}


async def test_a_query_sent_with_an_id_is_judged_by_its_own_text(
    enforced: Client, db: AsyncSession, clock: FixedClock
) -> None:
    [viewer] = await _register(db, clock, VIEWER)
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": document_hash(VIEWER)}}

    body_id = await enforced.post({"query": PRODUCTS, "documentId": viewer})
    apollo = await enforced.post({"query": PRODUCTS, "extensions": extensions})

    _refusal(body_id.json(), "DOCUMENT_NOT_TRUSTED")  # `query` wins; the id is not read
    _refusal(apollo.json(), "VALIDATION")
    assert apollo.json()["errors"][0]["message"] == (
        "The document id is not the SHA-256 of the query sent with it."
    )


async def test_partner_and_admin_tokens_send_any_operation(
    enforced: Client, acme: dict[str, Any], db: AsyncSession
) -> None:
    partner = await f.partner(db)
    partner_token = await api_token(db, TokenKind.PARTNER, partner.id)
    admin_token = await api_token(db, TokenKind.ADMIN)
    audit_rows = (await table_counts(db))[AuditEvent.__tablename__]

    as_partner = await enforced.post({"query": VIEWER}, partner_token)
    as_admin = await enforced.post(
        {"query": CANCEL, "variables": {"id": acme["id"], "reason": "customer asked by phone"}},
        admin_token,
    )

    assert as_partner.json()["data"]["viewer"]["kind"] == "PARTNER"
    assert as_admin.json()["data"] == {
        "subscriptionSetAutoRenew": {"subscription": {"autoRenew": False}}
    }
    await db.refresh(acme["sub"])
    assert acme["sub"].auto_renew is False
    assert (await table_counts(db))[AuditEvent.__tablename__] == audit_rows + 1


async def test_the_frontend_documents_run_by_id(
    enforced: Client, acme: dict[str, Any], db: AsyncSession, clock: FixedClock, settings: Settings
) -> None:
    sources = load_documents(DOCUMENTS, settings)
    registrations = await register_documents(db, sources, clock.now())
    ids = {registration.name: registration.document_id for registration in registrations}
    assert {"dashboard", "subscription", "order_quote", "order_place"} <= set(ids)

    dashboard = await enforced.post({"documentId": ids["dashboard"]}, acme["owner"])
    quote = await enforced.post(
        {
            "documentId": ids["order_quote"],
            "variables": {
                "input": {"subscriptionId": acme["id"], "actions": [{"addSeats": {"seats": 1}}]}
            },
        },
        acme["owner"],
    )

    data = dashboard.json()["data"]
    assert data["viewer"]["name"] == "Olive Owner"
    assert [node["number"] for node in data["subscriptions"]["nodes"]] == [acme["sub"].number]
    assert quote.json()["data"]["orderQuote"]["token"]


# -- off ----------------------------------------------------------------------------------


async def test_off_runs_any_operation_and_registered_ids(
    relaxed: Client, acme: dict[str, Any], db: AsyncSession, clock: FixedClock
) -> None:
    await f.catalog(db)
    [products] = await _register(db, clock, PRODUCTS)

    text = await relaxed.post({"query": VIEWER}, acme["owner"])
    by_id = await relaxed.post({"documentId": products})
    unknown = await relaxed.post({"documentId": document_id(document_hash(VIEWER))})

    assert text.json()["data"] == {"viewer": {"kind": "CUSTOMER_USER", "name": "Olive Owner"}}
    assert "premium" in [product["code"] for product in by_id.json()["data"]["products"]]
    _refusal(unknown.json(), "PERSISTED_DOCUMENT_NOT_FOUND")


async def test_off_still_needs_a_query_or_an_id(relaxed: Client) -> None:
    response = await relaxed.post({"variables": {}})

    assert response.status_code == 400


# -- the cache ----------------------------------------------------------------------------


def _document_lookups(statements: StatementCounter) -> int:
    return sum("trusted_document" in statement for statement in statements.statements)


async def test_a_known_document_costs_no_query_after_the_first(
    enforced: Client,
    db: AsyncSession,
    clock: FixedClock,
    sql_statements: StatementCounter,
) -> None:
    [products] = await _register(db, clock, PRODUCTS)
    sql_statements.reset()

    for _ in range(3):
        await enforced.post({"documentId": products})
        await enforced.post({"query": PRODUCTS})

    assert _document_lookups(sql_statements) == 1


async def test_an_unknown_hash_is_asked_again_only_after_the_miss_expires(
    enforced: Client,
    db: AsyncSession,
    clock: FixedClock,
    sql_statements: StatementCounter,
) -> None:
    sql_statements.reset()
    await enforced.post({"query": PRODUCTS})
    await _register(db, clock, PRODUCTS)  # as another process would, meanwhile

    soon = await enforced.post({"query": PRODUCTS})
    clock.advance(timedelta(seconds=30))
    later = await enforced.post({"query": PRODUCTS})

    _refusal(soon.json(), "DOCUMENT_NOT_TRUSTED")
    assert "products" in later.json()["data"]
    assert _document_lookups(sql_statements) == 3  # miss, insert, lookup after expiry


async def test_a_document_by_id_is_parsed_and_validated_once(
    enforced: Client, db: AsyncSession, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "query CacheProbe { viewer { kind } } # parse cache probe"
    [probe] = await _register(db, clock, text)
    validations: list[object] = []
    validate = strawberry_schema.validate

    def counting_validate(*args: Any, **kwargs: Any) -> Any:
        validations.append(args[1])
        return validate(*args, **kwargs)

    monkeypatch.setattr(strawberry_schema, "validate", counting_validate)
    parse_cache = ParserCache(maxsize=256).cached_parse_document
    before = parse_cache.cache_info()

    bodies = [(await enforced.post({"documentId": probe})).json() for _ in range(3)]
    bodies.append((await enforced.post({"query": text})).json())

    after = parse_cache.cache_info()
    assert [body["data"] for body in bodies] == [{"viewer": None}] * 4
    assert (after.misses - before.misses, after.hits - before.hits) == (1, 3)
    # One validation step for the four: the fragment graph's two rules, then all the rules.
    assert len(validations) == 2 and validations[0] is validations[1]


async def test_the_cache_is_bounded(
    db: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    sql_statements: StatementCounter,
) -> None:
    texts = [f"query Q{n} {{ viewer {{ kind }} }}" for n in range(3)]
    await _register(db, clock, *texts)
    hashes = [document_hash(text) for text in texts]
    cache = TrustedDocumentCache(size=2)
    read: Read[str | None] = in_own_session(session_factory)

    sql_statements.reset()
    for n in (0, 1, 2, 1, 0):
        assert await cache.text(hashes[n], clock.now(), read) == texts[n]

    # 0, 1, 2 are read; 1 is a hit; 0 was dropped when 2 came in, so it is read again.
    assert _document_lookups(sql_statements) == 4
