"""The SMTP mailer against a real SMTP server (aiosmtpd on loopback): delivery, the
Message-ID derived from the idempotency key, and how failures are typed."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from app.providers.errors import ProviderRejected, ProviderUnavailable
from app.providers.mailer import EmailMessage, SmtpMailer, SmtpSettings

MESSAGE = EmailMessage(to="owner@example.com", subject="Renewal", body="Renews on 1 July.")


class Inbox:
    """Accepts mail, or answers every message with `reply` (e.g. a 550 or a 451)."""

    def __init__(self) -> None:
        self.received: list[Any] = []
        self.reply = "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.reply.startswith("250"):
            self.received.append(envelope)
        return self.reply


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler, port = Inbox(), _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def _mailer(port: int) -> SmtpMailer:
    return SmtpMailer(
        SmtpSettings(host="127.0.0.1", port=port, sender="billing@vendor.test", timeout=5)
    )


async def test_delivers_with_a_message_id_from_the_key(inbox: tuple[Inbox, int]) -> None:
    handler, port = inbox

    await _mailer(port).send(MESSAGE, idempotency_key="notification:42:email")

    (envelope,) = handler.received
    assert (envelope.mail_from, envelope.rcpt_tos) == ("billing@vendor.test", [MESSAGE.to])
    mime = message_from_bytes(envelope.content)
    assert mime["Subject"] == "Renewal"
    assert mime["Message-ID"] == "<notification-42-email@vendor.test>"
    assert mime.get_payload(decode=True).decode().strip() == "Renews on 1 July."


async def test_a_permanent_refusal_is_rejected(inbox: tuple[Inbox, int]) -> None:
    handler, port = inbox
    handler.reply = "550 mailbox unavailable"

    with pytest.raises(ProviderRejected):
        await _mailer(port).send(MESSAGE, idempotency_key="k")


async def test_a_temporary_refusal_is_unavailable(inbox: tuple[Inbox, int]) -> None:
    handler, port = inbox
    handler.reply = "451 try again later"

    with pytest.raises(ProviderUnavailable):
        await _mailer(port).send(MESSAGE, idempotency_key="k")


async def test_no_server_is_unavailable() -> None:
    with pytest.raises(ProviderUnavailable):
        await _mailer(_free_port()).send(MESSAGE, idempotency_key="k")
