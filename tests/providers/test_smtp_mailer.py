"""The SMTP mailer against a real SMTP server (aiosmtpd on loopback): delivery, the
Message-ID derived from the idempotency key, and how failures are typed."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import ValidationError

from app.config import Settings
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


def _self_signed(tmp_path: Path) -> ssl.SSLContext:
    """A server context with a self-signed certificate for 127.0.0.1 (no CA trusts it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ip_address("127.0.0.1"))]), False
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context


async def test_starttls_refuses_a_certificate_nobody_vouches_for(tmp_path: Path) -> None:
    handler, port = Inbox(), _free_port()
    controller = Controller(
        handler, hostname="127.0.0.1", port=port, tls_context=_self_signed(tmp_path)
    )
    controller.start()
    mailer = SmtpMailer(
        SmtpSettings(
            host="127.0.0.1",
            port=port,
            sender="billing@vendor.test",
            username="billing",
            password="secret",
            starttls=True,
            timeout=5,
        )
    )
    try:
        with pytest.raises(ProviderUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
            await mailer.send(MESSAGE, idempotency_key="k")
    finally:
        controller.stop()
    assert handler.received == []


def test_a_smtp_login_needs_starttls() -> None:
    with pytest.raises(ValidationError, match="SMTP_STARTTLS"):
        Settings(smtp_username="billing", smtp_password="secret")
    assert Settings(smtp_username="billing", smtp_starttls=True).smtp_starttls
