"""SMTP delivery with the standard library, in a thread so the event loop never blocks.

Connection and 4xx failures are `ProviderUnavailable` (the outbox retries them); a 5xx
answer for the message is `ProviderRejected` (the outbox gives up and records it)."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage as MimeMessage

from app.providers.errors import ProviderRejected, ProviderUnavailable
from app.providers.mailer.protocol import EmailMessage

PROVIDER = "smtp"


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 10.0


class SmtpMailer:
    name = PROVIDER

    def __init__(self, settings: SmtpSettings) -> None:
        self._settings = settings

    async def send(self, message: EmailMessage, *, idempotency_key: str) -> None:
        mime = self._mime(message, idempotency_key)
        try:
            await asyncio.to_thread(self._deliver, mime)
        except smtplib.SMTPResponseException as error:
            failure = f"{error.smtp_code} {error.smtp_error!r}"
            if 400 <= error.smtp_code < 500:
                raise ProviderUnavailable(PROVIDER, failure) from error
            raise ProviderRejected(PROVIDER, "rejected", failure) from error
        except smtplib.SMTPRecipientsRefused as error:
            raise ProviderRejected(PROVIDER, "recipient_refused", str(error)) from error
        except (TimeoutError, smtplib.SMTPException, OSError) as error:
            raise ProviderUnavailable(PROVIDER, str(error) or type(error).__name__) from error

    def _mime(self, message: EmailMessage, idempotency_key: str) -> MimeMessage:
        mime = MimeMessage()
        mime["From"] = self._settings.sender
        mime["To"] = message.to
        mime["Subject"] = message.subject
        domain = self._settings.sender.rpartition("@")[2] or "localhost"
        # The same key gives the same Message-ID, so a retried send is recognisable.
        mime["Message-ID"] = f"<{_safe(idempotency_key)}@{domain}>"
        mime.set_content(message.body)
        return mime

    def _deliver(self, mime: MimeMessage) -> None:
        s = self._settings
        with smtplib.SMTP(s.host, s.port, timeout=s.timeout) as client:
            if s.starttls:
                # Verify the server's certificate and name: the default context of
                # `starttls()` does not, which would hand the password to anyone in between.
                client.starttls(context=ssl.create_default_context())
            if s.username:
                client.login(s.username, s.password or "")
            client.send_message(mime)


def _safe(key: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-." else "-" for ch in key)
