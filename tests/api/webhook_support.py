"""Stripe webhook deliveries for the API tests: signed events posted over HTTP, the worker's
outbox run, and counts of what was stored."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.clock import Clock
from app.config import Settings
from app.db.tables import OutboxMessage, WebhookEvent
from app.providers.registry import build_providers
from app.runtime import Runtime, build_runtime
from app.services.inbound.events import PROCESS
from app.services.worker.options import WorkerOptions
from app.services.worker.outbox import OutboxJob
from app.services.worker.runner import Worker
from tests.fakes.stripe.signing import signature_header

SECRET = "whsec_test_0123456789abcdef"
URL = "/webhooks/stripe"


def hooked_runtime(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> Runtime:
    """A runtime whose settings carry the webhook secret."""
    hooked = settings.model_copy(update={"stripe_webhook_secret": SECRET})
    providers = build_providers(hooked, sessions, clock)
    return build_runtime(hooked, sessions=sessions, clock=clock, providers=providers)


def event(event_type: str, obj: dict[str, Any], event_id: str | None = None) -> bytes:
    """A Stripe event's JSON, as Stripe sends it (the fields the route reads, and more)."""
    return orjson.dumps(
        {
            "id": event_id or f"evt_{uuid.uuid4().hex[:24]}",
            "object": "event",
            "api_version": "2025-01-27.acacia",
            "created": int(time.time()),
            "livemode": False,
            "type": event_type,
            "data": {"object": obj},
        }
    )


async def deliver(
    client: httpx.AsyncClient,
    body: bytes,
    *,
    secret: str = SECRET,
    timestamp: int | None = None,
    signature: str | None = None,
    unsigned: bool = False,
) -> httpx.Response:
    """POST the body with a Stripe-Signature for it signed now (or the given header, or
    none when `unsigned`)."""
    header = signature
    if header is None:
        header = signature_header(body, secret, timestamp or int(time.time()))
    headers = {"Content-Type": "application/json"}
    if not unsigned:
        headers["Stripe-Signature"] = header
    return await client.post(URL, content=body, headers=headers)


async def run_outbox(runtime: Runtime) -> dict[str, int]:
    """The worker's outbox until nothing is due (the lifecycle jobs are not the subject)."""
    options = WorkerOptions(jitter=0, worker_id="webhooks")
    return await Worker(runtime, options, jobs=[OutboxJob(options)]).run_once()


async def stored(db: AsyncSession) -> tuple[int, int]:
    """(webhook events, their outbox messages)."""
    events = await db.scalar(sa.select(sa.func.count()).select_from(WebhookEvent))
    messages = await db.scalar(
        sa.select(sa.func.count()).where(col(OutboxMessage.topic) == PROCESS)
    )
    return events or 0, messages or 0


async def outcomes(db: AsyncSession) -> list[tuple[str, str | None]]:
    """(type, outcome) of each stored event, in the order received."""
    rows = await db.execute(
        sa.select(col(WebhookEvent.type), col(WebhookEvent.outcome))
        .order_by(col(WebhookEvent.id))
        .execution_options(populate_existing=True)
    )
    return [(row[0], row[1]) for row in rows]
