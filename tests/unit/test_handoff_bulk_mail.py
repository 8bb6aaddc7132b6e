"""Notifications in bulk: one SMTP connection per batch, parallel senders, per-message outcomes, the sent
journal that survives a kill, and the per-rep digest."""

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import duckdb
import pytest
from aiosmtpd.controller import Controller

from activation.handoff.notify import Mail, SentJournal, message_id, outbox_rows, send_due, with_digests
from activation.handoff.store import HandoffStore
from activation.mail import SmtpSettings
from tests.fixtures.smtp import _free_port

NOW = datetime(2026, 6, 1, tzinfo=UTC)
MINUTE, HOUR = timedelta(minutes=1), timedelta(hours=1)


class Sink:
    """Counts connections (EHLOs: no STARTTLS offered) and Message-IDs; refuses some recipients, and
    answers 421 (closing) to the DATA of one Message-ID."""

    def __init__(self, refuse: set[str] = frozenset(), close_on: str | None = None):
        self.refuse, self.close_on = refuse, close_on
        self.lock = threading.Lock()
        self.connections = 0
        self.received: Counter[str] = Counter()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        with self.lock:
            self.connections += 1
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        text = envelope.content.decode()
        mid = next(
            line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("Message-ID")
        )
        if mid == self.close_on:
            return "421 4.3.2 shutting down"
        with self.lock:
            self.received[mid] += 1
        return "250 OK"


@pytest.fixture
def sink_factory() -> Iterator:
    controllers = []

    def start(**options) -> tuple[SmtpSettings, Sink]:
        port, sink = _free_port(), Sink(**options)
        controller = Controller(sink, hostname="127.0.0.1", port=port)
        controller.start()
        controllers.append(controller)
        return SmtpSettings("127.0.0.1", port, "revloop@sellwise.io", timeout_s=5), sink

    yield start
    for controller in controllers:
        controller.stop()


def _rows(n: int, to=lambda i: f"rep{i % 3}@x.io") -> list[dict]:
    return outbox_rows(
        [Mail("handoff", f"p{i:03d}", 1, [to(i)], f"Follow up {i}", "body") for i in range(n)], NOW
    )


def _send(smtp, rows, per_connection=100, senders=1):
    attempts = []
    send_due(smtp, rows, NOW, MINUTE, HOUR, attempts.append, per_connection=per_connection, senders=senders)
    return attempts


@pytest.mark.parametrize("senders", [1, 3])
def test_one_connection_per_batch_and_each_mail_once(sink_factory, senders):
    smtp, sink = sink_factory()
    rows = _rows(250)
    attempts = _send(smtp, rows, per_connection=100, senders=senders)
    assert sink.connections == 3  # 100 + 100 + 50
    assert sorted(sink.received) == sorted(r["message_id"] for r in rows)
    assert set(sink.received.values()) == {1}
    assert len(attempts) == 250 and all(a.sent_at == NOW for a in attempts)


def test_a_refused_recipient_fails_alone(sink_factory):
    smtp, sink = sink_factory(refuse={"gone@x.io"})
    rows = _rows(5, to=lambda i: "gone@x.io" if i == 2 else f"rep{i}@x.io")
    attempts = []
    assert send_due(smtp, rows, NOW, MINUTE, HOUR, attempts.append) is True  # the server was reached
    attempts = {a.row["message_id"]: a for a in attempts}
    refused = attempts.pop(rows[2]["message_id"])
    assert refused.sent_at is None and "no such user" in refused.error
    assert refused.next_attempt_at == NOW + MINUTE
    assert all(a.sent_at == NOW for a in attempts.values()) and len(attempts) == 4
    assert sink.connections == 1 and len(sink.received) == 4


def test_a_connection_closed_mid_batch_leaves_the_rest_queued(sink_factory):
    rows = _rows(6)
    smtp, sink = sink_factory(close_on=rows[2]["message_id"])
    attempts = _send(smtp, rows, per_connection=100)
    # two accepted, the third failed (421), the last three not tried: still queued, no attempt counted
    assert [(a.row["message_id"], a.sent_at is not None) for a in attempts] == [
        (rows[0]["message_id"], True),
        (rows[1]["message_id"], True),
        (rows[2]["message_id"], False),
    ]
    assert "shutting down" in attempts[2].error and len(sink.received) == 2


def test_an_unreachable_server_fails_every_batch_after_one_connection_attempt():
    smtp = SmtpSettings("127.0.0.1", _free_port(), "revloop@x.io", timeout_s=2)
    attempts = []
    reached = send_due(smtp, _rows(7), NOW, MINUTE, HOUR, attempts.append, per_connection=2, senders=2)
    assert reached is False
    assert len(attempts) == 7 and all(a.sent_at is None and a.error for a in attempts)
    assert len({a.error for a in attempts}) == 1


class Killed(BaseException):
    pass


def _store(tmp_path) -> HandoffStore:
    return HandoffStore(duckdb.connect(str(tmp_path / "w.duckdb")))


def _handoff(profile_id: str) -> dict:
    return {"profile_id": profile_id, "cycle": 1, "state": "handed_off", "handed_off_at": NOW}


def _notified(store: HandoffStore) -> dict[str, object]:
    rows = store.rows("select profile_id, notified_at from activation.lead_handoffs")
    return {r["profile_id"]: r["notified_at"] for r in rows}


def test_the_journal_keeps_what_a_killed_run_had_sent(sink_factory, tmp_path):
    smtp, sink = sink_factory()
    store = _store(tmp_path)
    rows = _rows(5)
    store.save(handoffs=[_handoff(r["profile_id"]) for r in rows], outbox=rows)
    journal_path = tmp_path / "sent.jsonl"

    def record_then_die(journal):
        def record(attempt):
            journal.accepted(attempt)
            if len(sink.received) == 3:
                raise Killed()

        return record

    with pytest.raises(Killed), SentJournal(journal_path, store.mark_outcomes, every=200) as journal:
        send_due(smtp, store.due_mails(NOW), NOW, MINUTE, HOUR, record_then_die(journal))
    assert len(journal_path.read_text().splitlines()) == 3  # journaled, not yet in the warehouse
    assert store.rows("select count(*) as n from activation.outbox where status = 'sent'")[0]["n"] == 0

    # the next run folds the journal before it reads what is due: the three are not sent again
    with SentJournal(journal_path, store.mark_outcomes) as journal:
        due = store.due_mails(NOW)
        assert len(due) == 2
        send_due(smtp, due, NOW, MINUTE, HOUR, journal.accepted)
    assert journal_path.read_text() == ""
    assert set(sink.received.values()) == {1} and len(sink.received) == 5
    assert set(_notified(store).values()) == {NOW}


def test_outcomes_are_committed_in_groups(tmp_path, sink_factory):
    smtp, _ = sink_factory()
    store = _store(tmp_path)
    store.save(outbox=_rows(10))
    folds = []

    def fold(sent, failed):
        folds.append(len(sent))
        store.mark_outcomes(sent, failed)

    with SentJournal(tmp_path / "sent.jsonl", fold, every=4) as journal:
        send_due(smtp, store.due_mails(NOW), NOW, MINUTE, HOUR, journal.accepted)
    assert folds == [4, 4, 2]
    assert store.rows("select status, count(*) as n from activation.outbox group by all") == [
        {"status": "sent", "n": 10}
    ]


def test_a_rep_with_many_handoffs_gets_one_digest(tmp_path, sink_factory):
    smtp, sink = sink_factory()
    mails = [
        Mail("handoff", f"a{i}", 1, ["ann@x.io"], f"Follow up a{i}", "body", line=f"lead a{i}")
        for i in range(3)
    ]
    mails += [Mail("handoff", "b0", 1, ["bob@x.io"], "Follow up b0", "body")]
    mails += [Mail("team_alert", "a0", 1, ["team@x.io"], "Alert a0", "body")]
    recorded = with_digests(mails, 3)
    assert with_digests(mails, 3) == recorded  # same handoffs, same digest Message-ID
    (digest,) = [m for m in recorded if m.kind == "digest"]
    assert digest.to == ["ann@x.io"] and digest.subject.startswith("3 new leads")
    assert all(f"lead a{i}" in digest.body for i in range(3))
    rows = outbox_rows(recorded, NOW)
    status = {(r["kind"], r["profile_id"]): r["status"] for r in rows}
    assert [status[("handoff", f"a{i}")] for i in range(3)] == ["in_digest"] * 3
    assert status[("handoff", "b0")] == status[("team_alert", "a0")] == "queued"

    store = _store(tmp_path)
    store.save(handoffs=[_handoff(p) for p in ("a0", "a1", "a2", "b0")], outbox=rows)
    due = store.due_mails(NOW)
    assert sorted(r["kind"] for r in due) == ["digest", "handoff", "team_alert"]
    with SentJournal(tmp_path / "sent.jsonl", store.mark_outcomes) as journal:
        send_due(smtp, due, NOW, MINUTE, HOUR, journal.accepted)
    assert sink.received.keys() == {r["message_id"] for r in due}
    assert message_id("handoff", "a0", 1) not in sink.received
    assert set(_notified(store).values()) == {NOW}
    assert store.rows("select count(*) as n from activation.outbox where status <> 'sent'")[0]["n"] == 0


def test_no_digest_below_the_threshold_or_when_off():
    mails = [Mail("handoff", f"a{i}", 1, ["ann@x.io"], f"s{i}", "body") for i in range(3)]
    assert with_digests(mails, 4) == mails and with_digests(mails, None) == mails
