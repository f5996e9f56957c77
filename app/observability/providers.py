"""One instrumenting proxy for every provider, applied by the registry: each public
coroutine method is counted and timed (and traced), by provider kind, implementation and
method; a failure by its error class. Everything else passes through untouched, so callers
cannot tell: attributes (`uses_app_database`, a Stripe provider's settings) are the
target's, `isinstance` sees the target's class, and a runtime Protocol check finds the same
methods."""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, TypeVar

from app.observability.metrics import Metrics
from app.providers.errors import ProviderError

P = TypeVar("P")
# Not calls to a vendor: closing the HTTP session at shutdown.
_NOT_INSTRUMENTED = frozenset({"aclose"})


class InstrumentedProvider:
    __slots__ = ("_implementation", "_kind", "_metrics", "_series", "_target")

    def __init__(self, target: object, kind: str, implementation: str, metrics: Metrics) -> None:
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_kind", kind)
        object.__setattr__(self, "_implementation", implementation)
        object.__setattr__(self, "_metrics", metrics)
        object.__setattr__(self, "_series", {})

    @property  # type: ignore[misc]  # isinstance(proxy, LocalBillingProvider) holds
    def __class__(self) -> type:
        return type(self._target)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if name.startswith("_") or name in _NOT_INSTRUMENTED:
            return value
        if not inspect.iscoroutinefunction(value):
            return value
        return self._instrumented(name, value)

    def __setattr__(self, name: str, value: object) -> None:
        setattr(self._target, name, value)  # a test patching a method patches the target

    def __delattr__(self, name: str) -> None:
        delattr(self._target, name)

    def __repr__(self) -> str:
        return f"<instrumented {self._target!r}>"

    def _instrumented(
        self, method: str, call: Callable[..., Awaitable[Any]]
    ) -> Callable[..., Awaitable[Any]]:
        metrics, kind = self._metrics, self._kind
        series = self._series.get(method) or self._series.setdefault(method, _Series(self, method))
        attributes = {"provider.kind": kind, "provider.implementation": self._implementation}

        @wraps(call)
        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                with metrics.tracer.span(f"{kind}.{method}", attributes):
                    result = await call(*args, **kwargs)
            except BaseException as error:
                series.failed(error, time.perf_counter() - started)
                raise
            series.succeeded(time.perf_counter() - started)
            return result

        return timed


class _Series:
    """One method's labelled counters and histogram, looked up once (a `labels()` call
    takes a lock and a dictionary lookup each time)."""

    def __init__(self, proxy: InstrumentedProvider, method: str) -> None:
        metrics = proxy._metrics
        self.labels = (proxy._kind, proxy._implementation, method)
        self.errors = metrics.provider_errors
        self.ok = metrics.provider_calls.labels(*self.labels, "ok")
        self.error = metrics.provider_calls.labels(*self.labels, "error")
        self.seconds = metrics.provider_seconds.labels(*self.labels)

    def succeeded(self, seconds: float) -> None:
        self.ok.inc()
        self.seconds.observe(seconds)

    def failed(self, error: BaseException, seconds: float) -> None:
        self.errors.labels(*self.labels, error_label(error)).inc()
        self.error.inc()
        self.seconds.observe(seconds)


def error_label(error: BaseException) -> str:
    """The provider error's class name (a bounded set: app.providers.errors and adapters'
    subclasses); a cancellation; anything else is a bug in the adapter."""
    if isinstance(error, ProviderError):
        return type(error).__name__
    if isinstance(error, Exception):
        return "unexpected"
    return "cancelled"


def instrumented(target: P, kind: str, implementation: str, metrics: Metrics) -> P:
    """`target` behind the proxy, typed as itself (the proxy forwards everything)."""
    proxy: Any = InstrumentedProvider(target, kind, implementation, metrics)
    return proxy  # type: ignore[no-any-return]


def unwrapped(provider: object) -> object:
    """The object behind a proxy (the provider itself otherwise)."""
    if type(provider) is InstrumentedProvider:
        return object.__getattribute__(provider, "_target")
    return provider
