"""Handoff notification benchmark: N outbox e-mails sent to an in-process aiosmtpd sink.

    python -m benchmarks.handoff --handoffs 10000

The outbox of a fresh warehouse holds N queued handoff e-mails (one per handoff, a realistic body); the
flush sends them the way the handoff step does (each marked sent in the warehouse as soon as the sink
accepted it) twice, each time on a fresh outbox:
  before  one SMTP conversation per e-mail, one at a time (the h/handoff code: send_mail per row);
  after   config/handoff.yml's messages_per_connection and parallel_senders.
  digest  the same handoffs as one e-mail per rep (notifications.digest_min_handoffs).
--latency-ms adds the server's own time to each EHLO and each DATA (a relay across a network), so that
the parallel senders have something to overlap. Prints wall time, e-mails per second, SMTP connections
the sink saw and e-mails it received; fails when a mail is missing or doubled.
"""

import argparse
import asyncio
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiosmtpd.controller import Controller

from activation.handoff.notify import Attempt, Mail, SentJournal, outbox_rows, send_due, with_digests
from activation.handoff.store import HandoffStore
from activation.mail import SmtpSettings
from benchmarks.crm import machine_line, peak_rss_mb
from revloop.config.handoff import Notifications, load_handoff_config
from revloop.warehouse import connect_warehouse

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
BASE, CAP = timedelta(minutes=5), timedelta(hours=6)
REPS = 40  # reps the handoffs are spread over
BODY = "You have a new standard lead.\n\n" + "\n".join(f"line {i}: profile detail" for i in range(60))


class Sink:
    """Counts connections (one EHLO each: the sink offers no STARTTLS) and Message-IDs received."""

    def __init__(self, latency_s: float):
        self.latency_s = latency_s
        self.lock = threading.Lock()
        self.connections = 0
        self.received: Counter[str] = Counter()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        with self.lock:
            self.connections += 1
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        return responses

    async def handle_DATA(self, server, session, envelope):
        message_id = next(
            (
                line.split(b":", 1)[1].strip().decode()
                for line in envelope.content.splitlines()
                if line.lower().startswith(b"message-id:")
            ),
            "",
        )
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        with self.lock:
            self.received[message_id] += 1
        return "250 OK"

    def reset(self) -> None:
        with self.lock:
            self.connections = 0
            self.received.clear()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def mails(n: int) -> list[Mail]:
    return [
        Mail("handoff", f"p{i:06d}", 1, [f"rep{i % REPS}@sellwise.io"], f"Follow up p{i:06d}", BODY)
        for i in range(n)
    ]


def flush(
    workdir: Path, name: str, n: int, smtp: SmtpSettings, bulk: Notifications | None
) -> tuple[float, int]:
    """Record n handoff mails in a fresh outbox (as digests when bulk says so), then send every due one
    as the handoff step does; seconds and the number of mails sent.

    bulk None: the h/handoff code's way, one conversation and one warehouse commit per mail.
    """
    warehouse = workdir / f"{name}.duckdb"
    recorded = with_digests(mails(n), bulk.digest_min_handoffs if bulk else None)
    with connect_warehouse(warehouse) as con:
        store = HandoffStore(con)
        store.save(outbox=outbox_rows(recorded, NOW))
        due = store.due_mails(NOW)
        started = time.perf_counter()
        if bulk is None:

            def record(attempt: Attempt) -> None:
                if attempt.sent_at is None:
                    raise RuntimeError(f"{attempt.row['message_id']} not sent: {attempt.error}")
                store.mark_sent(attempt.row["message_id"], attempt.sent_at, None)

            send_due(smtp, due, NOW, BASE, CAP, record, per_connection=1, senders=1)
        else:
            with SentJournal(workdir / f"{name}.jsonl", store.mark_outcomes) as journal:

                def record(attempt: Attempt) -> None:
                    if attempt.sent_at is None:
                        raise RuntimeError(f"{attempt.row['message_id']} not sent: {attempt.error}")
                    journal.accepted(attempt)

                send_due(
                    smtp,
                    due,
                    NOW,
                    BASE,
                    CAP,
                    record,
                    per_connection=bulk.messages_per_connection,
                    senders=bulk.parallel_senders,
                )
        seconds = time.perf_counter() - started
        (left,) = con.execute("select count(*) from activation.outbox where status <> 'sent'").fetchone()
        if left:
            raise RuntimeError(f"{left} outbox rows not marked sent")
    return seconds, len(due)


def report(name: str, seconds: float, sink: Sink, expected: int) -> bool:
    delivered = sum(sink.received.values())
    doubled = sum(1 for count in sink.received.values() if count > 1)
    print(
        f"  {name:50s} {seconds:7.1f} s {expected / seconds:8.0f} mails/s "
        f"{sink.connections:7,} connections {delivered:7,} received {doubled} doubled"
    )
    return delivered == expected and len(sink.received) == expected and not doubled


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--handoffs", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, default=2.0, help="server time per EHLO and per DATA")
    args = parser.parse_args(argv)
    settings = load_handoff_config().notifications
    sink = Sink(args.latency_ms / 1000)
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    smtp = SmtpSettings("127.0.0.1", port, "revloop@sellwise.io")
    ok = True
    print(machine_line())
    print(
        f"{args.handoffs:,} handoff e-mails to an in-process aiosmtpd sink, {args.latency_ms} ms server "
        "time per EHLO and per DATA"
    )
    try:
        with tempfile.TemporaryDirectory(prefix="bench-handoff-") as tmp:
            runs = [
                ("before", "before: one conversation, one commit per mail", None),
                (
                    "after",
                    f"after: {settings.messages_per_connection} per connection, "
                    f"{settings.parallel_senders} senders, journal",
                    settings.model_copy(update={"digest_min_handoffs": None}),
                ),
                (
                    "digest",
                    f"digest: one mail per rep ({REPS} reps)",
                    settings.model_copy(update={"digest_min_handoffs": 2}),
                ),
            ]
            for name, label, bulk in runs:
                sink.reset()
                seconds, sent = flush(Path(tmp), name, args.handoffs, smtp, bulk)
                ok &= report(label, seconds, sink, sent)
    finally:
        controller.stop()
    print(f"benchmark process peak RSS {peak_rss_mb():,.0f} MB")
    if not ok:
        print("FAILED: an e-mail was missing or doubled", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
