"""Notification e-mails as an outbox: recorded with a stable Message-ID first, then sent until accepted."""

import hashlib
import html as html_text
import json
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from activation.mail import SmtpSession, SmtpSettings, connection_lost


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
    line: str = ""  # this mail's handoff in one line, for a digest
    digest_id: str | None = None  # the Message-ID of the digest that carries this mail instead


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
                # a mail in a digest is recorded but never sent itself: the digest is
                "status": "in_digest" if mail.digest_id else "queued" if mail.to else "failed",
                "error": None if mail.to else "no recipient address",
                "digest_id": mail.digest_id,
                "attempts": 0,
                "created_at": now,
                "next_attempt_at": now,
                "sent_at": None,
            }
        )
    return rows


def with_digests(mails: Sequence[Mail], min_handoffs: int | None) -> list[Mail]:
    """The mails to record, where every recipient with at least min_handoffs handoff mails in them gets
    one digest listing those handoffs instead (the handoff mails stay, as carried by the digest).

    A digest is a mail of kind 'digest' whose profile_id is 'digest:<key>', key a hash of the handoffs
    it lists: recording it again (a rerun) finds the same Message-ID.
    """
    if not min_handoffs:
        return list(mails)
    by_recipients: dict[tuple[str, ...], list[Mail]] = {}
    for mail in mails:
        if mail.kind == "handoff" and mail.to:
            by_recipients.setdefault(tuple(mail.to), []).append(mail)
    out, carried = [], {}
    for to, group in by_recipients.items():
        if len(group) < min_handoffs:
            continue
        listed = "\x1e".join(sorted(f"{m.profile_id}\x1f{m.cycle}" for m in group))
        key = hashlib.sha256(listed.encode()).hexdigest()[:32]
        digest_id = message_id("digest", f"digest:{key}", 0)
        carried |= {(m.profile_id, m.cycle): digest_id for m in group}
        lines = [m.line or m.subject for m in group]
        intro = f"You have {len(group)} new leads. Each one's profile, score and touches are in its CRM task."
        items = "".join(f"<li>{html_text.escape(line)}</li>" for line in lines)
        out.append(
            Mail(
                "digest",
                f"digest:{key}",
                0,
                list(to),
                f"{len(group)} new leads for you (revloop digest {key[:8]})",
                intro + "\n\n" + "\n".join(f"- {line}" for line in lines),
                f"<p>{html_text.escape(intro)}</p><ol>{items}</ol>",
            )
        )
    kept = [
        replace(m, digest_id=carried[(m.profile_id, m.cycle)])
        if m.kind == "handoff" and (m.profile_id, m.cycle) in carried
        else m
        for m in mails
    ]
    return kept + out


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


def _recipients(row: dict[str, Any]) -> list[str]:
    return [a.strip() for a in row["to_address"].split(",") if a.strip()]


def send_due(
    smtp: SmtpSettings,
    rows: Sequence[dict[str, Any]],
    now: datetime,
    base: timedelta,
    cap: timedelta,
    record: Callable[[Attempt], None],
    per_connection: int = 100,
    senders: int = 1,
) -> bool:
    """Send due outbox rows under their recorded Message-IDs: one SMTP connection per batch of
    per_connection rows, at most `senders` batches at once. False when a connection could not be opened.

    record() commits each outcome as soon as the server answered, one call at a time (it writes the
    warehouse). A message the server refuses fails alone; a connection lost mid-batch fails the message
    being sent and leaves the batch's unsent rows queued for the next run; once a connection cannot be
    opened, every row not yet tried fails (retried with backoff) without more connection attempts.
    """
    lock = threading.Lock()
    stop = threading.Event()  # a sender died (a kill in record): the others start nothing new
    unreachable: list[str] = []

    def fail(row: dict[str, Any], error: str) -> None:
        attempts = (row.get("attempts") or 0) + 1
        record(Attempt(row, None, error, now + backoff(attempts, base, cap)))

    def send_batch(batch: Sequence[dict[str, Any]]) -> None:
        if stop.is_set():
            return
        session = SmtpSession(smtp)
        if not unreachable:
            try:
                session.open()
            except OSError as exc:  # smtplib and ssl errors are OSErrors
                unreachable.append(str(exc) or type(exc).__name__)
        if session.closed:
            with lock:
                for row in batch:
                    fail(row, unreachable[0])
            return
        try:
            for row in batch:
                if stop.is_set():
                    return
                try:
                    session.send(
                        _recipients(row),
                        row["subject"],
                        row["body"],
                        html=row.get("html"),
                        message_id=row["message_id"],
                    )
                except (OSError, ValueError) as exc:
                    with lock:
                        fail(row, str(exc) or type(exc).__name__)
                    if connection_lost(exc):
                        return
                    continue
                with lock:
                    record(Attempt(row, now))
        finally:
            session.close()

    def guarded(batch: Sequence[dict[str, Any]]) -> None:
        try:
            send_batch(batch)
        except BaseException:
            stop.set()
            raise

    batches = [rows[i : i + per_connection] for i in range(0, len(rows), per_connection)]
    if senders <= 1 or len(batches) <= 1:
        for batch in batches:
            guarded(batch)
        return not unreachable
    with ThreadPoolExecutor(max_workers=senders, thread_name_prefix="smtp") as pool:
        futures = [pool.submit(guarded, batch) for batch in batches]
    for future in futures:
        future.result()  # the first sender's error, a kill included, reaches the caller
    return not unreachable


class SentJournal:
    """Outcomes recorded as each answer arrives, committed to the warehouse in groups.

    A warehouse commit costs ~10 ms here (an fsync), one per e-mail would cap a run near 100 mails/s. So an
    accepted mail is first appended to a journal file beside the warehouse (written before the next mail is
    sent: a killed process keeps it, the OS has it), and the journal is folded into the outbox every
    `every` outcomes, then emptied; a run first folds what a killed run left. Without a file (an in-memory
    warehouse) every outcome is committed at once. Failures are committed in the same groups, unjournaled:
    a lost one only means an earlier retry.
    """

    def __init__(
        self,
        path: Path | None,
        fold: Callable[[list[dict[str, Any]], list[dict[str, Any]]], None],
        every: int = 200,
    ):
        self.path, self.fold, self.every = path, fold, every if path else 1
        self.sent: list[dict[str, Any]] = []
        self.failed: list[dict[str, Any]] = []
        self._file = None

    def __enter__(self) -> "SentJournal":
        if self.path is not None:
            if self.path.exists():
                lines = self.path.read_text().splitlines()
                # a line cut by the kill is a mail not known as accepted: it is sent again
                self.sent = [row for line in lines if (row := _journal_row(line))]
                self.flush()
            self._file = self.path.open("a")
        return self

    def accepted(self, attempt: Attempt) -> None:
        row = attempt.row
        entry = {
            "message_id": row["message_id"],
            "kind": row["kind"],
            "profile_id": row["profile_id"],
            "cycle": row["cycle"],
            "sent_at": attempt.sent_at,
        }
        if self._file is not None:
            self._file.write(json.dumps({**entry, "sent_at": attempt.sent_at.isoformat()}) + "\n")
            self._file.flush()
        self.sent.append(entry)
        self._maybe_flush()

    def failed_attempt(self, attempt: Attempt) -> None:
        self.failed.append(
            {
                "message_id": attempt.row["message_id"],
                "error": attempt.error,
                "next_attempt_at": attempt.next_attempt_at,
            }
        )
        self._maybe_flush()

    def _maybe_flush(self) -> None:
        if len(self.sent) + len(self.failed) >= self.every:
            self.flush()

    def flush(self) -> None:
        """Commit the pending outcomes, then empty the journal (folding it twice changes nothing)."""
        if self.sent or self.failed:
            self.fold(self.sent, self.failed)
        self.sent, self.failed = [], []
        if self.path is not None:
            if self._file is not None:
                self._file.truncate(0)
                self._file.seek(0)
            elif self.path.exists():
                os.truncate(self.path, 0)

    def __exit__(self, exc_type, *exc_info) -> None:
        # a BaseException is a kill: what is journaled stays for the next run to fold
        if exc_type is None or issubclass(exc_type, Exception):
            self.flush()
        if self._file is not None:
            self._file.close()
            self._file = None


def _journal_row(line: str) -> dict[str, Any] | None:
    try:
        row = json.loads(line)
        return {**row, "sent_at": datetime.fromisoformat(row["sent_at"])}
    except (ValueError, KeyError, TypeError):
        return None
