"""Integration subscribers (admins only): create, change, deactivate, and redeliver an event
(docs/api-guide.md "Integration events"). Every write checks its input before it changes anything,
and adds one audit row.

A subscriber's signing secret is generated here and shown once, in the answer to its
creation. It must be recoverable to sign each delivery, so it cannot be hashed: it is stored
encrypted with AES-GCM (the key: Settings.integration_key; the subscriber's public id is the
associated data, so a ciphertext copied onto another row does not decrypt)."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.auth.principals import Principal
from app.config import Environment, Settings
from app.db.tables import IntegrationEvent, IntegrationSubscriber, Subscription
from app.db.unit_of_work import unit_of_work
from app.domain.errors import DomainError, ErrorCode
from app.domain.public_ids import random_id
from app.providers.network import private_literal
from app.runtime import Runtime
from app.services import audit, integration_events

MAX_NAME = 200
MAX_URL = 2000
_SECRET_FORMAT = "v1"


@dataclass(frozen=True, slots=True)
class SubscriberInput:
    """What a create sets, or an update changes (None: left as it is)."""

    name: str | None = None
    url: str | None = None
    events: Sequence[str] | None = None
    active: bool | None = None


@dataclass(frozen=True, slots=True)
class Created:
    subscriber: IntegrationSubscriber
    secret: str  # the only time it is given out


@dataclass(frozen=True, slots=True)
class Redelivered:
    event: IntegrationEvent
    number: str  # its subscription's
    queued: int  # subscribers it is on its way to (queued now, or still queued)


async def create(
    runtime: Runtime, actor: Principal, given: SubscriberInput, attributed: audit.Attribution
) -> Created:
    settings, now = runtime.settings, runtime.clock.now()
    name = _name(given.name)
    url = check_url(given.url, settings)
    events = _events(given.events or ())
    secret = "whsec_" + secrets.token_urlsafe(32)
    public_id = random_id("isub")
    subscriber = IntegrationSubscriber(
        public_id=public_id,
        name=name,
        url=url,
        secret=encrypt_secret(settings, public_id, secret),
        events=events,
        created_at=now,
    )
    async with unit_of_work(runtime.sessions) as session:
        session.add(subscriber)
        await audit.record(
            session,
            actor,
            "integration_subscriber.created",
            ("IntegrationSubscriber", public_id),
            after=_summary(subscriber),
            attributed=attributed,
            now=now,
        )
    return Created(subscriber, secret)


async def update(
    runtime: Runtime,
    actor: Principal,
    public_id: str,
    given: SubscriberInput,
    attributed: audit.Attribution,
) -> IntegrationSubscriber:
    name = None if given.name is None else _name(given.name)
    url = None if given.url is None else check_url(given.url, runtime.settings)
    events = None if given.events is None else _events(given.events)

    def change(subscriber: IntegrationSubscriber, now: datetime) -> None:
        subscriber.name = name or subscriber.name
        subscriber.url = url or subscriber.url
        subscriber.events = subscriber.events if events is None else events
        if given.active is not None and given.active != subscriber.active:
            _set_active(subscriber, given.active, "admin", now)

    return await _changed(runtime, actor, public_id, "updated", change, attributed)


async def deactivate(
    runtime: Runtime, actor: Principal, public_id: str, attributed: audit.Attribution
) -> IntegrationSubscriber:
    """Nothing more is sent to it; deliveries still queued fail for good when their turn
    comes (and can be redelivered once it is active again)."""

    def change(subscriber: IntegrationSubscriber, now: datetime) -> None:
        if subscriber.active:
            _set_active(subscriber, False, "admin", now)

    return await _changed(runtime, actor, public_id, "deactivated", change, attributed)


async def _changed(
    runtime: Runtime,
    actor: Principal,
    public_id: str,
    action: str,
    change: Callable[[IntegrationSubscriber, datetime], None],
    attributed: audit.Attribution,
) -> IntegrationSubscriber:
    """`change` applied to the subscriber, with its audit row (before and after)."""
    now = runtime.clock.now()
    async with unit_of_work(runtime.sessions) as session:
        subscriber = await _subscriber(session, public_id)
        before = _summary(subscriber)
        change(subscriber, now)
        await audit.record(
            session,
            actor,
            f"integration_subscriber.{action}",
            ("IntegrationSubscriber", public_id),
            before=before,
            after=_summary(subscriber),
            attributed=attributed,
            now=now,
        )
    return subscriber


async def redeliver(
    runtime: Runtime, actor: Principal, event_public_id: str, attributed: audit.Attribution
) -> Redelivered:
    """Queue the event again to every active subscriber taking its kind (one that never had
    it too): same event id, same body, behind the subscription's deliveries still queued."""
    now = runtime.clock.now()
    async with unit_of_work(runtime.sessions) as session:
        event = await session.scalar(
            sa.select(IntegrationEvent).where(col(IntegrationEvent.public_id) == event_public_id)
        )
        if event is None:
            raise DomainError(ErrorCode.NOT_FOUND, "No such integration event.")
        number = await session.scalar(
            sa.select(col(Subscription.number)).where(col(Subscription.id) == event.subscription_id)
        )
        subscribers = await integration_events.subscribers_of(session, event.kind)
        for subscriber in subscribers:
            await integration_events.redeliver_to(session, event, subscriber, now=now)
        await audit.record(
            session,
            actor,
            "integration_event.redelivered",
            ("IntegrationEvent", event.public_id),
            after={"subscribers": [each.public_id for each in subscribers]},
            attributed=attributed,
            now=now,
        )
    return Redelivered(event, number or "", len(subscribers))


def check_url(url: str | None, settings: Settings) -> str:
    """http(s) with a host, no credentials, query-free fragments; https:// in production
    (as PROVISIONING_URL): the events and their signatures travel over TLS only."""
    cleaned = (url or "").strip()
    parts = urlsplit(cleaned)
    if len(cleaned) > MAX_URL or parts.scheme not in ("http", "https") or not parts.hostname:
        raise _invalid(f"The url must be an http(s):// URL with a host (at most {MAX_URL}).")
    if parts.username or parts.password:
        raise _invalid("The url must not carry credentials.")
    if parts.fragment:
        raise _invalid("The url must not have a #fragment.")
    if settings.environment is Environment.PRODUCTION and parts.scheme != "https":
        raise _invalid("The url must be https:// in production.")
    if not settings.integration_private_networks_allowed and (
        parts.hostname == "localhost" or private_literal(cleaned)
    ):
        raise _invalid("The url must point at a public address.")
    return cleaned


def encrypt_secret(settings: Settings, public_id: str, secret: str) -> str:
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(settings.integration_key).encrypt(nonce, secret.encode(), public_id.encode())
    return f"{_SECRET_FORMAT}:" + base64.urlsafe_b64encode(nonce + sealed).decode()


def decrypt_secret(settings: Settings, subscriber: IntegrationSubscriber) -> str:
    """The signing secret; ValueError when the stored one cannot be read (the key changed)."""
    version, _, encoded = subscriber.secret.partition(":")
    if version != _SECRET_FORMAT:
        raise ValueError(f"subscriber {subscriber.public_id}: unknown secret format")
    raw = base64.urlsafe_b64decode(encoded.encode())
    try:
        opened = AESGCM(settings.integration_key).decrypt(
            raw[:12], raw[12:], subscriber.public_id.encode()
        )
    except InvalidTag as error:
        raise ValueError(f"subscriber {subscriber.public_id}: secret unreadable") from error
    return opened.decode()


def set_gone(subscriber: IntegrationSubscriber, now: datetime) -> None:
    """It answered 410 Gone: nothing more is sent until an admin reactivates it."""
    _set_active(subscriber, False, "gone", now)


def _set_active(
    subscriber: IntegrationSubscriber, active: bool, reason: str, now: datetime
) -> None:
    subscriber.active = active
    subscriber.deactivated_at = None if active else now
    subscriber.deactivated_reason = None if active else reason


async def _subscriber(session: AsyncSession, public_id: str) -> IntegrationSubscriber:
    found = await session.scalar(
        sa.select(IntegrationSubscriber)
        .where(col(IntegrationSubscriber.public_id) == public_id)
        .with_for_update()
    )
    if found is None:
        raise DomainError(ErrorCode.NOT_FOUND, "No such integration subscriber.")
    return found


def _name(name: str | None) -> str:
    cleaned = (name or "").strip()
    if not cleaned or len(cleaned) > MAX_NAME:
        raise _invalid(f"The name must be 1 to {MAX_NAME} characters.")
    return cleaned


def _events(events: Sequence[str]) -> list[str]:
    """The kinds taken, sorted; empty: every kind (later ones included)."""
    unknown = sorted(set(events) - set(integration_events.KINDS))
    if unknown:
        kinds = ", ".join(integration_events.KINDS)
        raise _invalid(f"Unknown event kinds: {', '.join(unknown)}; known: {kinds}.")
    return sorted(set(events))


def _summary(subscriber: IntegrationSubscriber) -> dict[str, object]:
    """What the audit log keeps of a subscriber: never its secret."""
    return {
        "name": subscriber.name,
        "url": subscriber.url,
        "events": list(subscriber.events),
        "active": subscriber.active,
    }


def _invalid(message: str) -> DomainError:
    return DomainError(ErrorCode.VALIDATION, message)
