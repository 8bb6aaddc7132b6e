"""Notification e-mail over SMTP, configured by SMTP_HOST, SMTP_PORT and SMTP_FROM."""

import os
import smtplib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid


class MailConfigError(ValueError):
    """The SMTP variables are set but unusable."""


@dataclass(frozen=True)
class SmtpSettings:
    """Where notification e-mails go; the password, if any, stays out of repr and logs."""

    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    timeout_s: float = 30.0

    def __repr__(self) -> str:
        return f"SmtpSettings(host={self.host!r}, port={self.port}, sender={self.sender!r})"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "SmtpSettings | None":
        """Settings from the environment, or None when SMTP_HOST is unset (e-mails go to the outbox)."""
        env = os.environ if env is None else env
        host = env.get("SMTP_HOST", "").strip()
        if not host:
            return None
        port_text = env.get("SMTP_PORT", "").strip() or "25"
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise MailConfigError(f"SMTP_PORT must be a port number, got {port_text!r}")
        sender = env.get("SMTP_FROM", "").strip()
        if "@" not in sender:
            raise MailConfigError("SMTP_FROM must be the sender's e-mail address when SMTP_HOST is set")
        return cls(
            host=host,
            port=int(port_text),
            sender=sender,
            username=env.get("SMTP_USERNAME") or None,
            password=env.get("SMTP_PASSWORD") or None,
        )


def build_message(sender: str, to: Sequence[str], subject: str, body: str) -> EmailMessage:
    """A plain-text message with its own Message-ID, so a receiver can tell a resend from a new mail."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(body)
    return message


def send_mail(settings: SmtpSettings, to: Sequence[str], subject: str, body: str) -> str:
    """Send one e-mail; returns its Message-ID. Uses STARTTLS when the server offers it."""
    if not to:
        raise ValueError("an e-mail needs at least one recipient")
    message = build_message(settings.sender, to, subject, body)
    with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_s) as smtp:
        smtp.ehlo()
        if smtp.has_extn("starttls"):
            smtp.starttls()
            smtp.ehlo()
        if settings.username:
            smtp.login(settings.username, settings.password or "")
        smtp.send_message(message)
    return message["Message-ID"]
