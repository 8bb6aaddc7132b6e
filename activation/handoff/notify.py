"""Notification e-mails: sent through SMTP when configured, every one recorded in activation.outbox."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import make_msgid
from typing import Any

from activation.mail import SmtpSettings, send_mail


@dataclass(frozen=True)
class Mail:
    """One e-mail about one handoff."""

    kind: str  # handoff | team_alert | reminder
    profile_id: str
    cycle: int
    to: Sequence[str]
    subject: str
    body: str


def deliver(smtp: SmtpSettings | None, mails: Sequence[Mail], now: datetime) -> list[dict[str, Any]]:
    """Send each mail (or queue it without SMTP); the outbox rows, with the error of a failed send."""
    rows = []
    for mail in mails:
        row = {
            "kind": mail.kind,
            "profile_id": mail.profile_id,
            "cycle": mail.cycle,
            "to_address": ", ".join(mail.to),
            "subject": mail.subject,
            "body": mail.body,
            "created_at": now,
            "sent_at": None,
            "error": None,
        }
        if not mail.to:
            rows.append({**row, "message_id": None, "status": "failed", "error": "no recipient address"})
        elif smtp is None:
            rows.append({**row, "message_id": make_msgid(domain="revloop.outbox"), "status": "queued"})
        else:
            try:
                message_id = send_mail(smtp, list(mail.to), mail.subject, mail.body)
                rows.append({**row, "message_id": message_id, "status": "sent", "sent_at": now})
            except (OSError, ValueError) as exc:  # smtplib errors are OSErrors: log the row, go on
                rows.append(
                    {
                        **row,
                        "message_id": f"<{uuid.uuid4().hex}@failed>",
                        "status": "failed",
                        "error": str(exc),
                    }
                )
    return rows
