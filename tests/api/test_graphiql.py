"""GraphiQL works offline: the page loads only files this server serves, each with its media
type and the bytes its `integrity` hash names (a browser refuses a script that differs)."""

from __future__ import annotations

import base64
import hashlib
import tomllib
from fnmatch import fnmatch
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from app.http.graphiql import ASSETS, FOLDER
from tests.support.graphql import Api

PAGE = "http://testserver/graphql"
MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


class _References(HTMLParser):
    """Every URL the page loads: script src and stylesheet/icon href, with their integrity."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        url = named.get("src") if tag == "script" else named.get("href")
        if tag in ("script", "link") and url:
            self.found.append((url, named.get("integrity")))


async def _page_references(api: Api) -> list[tuple[str, str | None]]:
    response = await api.client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    parser = _References()
    parser.feed(response.text)
    return parser.found


def _sri(body: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(body).digest()).decode()


async def test_the_page_references_only_files_of_this_server(api: Api) -> None:
    references = await _page_references(api)

    external = [url for url, _ in references if urlsplit(url).scheme not in ("", "data")]
    assert external == []
    assert not any(url.startswith("//") for url, _ in references)
    local = [urlsplit(urljoin(PAGE, url)).path for url, _ in references if "data:" not in url]
    assert local == [
        "/static/graphiql/graphiql-3.8.3.min.css",
        "/static/graphiql/react-18.2.0.production.min.js",
        "/static/graphiql/react-dom-18.2.0.production.min.js",
        "/static/graphiql/graphiql-3.8.3.min.js",
        "/static/graphiql/graphiql-setup.js",
    ]


async def test_each_file_is_served_with_its_media_type_and_hash(api: Api) -> None:
    for url, integrity in await _page_references(api):
        if url.startswith("data:"):
            continue
        response = await api.client.get(urljoin(PAGE, url))
        suffix = url[url.rindex(".") :]

        assert response.status_code == 200, url
        assert response.headers["content-type"] == MEDIA_TYPES[suffix], url
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.content == (FOLDER / url.rsplit("/", 1)[1]).read_bytes()
        if integrity is not None:
            assert integrity == _sri(response.content), url


async def test_the_page_may_load_nothing_from_elsewhere(api: Api) -> None:
    response = await api.client.get("/graphql", headers={"Accept": "text/html"})
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in response.headers["content-security-policy"].split(";")
    )

    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"
    assert policy["connect-src"] == "'self'"


async def test_the_setup_keeps_the_headers_editor_and_its_persistence() -> None:
    setup = (FOLDER / "graphiql-setup.js").read_text()

    assert "isHeadersEditorEnabled: true" in setup
    assert "shouldPersistHeaders: true" in setup


async def test_only_the_listed_files_are_served(api: Api) -> None:
    for path in [
        "/static/graphiql/README.md",
        "/static/graphiql/graphiql.html",
        "/static/graphiql/LICENSE.react",
        "/static/graphiql/..%2F..%2Fgraphiql.py",
        "/static/graphiql/",
    ]:
        response = await api.client.get(path)
        assert response.status_code == 404, path
    assert set(ASSETS) == {
        "react-18.2.0.production.min.js",
        "react-dom-18.2.0.production.min.js",
        "graphiql-3.8.3.min.js",
        "graphiql-3.8.3.min.css",
        "graphiql-setup.js",
    }


def test_packaging_ships_every_file_the_page_needs() -> None:
    pyproject = tomllib.loads((FOLDER.parents[3] / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["app.http"]
    package = FOLDER.parents[1]  # app/http

    for name in [*ASSETS, "graphiql.html"]:
        path = (FOLDER / name).relative_to(package).as_posix()
        assert any(fnmatch(path, pattern) for pattern in patterns), path
