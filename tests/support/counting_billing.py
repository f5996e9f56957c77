"""A billing provider as it is, with the writes it is asked for counted by method name: what
the tests that assert "the provider was charged once" wrap around the real one."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import Clock
from app.config import Settings
from app.providers.billing import BillingProvider
from app.providers.registry import build_providers
from app.runtime import Runtime, build_runtime

# Every write of the billing protocol (the methods that take an idempotency key).
WRITES = frozenset(
    {"create_account", "set_payment_method", "create_invoice", "collect_payment"}
    | {"create_subscription", "amend_subscription", "renew_subscription"}
    | {"cancel_subscription", "reactivate_subscription", "void_invoice", "refund_payment"}
)


class CountingBilling:
    """Counts each call of the methods in `writes` (every write unless told otherwise)."""

    def __init__(
        self,
        inner: BillingProvider,
        calls: Counter[str] | None = None,
        writes: Collection[str] = WRITES,
    ) -> None:
        self._inner, self._writes = inner, writes
        self.calls = Counter[str]() if calls is None else calls

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._inner, name)
        if name not in self._writes:
            return found

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return await found(*args, **kwargs)

        return counted


def counted_runtime(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    calls: Counter[str],
    writes: Collection[str] = WRITES,
) -> Runtime:
    """A runtime on the configured providers whose billing writes land in `calls`."""
    providers = build_providers(settings, sessions, clock)
    billing = CountingBilling(providers.billing, calls, writes)
    counted = replace(providers, billing=billing)  # type: ignore[arg-type]
    return build_runtime(settings, sessions=sessions, clock=clock, providers=counted)
