"""/portal/ (docs/portal.md): the page and its built files outside production, nothing in
production unless PORTAL_ENABLED, the demo sign-in never in production; the committed build
carries exactly the documents of documents/portal/, and its page loads only its own files.
The pages themselves are driven in a browser by tests/browser/."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from pydantic import ValidationError

from app.config import Environment, Settings
from app.http.portal import FOLDER, PAGE_POLICY, assets
from app.main import create_app
from app.runtime import Runtime
from app.services.demo.tokens import demo_sign_ins, demo_tokens
from tests.support.graphql import Api

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = ROOT / "documents" / "portal"
SECRET = "a-production-secret-of-at-least-32-chars!"
LICENSE_KEY = (
    Ed25519PrivateKey.generate()
    .private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    .decode()
)


@pytest.fixture
async def production(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """The app as production builds its routes (PORTAL_ENABLED unset)."""
    async with _client(runtime, environment=Environment.PRODUCTION) as client:
        yield client


def _client(runtime: Runtime, **settings: object) -> httpx.AsyncClient:
    changed = runtime.settings.model_copy(update=settings)
    app = create_app(runtime=dataclasses.replace(runtime, settings=changed))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        url = named.get("src") if tag == "script" else named.get("href")
        if tag in ("script", "link") and url:
            self.found.append(url)


async def test_the_page_is_served_with_a_policy_that_allows_only_this_server(api: Api) -> None:
    response = await api.client.get("/portal/")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["content-security-policy"] == PAGE_POLICY
    assert "default-src 'none'" in PAGE_POLICY and "connect-src 'self'" in PAGE_POLICY
    assert response.content == (FOLDER / "index.html").read_bytes()
    redirect = await api.client.get("/portal")
    assert (redirect.status_code, redirect.headers["location"]) == (308, "/portal/")


async def test_the_page_and_its_modules_load_only_files_this_server_serves(api: Api) -> None:
    """Every script, style and module import resolves to a file served from /portal/."""
    parser = _References()
    parser.feed((await api.client.get("/portal/")).text)
    assert parser.found == ["data:,", "portal.css", "main.js"]

    pending, seen = ["main.js", "portal.css"], set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        response = await api.client.get(f"/portal/{name}")
        assert response.status_code == 200, name
        kind = "text/javascript" if name.endswith(".js") else "text/css"
        assert response.headers["content-type"] == f"{kind}; charset=utf-8"
        assert response.headers["x-content-type-options"] == "nosniff"
        body = response.text
        assert "http://" not in body and "https://" not in body, name  # no CDN, nothing remote
        pending.extend(re.findall(r"""from\s+["']\./([\w-]+\.js)["']""", body))
    assert seen == set(assets()) - {"types.js"}  # types.js: types only, imported by none
    assert "main.js" in seen and "documents.js" in seen


@pytest.mark.parametrize(
    "path", ["/portal/index.html", "/portal/..%2Fportal.py", "/portal/nope.js", "/portal/x/y.js"]
)
async def test_only_the_built_scripts_and_styles_are_files(api: Api, path: str) -> None:
    response = await api.client.get(path)

    assert response.status_code == 404
    if response.headers["content-type"].startswith("application/json"):
        assert response.json() == {"error": {"code": "NOT_FOUND", "message": "No such file."}}


def test_the_build_carries_exactly_the_portal_documents() -> None:
    """documents.js (built from documents/portal/ by `make portal`) holds each file's exact
    text under its trusted-document id, the id `fulfillment documents register` prints."""
    built = (FOLDER / "documents.js").read_text(encoding="utf-8")
    entries = re.findall(r'id: "(sha256:[0-9a-f]{64})",\s*text: ("(?:[^"\\]|\\.)*")', built)
    shipped = {document_id: json.loads(text) for document_id, text in entries}

    files = sorted(DOCUMENTS.glob("*.graphql"))
    expected = {
        "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest(): path.read_text("utf-8")
        for path in files
    }
    assert len(files) == 11
    assert shipped == expected


async def test_production_serves_no_portal(production: httpx.AsyncClient) -> None:
    for path in ("/portal/", "/portal", "/portal/main.js", "/portal/demo-users"):
        assert (await production.get(path)).status_code == 404, path


async def test_production_serves_it_when_enabled_but_never_the_demo_sign_in(
    runtime: Runtime,
) -> None:
    async with _client(runtime, environment=Environment.PRODUCTION, portal_enabled=True) as client:
        assert (await client.get("/portal/")).status_code == 200
        assert (await client.get("/portal/main.js")).status_code == 200
        assert (await client.get("/portal/demo-users")).status_code == 404


async def test_development_can_turn_the_portal_or_its_demo_sign_in_off(runtime: Runtime) -> None:
    async with _client(runtime, portal_enabled=False) as client:
        assert (await client.get("/portal/")).status_code == 404
    async with _client(runtime, portal_demo_sign_in=False) as client:
        assert (await client.get("/portal/")).status_code == 200
        assert (await client.get("/portal/demo-users")).status_code == 404


def test_the_demo_sign_in_cannot_be_turned_on_in_production() -> None:
    with pytest.raises(ValidationError, match="PORTAL_DEMO_SIGN_IN"):
        Settings(
            environment="production",
            jwt_secret=SECRET,
            license_signing_key=LICENSE_KEY,
            portal_enabled=True,
            portal_demo_sign_in=True,
        )
    profile = Settings(environment="production", jwt_secret=SECRET, license_signing_key=LICENSE_KEY)
    assert (profile.portal_on, profile.portal_demo_sign_in_on) == (False, False)


async def test_the_demo_sign_in_offers_customer_users_and_partners_only(
    api: Api, settings: Settings
) -> None:
    response = await api.client.get("/portal/demo-users")

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    users = response.json()["users"]
    assert [(u["key"], u["name"], u["description"]) for u in users] == [
        ("owner", "Alice Owner", "owner of Acme Corp"),
        ("billing_admin", "Bruno Billing", "billing admin of Acme Corp"),
        ("viewer", "Vera Viewer", "viewer of Acme Corp"),
        ("other_customer_owner", "Olga Other", "owner of Globex Inc"),
        ("partner_managed_owner", "Ines Ito", "owner of Initech"),
        ("partner", "Northwind API", "partner Northwind Cloud Partners"),
        ("other_partner", "Contoso API", "partner Contoso Resellers"),
    ]
    every = demo_tokens(settings, datetime.now(UTC))
    assert every["admin"] not in {u["token"] for u in users}
    assert every["service"] not in {u["token"] for u in users}
    assert next(u for u in users if u["key"] == "partner")["token"] == every["partner"]
    owner = next(u for u in users if u["key"] == "owner")["token"]
    claims = jwt.decode(
        owner, settings.jwt_secret, algorithms=["HS256"], audience="fulfillment-api"
    )
    assert claims["sub"] == "demo-owner"


def test_demo_sign_ins_refuse_production() -> None:
    profile = Settings(environment="production", jwt_secret=SECRET, license_signing_key=LICENSE_KEY)
    with pytest.raises(RuntimeError, match="development only"):
        demo_sign_ins(profile, datetime.now(UTC))
