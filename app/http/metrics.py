"""GET /metrics (Prometheus text format) and the wrapper that counts and times GraphQL
requests.

Access: open in development and test; in production only with `Authorization: Bearer
<METRICS_TOKEN>` (compared in constant time), and a 404 when no token is set, so the figures
are never public by accident. Scrape it on each server process (each has its own counters);
the outbox gauges are read from the database, the same from any process."""

from __future__ import annotations

import hmac
import logging
import time

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import Settings
from app.domain.errors import ErrorCode
from app.http.errors import error_body
from app.observability.context import Observation, observing
from app.observability.metrics import CONTENT_TYPE
from app.observability.outbox import refresh_outbox_gauges
from app.observability.vendor_limits import refresh_vendor_limits
from app.runtime import Runtime

OBSERVATION_KEY = "observation"
log = logging.getLogger("fulfillment.requests")


def metrics_allowed(settings: Settings, authorization: str | None) -> bool | None:
    """True: serve; False: a wrong or missing token (401); None: not served here (404)."""
    token = settings.metrics_token
    if token is None:
        return None if settings.is_production else True
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


async def metrics_endpoint(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    allowed = metrics_allowed(runtime.settings, request.headers.get("authorization"))
    if allowed is None:
        body = error_body(ErrorCode.NOT_FOUND.value, "Not found.")
        return Response(body, 404, media_type="application/json")
    if not allowed:
        body = error_body(ErrorCode.UNAUTHENTICATED.value, "A metrics token is required.")
        headers = {"WWW-Authenticate": "Bearer"}
        return Response(body, 401, headers, media_type="application/json")
    await refresh_outbox_gauges(runtime.metrics, runtime.sessions, runtime.clock.now())
    settings, providers = runtime.settings, runtime.providers
    refresh_vendor_limits(
        runtime.metrics,
        {
            "billing": (settings.billing_provider, providers.billing),
            "crm": (settings.crm_provider, providers.crm),
        },
    )
    return Response(runtime.metrics.render(), media_type=CONTENT_TYPE)


def observation_of(scope: Scope) -> Observation | None:
    found = scope.get("state", {}).get(OBSERVATION_KEY)
    return found if isinstance(found, Observation) else None


class RequestMetrics:
    """Around the time limit and the GraphQL view: one count and one latency per request.
    The view fills in the operation, kind and outcome (schema.view); the time limit marks a
    timeout; otherwise the status says: 5xx an error, 4xx rejected."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        runtime: Runtime = scope["app"].state.runtime
        metrics = runtime.metrics
        observation = Observation()
        scope.setdefault("state", {})[OBSERVATION_KEY] = observation
        status = 500

        async def status_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = time.perf_counter()
        with observing(observation):
            try:
                with metrics.tracer.span("graphql", {"http.route": "/graphql"}) as span:
                    await self.app(scope, receive, status_send)
                    span.update_name(f"graphql {observation.operation}")
                    span.set_attribute("graphql.operation.name", observation.operation)
            finally:
                outcome, seconds = _outcome(observation, status), time.perf_counter() - started
                metrics.observe_request(observation.operation, observation.kind, outcome, seconds)
                # One line per request; the request id and operation come from the context.
                log.info("graphql %s %s %s in %.3fs", observation.kind, status, outcome, seconds)


def _outcome(observation: Observation, status: int) -> str:
    if observation.timed_out:
        return "timeout"
    if status >= 500:
        return "error"
    if observation.outcome is not None:
        return observation.outcome
    return "rejected" if status >= 400 else "ok"


class RouteMetrics:
    """Around one plain HTTP route (a webhook, the invoice PDF): one count, by its path
    template, method and status, and one latency per request. The template ("/invoices/
    {number}.pdf"), not the path, is the label, so invoice numbers never become series."""

    def __init__(self, app: ASGIApp, template: str) -> None:
        self.app = app
        self.template = template

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        metrics = scope["app"].state.runtime.metrics
        status = 500  # no answer started: the handler raised

        async def status_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, status_send)
        finally:
            seconds = time.perf_counter() - started
            metrics.observe_http(self.template, scope["method"], status, seconds)


def counted(route: Route) -> Route:
    """The same route with its requests counted by RouteMetrics under its path template.
    A method the route does not take is answered 405 by the router, before it: not counted."""
    methods = sorted(route.methods - {"HEAD"}) if route.methods else None
    return Route(route.path, RouteMetrics(route.app, route.path), methods=methods, name=route.name)
