"""The mailer contract: deliver one e-mail, at most once per idempotency key where the
transport allows it.

The worker sends each notification's e-mail from the outbox, so a transport failure never
rolls back the change that caused it; `ProviderUnavailable` is retried with backoff and the
same key. SMTP cannot deduplicate a retried send by itself: the key becomes the Message-ID,
which lets receiving systems drop a duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class EmailMessage:
    to: str
    subject: str
    body: str


class Mailer(Protocol):
    async def send(self, message: EmailMessage, *, idempotency_key: str) -> None: ...
