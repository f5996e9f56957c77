"""A typed, per-request DataLoader: the keys asked for in one turn of the event loop are loaded
in one batch, each key once per request.

`DataLoader[K, V]` loads keys of type K into values of type V. Its batch function answers one
value per key, in the keys' order; a BaseException in place of a value fails that key alone
(a provider outage for one batch), an exception raised fails every key of the batch. A failed
key stays failed for the request, as a loaded one stays loaded (the cache holds futures).

The semantics are those of strawberry's DataLoader, which this replaces so that resolvers/
does not know strawberry: the batch starts on the loop's next turn, so every field resolved
in this turn adds its key first; a batch no caller awaits any more (all its futures
cancelled) is not loaded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

BatchLoad = Callable[[list[K]], Awaitable[Sequence[V | BaseException]]]


class Cache(Generic[K, V]):
    """The loader's futures by key; a subclass may answer some keys itself (`get`)."""

    def __init__(self) -> None:
        self.futures: dict[K, asyncio.Future[V]] = {}

    def get(self, key: K) -> asyncio.Future[V] | None:
        return self.futures.get(key)

    def set(self, key: K, future: asyncio.Future[V]) -> None:
        self.futures[key] = future


@dataclass(slots=True)
class _Batch(Generic[K, V]):
    keys: list[K] = field(default_factory=list)
    futures: list[asyncio.Future[V]] = field(default_factory=list)
    dispatched: bool = False
    task: asyncio.Task[None] | None = None

    def add(self, key: K, future: asyncio.Future[V]) -> None:
        self.keys.append(key)
        self.futures.append(future)
        future.add_done_callback(self._on_done)

    def _on_done(self, future: asyncio.Future[V]) -> None:
        """A batch whose every caller gave up is cancelled (graphql-core cancels the siblings
        of a failed field); `RequestContext.uncancelled` lets a started read finish."""
        if not future.cancelled() or self.task is None or self.task.done():
            return
        if all(f.cancelled() for f in self.futures):
            self.task.cancel()


class DataLoader(Generic[K, V]):
    def __init__(self, load_fn: BatchLoad[K, V], cache: Cache[K, V] | None = None) -> None:
        self._load_fn = load_fn
        self.cache: Cache[K, V] = Cache() if cache is None else cache
        self._batch: _Batch[K, V] | None = None

    def ready(self, key: K) -> asyncio.Future[V] | None:
        """The key's future if it is settled (loaded, primed or failed), else None."""
        future = self.cache.get(key)
        if future is not None and future.done() and not future.cancelled():
            return future
        return None

    def load(self, key: K) -> asyncio.Future[V]:
        future = self.cache.get(key)
        if future is not None and not future.cancelled():
            return future
        future = asyncio.get_running_loop().create_future()
        self.cache.set(key, future)
        self._current_batch().add(key, future)
        return future

    def load_many(self, keys: Iterable[K]) -> Awaitable[list[V]]:
        return asyncio.gather(*map(self.load, keys))

    def prime(self, key: K, value: V) -> None:
        """Holds `value` for `key` unless the key is already loaded or on its way."""
        if self.cache.get(key) is not None:
            return
        future = asyncio.get_running_loop().create_future()
        future.set_result(value)
        self.cache.set(key, future)

    def _current_batch(self) -> _Batch[K, V]:
        batch = self._batch
        if batch is not None and batch.keys and not batch.dispatched:
            return batch
        batch = self._batch = _Batch()
        loop = asyncio.get_running_loop()
        loop.call_soon(self._schedule, batch)
        return batch

    def _schedule(self, batch: _Batch[K, V]) -> None:
        batch.task = asyncio.get_running_loop().create_task(self._dispatch(batch))

    async def _dispatch(self, batch: _Batch[K, V]) -> None:
        batch.dispatched = True
        if not batch.keys or all(f.cancelled() for f in batch.futures):
            return
        try:
            values = list(await self._load_fn(batch.keys))
            if len(values) != len(batch.keys):
                raise ValueError(
                    f"the batch function answered {len(values)} values for {len(batch.keys)} keys"
                )
        except Exception as exc:
            for future in batch.futures:
                if not future.cancelled():
                    future.set_exception(exc)
            return
        for future, value in zip(batch.futures, values, strict=True):
            if future.cancelled():
                continue
            if isinstance(value, BaseException):
                future.set_exception(value)
            else:
                future.set_result(value)
