"""Which addresses an outgoing request to a URL an admin typed in may reach: in production,
public ones only, so a subscriber's URL cannot be used to probe the private network the
server sits in (loopback, RFC 1918, link-local and cloud metadata addresses, and the like).

The check is on the addresses the connection is actually made to (a resolver that drops
the others), so a host name that resolves to a private address, or is made to later (DNS
rebinding), is refused as well as a literal private IP."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # a scoped IPv6 address: its zone off
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def private_literal(url: str) -> str | None:
    """The URL's host if it is an IP address that is not public (None otherwise)."""
    host = urlsplit(url).hostname or ""
    try:
        return None if is_public(host) else host
    except ValueError:  # a name, not an address: the resolver decides
        return None


class PublicOnlyResolver(AbstractResolver):
    """Resolves as usual and keeps the public addresses; none left is an OSError, which
    aiohttp reports as a connection error (the delivery is logged as not reaching it)."""

    def __init__(self) -> None:
        self._inner = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        public = [entry for entry in found if is_public(entry["host"])]
        if not public:
            raise OSError(f"{host} resolves to no public address")
        return public

    async def close(self) -> None:
        await self._inner.close()
