"""The base of the absolute links the API hands out (an invoice's `pdfUrl`).

PUBLIC_BASE_URL when it is set (production should set it). Otherwise, outside production,
the address the request came to: its scheme and a well-formed Host header, so `make run
PORT=8001` links to port 8001. Production without PUBLIC_BASE_URL never trusts the Host
header (anyone can send one): its links are paths on this server ("/invoices/...")."""

from __future__ import annotations

import re

from starlette.datastructures import Headers
from starlette.types import Scope

from app.config import Settings

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = re.compile(rf"(?:{_LABEL}(?:\.{_LABEL})*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{{1,5}})?")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def base_url(settings: Settings, scope: Scope | None = None) -> str:
    """No trailing slash; "" for links relative to this server."""
    if settings.public_base_url:
        return settings.public_base_url
    if settings.is_production or scope is None:
        return ""
    return _request_base(scope)


def _request_base(scope: Scope) -> str:
    scheme = "https" if scope.get("scheme") in ("https", "wss") else "http"
    host = Headers(scope=scope).get("host")
    if host is None or not _HOST.fullmatch(host):
        host = _server_host(scope, scheme)
    if host is None:
        return ""
    root_path = str(scope.get("root_path", "")).rstrip("/")
    return f"{scheme}://{host}{root_path}"


def _server_host(scope: Scope, scheme: str) -> str | None:
    """The address the server listens on, as ASGI reports it."""
    server = scope.get("server")
    if not server or server[0] is None:
        return None
    name, port = str(server[0]), server[1]
    name = f"[{name}]" if ":" in name else name
    return name if port in (None, _DEFAULT_PORTS[scheme]) else f"{name}:{port}"
