"""GraphiQL from this server: the page GET /graphql shows outside production, and the
vendored scripts and styles it loads from /static/graphiql/ (static/graphiql/README.md says
where they come from), so the IDE works without internet access."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

FOLDER = Path(__file__).parent / "static" / "graphiql"
ROUTE = "/static/graphiql/{name}"

# Only these files are served (never a directory or a path), with their exact media type.
ASSETS: dict[str, str] = {
    "react-18.2.0.production.min.js": "text/javascript",
    "react-dom-18.2.0.production.min.js": "text/javascript",
    "graphiql-3.8.3.min.js": "text/javascript",
    "graphiql-3.8.3.min.css": "text/css",
    "graphiql-setup.js": "text/javascript",
}

# The page may load nothing from elsewhere; GraphiQL itself sets inline styles.
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


@cache
def _read(name: str) -> bytes:
    return (FOLDER / name).read_bytes()


def graphiql_page() -> HTMLResponse:
    return HTMLResponse(
        _read("graphiql.html"),
        headers={"Content-Security-Policy": PAGE_POLICY, "Cache-Control": "no-cache"},
    )


async def graphiql_asset(request: Request) -> Response:
    name = request.path_params["name"]
    media_type = ASSETS.get(name)
    if media_type is None:
        return JSONResponse({"error": {"code": "NOT_FOUND", "message": "No such file."}}, 404)
    # The versioned files never change; the setup script may change with the app.
    cache_control = "no-cache" if name == "graphiql-setup.js" else "public, max-age=604800"
    headers = {"Cache-Control": cache_control, "X-Content-Type-Options": "nosniff"}
    return Response(_read(name), media_type=media_type, headers=headers)
