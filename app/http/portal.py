"""The reference portal at /portal/ (docs/portal.md): a page and the scripts and styles built
from portal/ (`make portal`) into static/portal/, and, on a development server, the demo
users' tokens for its sign-in picker. The page talks to /graphql only, with trusted
documents; it loads nothing from anywhere else (its Content-Security-Policy says so)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from app.clock import SystemClock
from app.config import Settings
from app.services.demo.tokens import demo_sign_ins

FOLDER = Path(__file__).parent / "static" / "portal"
PREFIX = "/portal"
MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css"}

# Nothing from elsewhere, no inline script or style, no frames, forms post nowhere.
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_NOT_FOUND = {"error": {"code": "NOT_FOUND", "message": "No such file."}}


def portal_routes(settings: Settings) -> list[Route]:
    """The portal's routes, or none when it is off (PORTAL_ENABLED; off in production)."""
    if not settings.portal_on:
        return []
    routes = [
        Route(PREFIX, _to_page, methods=["GET"]),
        Route(f"{PREFIX}/", _page, methods=["GET"]),
    ]
    if settings.portal_demo_sign_in_on:  # before {name}: this one is not a file
        routes.append(Route(f"{PREFIX}/demo-users", _demo_users(settings), methods=["GET"]))
    routes.append(Route(PREFIX + "/{name}", _asset, methods=["GET"]))
    return routes


@cache
def assets() -> dict[str, str]:
    """The built files served (name -> media type): scripts and styles directly in the
    folder, never a directory or another kind of file."""
    if not FOLDER.is_dir():
        return {}
    return {
        path.name: MEDIA_TYPES[path.suffix]
        for path in sorted(FOLDER.iterdir())
        if path.is_file() and path.suffix in MEDIA_TYPES
    }


@cache
def _read(name: str) -> bytes:
    return (FOLDER / name).read_bytes()


async def _to_page(request: Request) -> Response:
    return RedirectResponse(f"{PREFIX}/", status_code=308)


async def _page(request: Request) -> Response:
    headers = {
        "Content-Security-Policy": PAGE_POLICY,
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    return HTMLResponse(_read("index.html"), headers=headers)


async def _asset(request: Request) -> Response:
    name = request.path_params["name"]
    media_type = assets().get(name)
    if media_type is None:
        return JSONResponse(_NOT_FOUND, 404)
    # The build keeps its file names, so a browser asks again on every load (a 304 is cheap).
    headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    return Response(_read(name), media_type=media_type, headers=headers)


def _demo_users(settings: Settings) -> Callable[[Request], Awaitable[Response]]:
    async def demo_users(request: Request) -> Response:
        users = [
            {"key": u.key, "name": u.name, "description": u.description, "token": u.token}
            for u in demo_sign_ins(settings, SystemClock().now())
        ]
        return JSONResponse({"users": users}, headers={"Cache-Control": "no-store"})

    return demo_users
