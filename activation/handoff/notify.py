"""Notification e-mails as an outbox: recorded with a stable Message-ID first, then sent until accepted."""

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from activation.mail import SmtpSettings, send_mail


@dataclass(frozen=True)
class Mail:
    """One e-mail about one handoff: kind is handoff, team_alert or reminder_<n>."""

    kind: str
    profile_id: str
    cycle: int
    to: Sequence[str]
    subject: str
    body: str
    html: str | None = None


def message_id(kind: str, profile_id: str, cycle: int) -> str:
    """The Message-ID of a mail, a function of what it is about: every (re)send carries the same one."""
    key = hashlib.sha256(f"{profile_id}\x1f{cycle}\x1f{kind}".encode()).hexdigest()[:32]
    return f"<handoff.{kind}.{key}@revloop>"


def outbox_rows(mails: Sequence[Mail], now: datetime) -> list[dict[str, Any]]:
    """The outbox rows recording mails before any is sent: queued, or failed when there is no recipient."""
    rows = []
    for mail in mails:
        rows.append(
            {
                "message_id": message_id(mail.kind, mail.profile_id, mail.cycle),
                "kind": mail.kind,
                "profile_id": mail.profile_id,
                "cycle": mail.cycle,
                "to_address": ", ".join(mail.to),
                "subject": mail.subject,
                "body": mail.body,
                "html": mail.html,
                "status": "queued" if mail.to else "failed",
                "error": None if mail.to else "no recipient address",
                "attempts": 0,
                "created_at": now,
                "next_attempt_at": now,
                "sent_at": None,
            }
        )
    return rows


def backoff(attempts: int, base: timedelta, cap: timedelta) -> timedelta:
    """Wait before the next attempt after `attempts` failed ones: doubling from base, at most cap."""
    return min(base * 2 ** max(attempts - 1, 0), cap)


@dataclass(frozen=True)
class Attempt:
    """The outcome of one send: accepted (sent_at set) or failed with the error and the next try."""

    row: dict[str, Any]
    sent_at: datetime | None
    error: str | None = None
    next_attempt_at: datetime | None = None


def send_due(
    smtp: SmtpSettings,
    rows: Sequence[dict[str, Any]],
    now: datetime,
    base: timedelta,
    cap: timedelta,
    record: Callable[[Attempt], None],
) -> None:
    """Send each due outbox row under its recorded Message-ID; record() commits each outcome at once."""
    for row in rows:
        try:
            send_mail(
                smtp,
                [a.strip() for a in row["to_address"].split(",") if a.strip()],
                row["subject"],
                row["body"],
                html=row.get("html"),
                message_id=row["message_id"],
            )
        except (OSError, ValueError) as exc:  # smtplib and ssl errors are OSErrors: retried next run
            attempts = (row.get("attempts") or 0) + 1
            record(Attempt(row, None, str(exc) or type(exc).__name__, now + backoff(attempts, base, cap)))
            continue
        record(Attempt(row, now))
