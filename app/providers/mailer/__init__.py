"""Mailers: the protocol, its record, the embedded mailbox and SMTP."""

from app.providers.mailer.local import LocalMailer
from app.providers.mailer.protocol import EmailMessage, Mailer
from app.providers.mailer.smtp import SmtpMailer, SmtpSettings

__all__ = ["EmailMessage", "LocalMailer", "Mailer", "SmtpMailer", "SmtpSettings"]
