"""When the database cannot serve a request right now: no connection came free within the
pool's wait, or the connection broke under the request (the server restarted, an idle
connection was cut off). Both pass: the answer is "try again shortly", not a bug."""

from __future__ import annotations

from sqlalchemy import exc

# What a refused caller is told to wait before trying again (HTTP Retry-After).
RETRY_AFTER_SECONDS = 1


def unavailable_cause(error: BaseException | None) -> BaseException | None:
    """The pool timeout or broken connection that `error` is or was raised from, if any."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, exc.TimeoutError):  # the pool's wait, not asyncio's
            return error
        if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
            return error
        seen.add(id(error))
        error = error.__cause__
    return None
