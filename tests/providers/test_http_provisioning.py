"""The HTTP provisioning target against the fake receiver, over real HTTP: the exact body
and headers, the signature, partial failures, and the outbox retrying a push until it lands
once. What every target does is in contract/test_provisioning.py."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import FixedClock
from app.config import Settings
from app.db.tables import OutboxMessage, Subscription
from app.domain.enums import OutboxStatus
from app.providers.errors import ProviderRejected, ProviderUnavailable
from app.providers.provisioning import ProvisioningResult
from app.providers.provisioning.http import (
    HttpProvisioningTarget,
    HttpTargetSettings,
    PartialProvisioning,
)
from app.providers.registry import build_providers
from app.providers.signing import request_signature_header, signature_header
from app.runtime import Runtime, build_runtime
from app.services import outbox
from app.services.worker.options import WorkerOptions
from app.services.worker.outbox import OutboxJob
from tests.fakes.faults import Fault
from tests.fakes.provisioning import FakeReceiver
from tests.providers.factories import INSTANCE, NAMESPACE, entitlement, instance_entitlement
from tests.support import factories as f

SECRET = "test-provisioning-signing-secret-0123456789"
PROVISION = "/api/v4/internal/gitlab_subscriptions/namespaces/100042/provision"
PROVIDERS = Path(__file__).resolve().parents[2] / "docs" / "providers.md"
OTHER_NAMESPACE = "/api/v4/internal/gitlab_subscriptions/namespaces/100043/provision"


@pytest.fixture
async def receiver() -> AsyncIterator[FakeReceiver]:
    async with FakeReceiver(SECRET) as fake:
        yield fake


def _target(receiver: FakeReceiver, secret: str = SECRET) -> HttpProvisioningTarget:
    return HttpProvisioningTarget(HttpTargetSettings(receiver.url, secret, timeout_seconds=0.5))


@pytest.fixture
async def target(receiver: FakeReceiver) -> AsyncIterator[HttpProvisioningTarget]:
    target = _target(receiver)
    yield target
    await target.aclose()


async def test_the_body_is_gitlabs_provision_call(
    target: HttpProvisioningTarget, receiver: FakeReceiver
) -> None:
    await target.push(
        entitlement(add_ons=(("duo_pro", 5), ("duo_enterprise", 2))), idempotency_key="prov-1"
    )

    (post,) = receiver.posts()
    assert post.path == PROVISION
    assert json.loads(post.body) == {
        "provision": {
            "base_product": {
                "plan_code": "premium",
                "start_date": "2026-01-01",
                "end_date": "2027-01-01",
                "seats": 10,
            },
            "compute_minutes": {"extra_shared_runners_minutes_limit": 10_000},
            "storage": {
                "additional_purchased_storage_size": 10_240,  # MiB, as GitLab keeps it
                "additional_purchased_storage_ends_on": "2027-01-01",
            },
            "add_on_purchases": {
                "duo_enterprise": [
                    {
                        "started_on": "2026-01-01",
                        "expires_on": "2027-01-01",
                        "quantity": 2,
                        "trial": False,
                        "assigned_user_ids": [],
                    }
                ],
                "duo_pro": [
                    {
                        "started_on": "2026-01-01",
                        "expires_on": "2027-01-01",
                        "quantity": 5,
                        "trial": False,
                        "assigned_user_ids": [],
                    }
                ],
            },
        }
    }
    assert post.headers["Content-Type"] == "application/json"
    digest = entitlement(add_ons=(("duo_pro", 5), ("duo_enterprise", 2))).digest()
    assert post.headers["Idempotency-Key"] == f"prov-1:{digest[:16]}"


async def test_an_instance_gets_what_fits_a_self_managed_instance(
    target: HttpProvisioningTarget, receiver: FakeReceiver
) -> None:
    await target.push(instance_entitlement(add_ons=()), idempotency_key="prov-1")

    (post,) = receiver.posts()
    assert post.path == f"/api/v4/internal/gitlab_subscriptions/instances/{INSTANCE}/provision"
    assert json.loads(post.body) == {
        "provision": {
            "base_product": {
                "plan_code": "premium",
                "start_date": "2026-01-01",
                "end_date": "2027-01-01",
                "seats": 10,
            },
            "add_on_purchases": {},
        }
    }


async def test_a_namespace_path_is_escaped_into_one_segment(
    target: HttpProvisioningTarget, receiver: FakeReceiver
) -> None:
    await target.push(entitlement(deployment_ref="acme/corp"), idempotency_key="prov-1")

    assert receiver.received[0].path == (
        "/api/v4/internal/gitlab_subscriptions/namespaces/acme/corp/provision"
    )  # aiohttp decodes the path; it was sent as acme%2Fcorp, one segment
    assert list(receiver.provisions) == ["acme/corp"]


@pytest.mark.parametrize("ref", [".", ".."])
async def test_a_dot_segment_ref_is_refused_before_anything_is_sent(
    target: HttpProvisioningTarget, receiver: FakeReceiver, ref: str
) -> None:
    """The signature covers the body, not the path: a customer's deployment id `..` must not
    steer a signed request to another path of the receiver (the URL drops dot segments)."""
    with pytest.raises(ProviderRejected) as pushed:
        await target.push(entitlement(deployment_ref=ref), idempotency_key="prov-1")
    with pytest.raises(ProviderRejected) as read:
        await target.get([ref])

    assert pushed.value.code == read.value.code == "invalid_request"
    assert receiver.received == []


async def test_the_signature_is_an_hmac_of_the_timestamp_method_path_and_raw_body(
    target: HttpProvisioningTarget, receiver: FakeReceiver
) -> None:
    before = int(time.time())
    await target.push(entitlement(), idempotency_key="prov-1")
    await target.get([NAMESPACE])

    post, get = receiver.received
    for request in (post, get):
        fields = dict(
            item.split("=", 1) for item in request.headers["X-Fulfillment-Signature"].split(",")
        )
        assert sorted(fields) == ["t", "v1"]
        signed = f"{fields['t']}.{request.method}.{PROVISION}.".encode() + request.body
        assert fields["v1"] == hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
        assert before <= int(fields["t"]) <= time.time()
    assert get.body == b""
    assert receiver.refused == []


def _readme_verify() -> Callable[..., bool]:
    """The receiver's `verify` from docs/providers.md "Provisioning over HTTP", as copied."""
    section = PROVIDERS.read_text().split("## Provisioning over HTTP", 1)[1].split("\n## ", 1)[0]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    scope: dict[str, Any] = {}
    exec(compile(code, "docs/providers.md", "exec"), scope)
    return scope["verify"]  # type: ignore[no-any-return]


async def test_the_readme_receiver_verifies_the_targets_requests_and_no_replay(
    target: HttpProvisioningTarget, receiver: FakeReceiver
) -> None:
    verify = _readme_verify()
    await target.push(entitlement(), idempotency_key="prov-1")
    await target.get([NAMESPACE])

    post, get = receiver.received
    for request in (post, get):
        header = request.headers["X-Fulfillment-Signature"]
        assert verify(request.method, request.path, request.body, header, SECRET)
    header = post.headers["X-Fulfillment-Signature"]
    assert not verify("POST", OTHER_NAMESPACE, post.body, header, SECRET)
    assert not verify("GET", PROVISION, post.body, header, SECRET)
    assert not verify("POST", PROVISION, post.body + b" ", header, SECRET)
    assert not verify("POST", PROVISION, post.body, header, "another-secret")
    assert not verify("POST", PROVISION, post.body, header, SECRET, tolerance=-1)


@pytest.mark.parametrize(
    "receipt",
    [
        {"applied": True, "pushes": "many"},
        {"applied": True, "pushes": None},
        {"applied": True, "pushes": [1]},
        {"applied": True, "pushes": 1.5},
        {"applied": True, "pushes": -1},
        {"applied": "yes", "pushes": 1},
        ["applied"],
        "applied",
    ],
)
async def test_a_malformed_receipt_is_unavailable_not_a_crash(
    target: HttpProvisioningTarget, receiver: FakeReceiver, receipt: object
) -> None:
    """A broken receiver's 2xx is retried (the outbox backs off), never read as a result."""
    receiver.answer_with(receipt)

    with pytest.raises(ProviderUnavailable) as caught:
        await target.push(entitlement(), idempotency_key="prov-1")

    assert type(caught.value) is ProviderUnavailable
    assert caught.value.message.startswith("malformed receipt in a 2xx answer: ")
    result = await target.push(entitlement(), idempotency_key="prov-1")  # the retry lands
    assert (result.applied, result.pushes) == (True, 1)


async def _raw_post(
    receiver: FakeReceiver, body: bytes, headers: dict[str, str], *, path: str = PROVISION
) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.post(receiver.url + path, data=body, headers=headers) as response,
    ):
        return response.status


async def test_a_forged_or_unsigned_request_is_refused_by_the_receiver(
    receiver: FakeReceiver,
) -> None:
    body = json.dumps({"provision": {"base_product": {"seats": 1_000}}}).encode()
    now = int(time.time())
    key = {"Idempotency-Key": "forged-1"}

    def signed(content: bytes, secret: str = SECRET, at: int = now, path: str = PROVISION) -> str:
        return request_signature_header("POST", path, content, secret, at)

    attempts = [
        key,
        key | {"X-Fulfillment-Signature": signed(body, secret="guessed-secret")},
        key | {"X-Fulfillment-Signature": signed(b"{}")},
        key | {"X-Fulfillment-Signature": signed(body, at=now - 3_600)},
        key | {"X-Fulfillment-Signature": signed(body, path=OTHER_NAMESPACE)},
        key | {"X-Fulfillment-Signature": signature_header(body, SECRET, now)},  # body only
    ]

    statuses = [await _raw_post(receiver, body, headers) for headers in attempts]

    assert statuses == [401] * 6
    assert len(receiver.refused) == 6
    assert receiver.provisions == {}


async def test_a_captured_post_replayed_to_another_namespace_is_refused(
    target: HttpProvisioningTarget, receiver: FakeReceiver
) -> None:
    """The signature covers the method and path: a captured POST, sent again within the
    tolerance to another namespace's path with its body and headers, lands nothing."""
    await target.push(entitlement(), idempotency_key="prov-1")
    (post,) = receiver.posts()
    captured = {name: post.headers[name] for name in ("X-Fulfillment-Signature", "Idempotency-Key")}

    status = await _raw_post(receiver, post.body, captured, path=OTHER_NAMESPACE)

    assert status == 401
    assert [refused.path for refused in receiver.refused] == [OTHER_NAMESPACE]
    assert list(receiver.provisions) == [NAMESPACE]
    assert await _raw_post(receiver, post.body, captured) == 200  # where it was meant: a replay


async def test_a_target_with_the_wrong_secret_is_rejected_and_lands_nothing(
    receiver: FakeReceiver,
) -> None:
    target = _target(receiver, secret="not-the-receivers-secret-0123456789")

    with pytest.raises(ProviderRejected) as caught:
        await target.push(entitlement(), idempotency_key="prov-1")
    await target.aclose()

    assert caught.value.code == "unauthorized"
    assert "HTTP 401" in caught.value.message
    assert receiver.provisions == {}


async def test_a_redirect_is_not_followed_with_the_signed_request() -> None:
    """The signed entitlement goes to the configured receiver or nowhere."""
    followed: list[str] = []

    async def moved(_: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect("/elsewhere")

    async def elsewhere(request: web.Request) -> web.Response:
        followed.append(request.path)
        return web.json_response({"applied": True, "pushes": 1})

    app = web.Application()
    app.router.add_post(PROVISION, moved)
    app.router.add_post("/elsewhere", elsewhere)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    target = HttpProvisioningTarget(HttpTargetSettings(url, SECRET, timeout_seconds=0.5))
    try:
        with pytest.raises(ProviderUnavailable, match="unexpected answer HTTP 307"):
            await target.push(entitlement(), idempotency_key="prov-1")
    finally:
        await target.aclose()
        await runner.cleanup()

    assert followed == []


@contextlib.asynccontextmanager
async def _answering(body: bytes) -> AsyncIterator[HttpProvisioningTarget]:
    """A target whose receiver answers every POST 200 with `body`."""

    async def answer(_: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_post(PROVISION, answer)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    target = HttpProvisioningTarget(HttpTargetSettings(url, SECRET, timeout_seconds=2))
    try:
        yield target
    finally:
        await target.aclose()
        await runner.cleanup()


async def test_an_oversized_answer_is_unavailable_not_read_into_memory() -> None:
    huge = b'{"applied": true, "pad": "' + b"x" * (8 * 1024 * 1024) + b'"}'
    async with _answering(huge) as target:
        with pytest.raises(ProviderUnavailable, match="answer over"):
            await target.push(entitlement(), idempotency_key="prov-1")


async def test_a_partial_failure_names_the_failed_sections_and_is_retryable(
    target: HttpProvisioningTarget, receiver: FakeReceiver
) -> None:
    receiver.inject(Fault.PARTIAL)

    with pytest.raises(PartialProvisioning) as caught:
        await target.push(entitlement(), idempotency_key="prov-1")

    assert caught.value.sections == ("storage",)
    assert caught.value.retryable is True
    assert str(caught.value) == (
        "http: partial provisioning, failed: storage (storage could not be saved)"
    )
    assert receiver.provisions == {}


async def test_a_retry_of_one_message_with_a_newer_state_is_a_new_request(
    target: HttpProvisioningTarget, receiver: FakeReceiver
) -> None:
    """The outbox keeps the message's key while the entitlement is rebuilt at each attempt:
    a changed state under that key must land, not be refused as a reused key."""
    first = await target.push(entitlement(), idempotency_key="provision:7")
    later = await target.push(entitlement(compute_minutes=9_000), idempotency_key="provision:7")

    assert first == ProvisioningResult(deployment_ref=NAMESPACE, applied=True, pushes=1)
    assert later == ProvisioningResult(deployment_ref=NAMESPACE, applied=True, pushes=2)
    assert await target.get([NAMESPACE]) == {NAMESPACE: entitlement(compute_minutes=9_000)}


# -- through the outbox ---------------------------------------------------------------------

START = datetime(2026, 6, 1, 12, tzinfo=UTC)
OPTIONS = WorkerOptions(jitter=0, worker_id="worker-a")


@pytest.fixture
def runtime(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    target: HttpProvisioningTarget,
) -> Runtime:
    clock = FixedClock(START)
    providers = build_providers(settings, session_factory, clock)
    providers.provisioning = target
    return build_runtime(settings, sessions=session_factory, clock=clock, providers=providers)


async def _subscription(runtime: Runtime, pk: int) -> Subscription | None:
    async with runtime.sessions() as session:
        return await session.get(Subscription, pk, populate_existing=True)


async def test_the_outbox_retries_after_422_and_500_until_the_push_lands_once(
    db: AsyncSession, runtime: Runtime, receiver: FakeReceiver
) -> None:
    customer = await f.customer(db)
    where = await f.deployment(db, customer, external_id=NAMESPACE)
    sub = await f.subscription(db, customer, "premium", seats=12, deployment=where)
    key = f"provision:{sub.id}"
    await outbox.enqueue(db, outbox.PROVISION, {"subscription_id": sub.id}, key, now=START)
    await db.commit()
    receiver.inject(Fault.PARTIAL)
    receiver.inject(Fault.SERVER_ERROR)
    job, clock = OutboxJob(OPTIONS), runtime.clock
    assert isinstance(clock, FixedClock)

    errors = []
    for _ in range(3):
        assert await job.run(runtime, clock.now()) == 1
        (message,) = await outbox_rows(runtime, key)
        errors.append((message.status, message.attempts, message.last_error))
        clock.advance(timedelta(minutes=5))

    assert errors == [
        (
            OutboxStatus.PENDING,
            1,
            "http: partial provisioning, failed: storage (storage could not be saved)",
        ),
        (OutboxStatus.PENDING, 2, "http: HTTP 500: 500 Internal Server Error"),
        (OutboxStatus.DONE, 2, "http: HTTP 500: 500 Internal Server Error"),  # failures
    ]
    assert await job.run(runtime, clock.now()) == 0
    assert receiver.pushes == {NAMESPACE: 1}
    assert receiver.provisions[NAMESPACE]["base_product"]["seats"] == 12
    keys = {post.headers["Idempotency-Key"] for post in receiver.posts()}
    assert len(receiver.posts()) == 3
    assert len(keys) == 1 and keys.pop().startswith(f"{key}:")
    subscription = await _subscription(runtime, sub.id or 0)
    assert subscription is not None
    assert subscription.provisioning_status == "PROVISIONED"


async def outbox_rows(runtime: Runtime, key: str) -> list[OutboxMessage]:
    async with runtime.sessions() as session:
        query = sa.select(OutboxMessage).where(OutboxMessage.idempotency_key == key)
        return list((await session.scalars(query.execution_options(populate_existing=True))).all())
