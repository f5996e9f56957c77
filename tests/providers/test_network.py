"""Deliveries to URLs an admin typed in reach public addresses only, when so configured
(production): a literal private address is refused before any connection, and a host name
resolving to one is refused by the resolver the connection is made through."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.providers.network import is_public
from app.providers.webhooks import WebhookSender
from tests.fakes.integration.receiver import FakeSubscriber


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.0.10", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("fe80::1%eth0", False),
        ("fd00::1", False),
        ("::ffff:10.0.0.1", False),
        ("8.8.8.8", True),
        ("2001:4860:4860::8888", True),
        ("::ffff:8.8.8.8", True),
    ],
)
def test_public_addresses(address: str, public: bool) -> None:
    assert is_public(address) is public


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[FakeSubscriber]:
    fake = FakeSubscriber()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_a_sender_for_public_addresses_reaches_no_private_one(
    receiver: FakeSubscriber, host: str
) -> None:
    receiver.reset()
    receiver.secrets["dwh"] = "s" * 32
    url = receiver.url("dwh").replace("127.0.0.1", host)
    guarded = WebhookSender(2.0, allow_private=False)
    try:
        sent = await guarded.send(url, b"{}", "s" * 32, "evt_1", "order.completed")
    finally:
        await guarded.aclose()

    assert (sent.status, sent.delivered) == (None, False)
    if host == "localhost":  # resolved, and every address it has dropped: no connection
        assert (sent.error or "").startswith("cannot reach the subscriber")
    else:
        assert sent.error == "refused: 127.0.0.1 is not a public address"
    assert receiver.attempts == []


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_private_addresses_are_reached_where_allowed(
    receiver: FakeSubscriber, host: str
) -> None:
    receiver.reset()
    receiver.secrets["dwh"] = "s" * 32
    sender = WebhookSender(2.0)
    try:
        url = receiver.url("dwh").replace("127.0.0.1", host)
        sent = await sender.send(url, b"{}", "s" * 32, "evt_2", "order.completed")
    finally:
        await sender.aclose()
    assert receiver.attempts == ["evt_2"]
    assert sent.status is not None
