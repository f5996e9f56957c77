"""Invoice PDFs: the owner downloads theirs; nobody else can reach it; `pdfUrl` points at
the server the caller reached (any port), or at PUBLIC_BASE_URL when it is set."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import FixedClock
from app.config import Settings
from app.main import create_app
from app.providers.registry import build_providers
from app.runtime import build_runtime
from tests.api.test_production_profile import LICENSE_KEY, SECRET
from tests.support import factories as f
from tests.support.graphql import Api, user_token
from tests.support.pdf_text import pdf_pages

PDF_URL = "{ invoices(first: 1) { nodes { number pdfUrl } } }"
ApiFor = Callable[..., AbstractAsyncContextManager[Api]]


async def test_owner_downloads_the_invoice_pdf(
    api: Api, db: AsyncSession, settings: Settings
) -> None:
    customer = await f.customer(db)
    owner = user_token(settings, await f.user(db, member_of=customer))
    invoice = await f.invoice(db, await f.subscription(db, customer), amounts=(87_238,))

    data = await api.data("{ invoices(first: 1) { nodes { number pdfUrl } } }", token=owner)
    [node] = data["invoices"]["nodes"]
    assert node["pdfUrl"] == f"http://testserver/invoices/{invoice.number}.pdf"

    response = await api.client.get(
        f"/invoices/{invoice.number}.pdf", headers={"Authorization": f"Bearer {owner}"}
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    [page] = pdf_pages(response.content)
    assert page.startswith(f"Invoice {invoice.number} ")
    assert "Total (USD) $872.38" in page


async def test_other_tenants_and_anonymous_get_no_pdf(
    api: Api, db: AsyncSession, settings: Settings
) -> None:
    invoice = await f.invoice(db, await f.subscription(db, await f.customer(db)))
    stranger = user_token(settings, await f.user(db, member_of=await f.customer(db)))
    path = f"/invoices/{invoice.number}.pdf"

    other = await api.client.get(path, headers={"Authorization": f"Bearer {stranger}"})
    anonymous = await api.client.get(path)

    assert (other.status_code, other.json()["error"]["code"]) == (404, "NOT_FOUND")
    assert (anonymous.status_code, anonymous.json()["error"]["code"]) == (401, "UNAUTHENTICATED")


@pytest.fixture
def api_for(
    database_url: str, session_factory: async_sessionmaker[AsyncSession], clock: FixedClock
) -> ApiFor:
    """An API client with its own settings, reaching the app at `base` (scheme, host, port)."""

    @asynccontextmanager
    async def open_api(base: str = "http://testserver", **overrides: object) -> AsyncIterator[Api]:
        settings = Settings(database_url=database_url, catalog_cache=False, **overrides)
        providers = build_providers(settings, session_factory, clock)
        runtime = build_runtime(
            settings, sessions=session_factory, clock=clock, providers=providers
        )
        transport = httpx.ASGITransport(app=create_app(runtime=runtime))
        async with httpx.AsyncClient(transport=transport, base_url=base) as client:
            yield Api(client)

    return open_api


async def _pdf_url(api: Api, settings: Settings, db: AsyncSession, **headers: str) -> str:
    customer = await f.customer(db)
    owner = user_token(settings, await f.user(db, member_of=customer))
    invoice = await f.invoice(db, await f.subscription(db, customer))
    response = await api.client.post(
        "/graphql",
        json={"query": PDF_URL},
        headers={"Authorization": f"Bearer {owner}", **headers},
    )
    [node] = response.json()["data"]["invoices"]["nodes"]
    url: str = node["pdfUrl"]
    assert url.endswith(f"/invoices/{invoice.number}.pdf")
    return url.removesuffix(f"/invoices/{invoice.number}.pdf")


async def test_pdf_url_follows_the_port_the_server_was_reached_on(
    api_for: ApiFor, db: AsyncSession, settings: Settings
) -> None:
    async with api_for("http://127.0.0.1:8123") as api:
        assert await _pdf_url(api, settings, db) == "http://127.0.0.1:8123"
    async with api_for("https://localhost:8443") as api:
        assert await _pdf_url(api, settings, db) == "https://localhost:8443"
    async with api_for() as api:
        assert await _pdf_url(api, settings, db, host="[::1]:9000") == "http://[::1]:9000"


async def test_a_malformed_host_header_is_not_copied_into_links(
    api_for: ApiFor, db: AsyncSession, settings: Settings
) -> None:
    async with api_for("http://127.0.0.1:8123") as api:
        for forged in ["evil.example/phish?", "evil.example@x", "a b", "x" * 300]:
            assert await _pdf_url(api, settings, db, host=forged) == "http://127.0.0.1:8123"


async def test_public_base_url_wins_over_the_host_header(
    api_for: ApiFor, db: AsyncSession, settings: Settings
) -> None:
    base = "https://billing.example.com/api/"
    async with api_for("http://127.0.0.1:8123", public_base_url=base) as api:
        assert await _pdf_url(api, settings, db) == "https://billing.example.com/api"
        assert await _pdf_url(api, settings, db, host="evil.example") == (
            "https://billing.example.com/api"
        )


async def test_production_without_public_base_url_links_a_path_never_the_host(
    api_for: ApiFor, db: AsyncSession, settings: Settings
) -> None:
    production = {
        "environment": "production",
        "jwt_secret": SECRET,
        "license_signing_key": LICENSE_KEY,
    }
    signer = Settings(jwt_secret=SECRET)  # issues the owner's token
    async with api_for("http://127.0.0.1:8123", **production) as api:
        assert await _pdf_url(api, signer, db, host="evil.example") == ""
    async with api_for(public_base_url="https://billing.example.com", **production) as api:
        assert await _pdf_url(api, signer, db) == "https://billing.example.com"


@pytest.mark.parametrize(
    "value",
    [
        "billing.example.com",
        "ftp://billing.example.com",
        "https://",
        "https://b.example/?x=1",
        # A link is built from it as given: each of these would be handed out broken.
        "https://:443",
        "https://b.example:abc",
        "https://b.example:99999",
        "https://bill ing.example",
        "https://b.exa\r\nmple",
    ],
)
def test_public_base_url_must_be_an_http_url(value: str) -> None:
    with pytest.raises(ValidationError, match="PUBLIC_BASE_URL"):
        Settings(public_base_url=value)
