"""The handoff outbox under kills and SMTP outages: no lost mail, no double mail, no double task.

A run is killed after each step that changes a CRM, the SMTP server or the warehouse (the on_step hook
raises a BaseException, the warehouse connection is dropped as a dead process would drop it), then run
again on a fresh connection; the CRMs and the SMTP sink keep what the killed run did to them.
"""

from collections import Counter
from datetime import UTC, datetime, timedelta

import duckdb
import pyarrow as pa
import pytest
from aiosmtpd.controller import Controller

from activation.handoff import run_handoffs
from activation.handoff.notify import message_id
from activation.mail import SmtpSettings
from sandbox.server import RESET
from tests.fixtures.salesforce import salesforce_client
from tests.fixtures.smtp import Inbox, _free_port

T = datetime(2026, 6, 1, 12, tzinfo=UTC)
HANDOFF_STEPS = (
    "decided",
    "owners_written",
    "owners_saved",
    "tasks_created",
    "tasks_saved",
    "mails_recorded",
    "mail_accepted",
    "mail_marked",
)
REMINDER_STEPS = ("reminders_recorded", "reminder_tasks_created", "reminder_tasks_saved", "mail_accepted")


@pytest.fixture(params=["as_configured", "one_at_a_time"])
def chunking(request, monkeypatch):
    """The run as it is, and with every chunk of payloads, handoffs and sent mails one long: a kill then
    also falls between the chunks of one step."""
    if request.param == "one_at_a_time":
        for name in ("PAYLOAD_CHUNK", "HANDOFF_CHUNK", "SEND_PAGE"):
            monkeypatch.setattr(f"activation.handoff.run.{name}", 1)
    return request.param


class Killed(BaseException):
    """The process died here (not an Exception: nothing in the run may catch it)."""


def _killer(step: str):
    def on_step(name: str) -> None:
        if name == step:
            raise Killed(step)

    return on_step


def _table(con, name, rows):
    con.register("rows", pa.Table.from_pylist(rows))
    con.execute(f"create or replace table {name} as select * from rows")
    con.unregister("rows")


def _world(sf_box, hs_box, path):
    """Two Salesforce leads (score, time) and a HubSpot contact (behaviour), reps, and their marts."""
    users = sf_box.emulator.seed(
        "User", [{"Username": "ann@x.io.sb", "LastName": "Ann", "Email": "ann@x.io", "IsActive": True}]
    )
    leads = sf_box.emulator.seed(
        "Lead",
        [{"LastName": n, "Company": "Acme", "Status": "Open - Not Contacted"} for n in ("Score", "Time")],
    )
    hs_box.emulator.seed_owners([{"id": "77", "email": "carl@x.io", "firstName": "Carl", "userId": 1}])
    (contact,) = hs_box.emulator.seed("contacts", [{"properties": {"email": "behavior@acme.io"}}])
    con = duckdb.connect(str(path))
    con.execute("create schema marts; create schema intermediate")
    people = {
        "score": (640, T - timedelta(days=3), leads[0], None),
        "time": (80, T - timedelta(days=20), leads[1], None),
        "behavior": (120, T - timedelta(days=2), None, contact),
    }
    _table(
        con,
        "intermediate.int_handoff_signals",
        [
            {
                "profile_id": pid,
                "lifecycle_stage": "lead",
                "is_customer": False,
                "lead_score": score,
                "country": None,
                "industry": None,
                "salesforce_lead_id": lead,
                "salesforce_contact_id": None,
                "hubspot_contact_id": hs,
                "nurturing_started_at": started,
                "interested_products": None,
            }
            for pid, (score, started, lead, hs) in people.items()
        ],
    )
    _table(
        con,
        "marts.customer_profiles",
        [
            {"profile_id": pid, "email": f"{pid}@acme.io", "first_name": pid.title(), "last_name": "Doe"}
            for pid in people
        ],
    )
    _table(
        con,
        "intermediate.int_handoff_behaviors",
        [{"profile_id": "behavior", "behavior": "demo_request", "last_occurred_at": T - timedelta(hours=1)}],
    )
    rep = {"open_lead_count": 0, "open_pipeline": 0, "department": None, "title": None}
    _table(
        con,
        "intermediate.int_handoff_reps",
        [
            {"crm": "salesforce", "rep_id": users[0], "email": "ann@x.io", "rep_name": "Ann", **rep},
            {"crm": "hubspot", "rep_id": "77", "email": "carl@x.io", "rep_name": "Carl", **rep},
        ],
    )
    _table(
        con,
        "marts.touchpoints",
        [
            {
                "profile_id": pid,
                "channel": "website",
                "occurred_at": T - timedelta(days=1),
                "event_name": "Pricing Viewed",
                "campaign": None,
                "page_path": "/pricing",
            }
            for pid in people
        ],
    )
    _table(con, "marts.lead_score_factors", [{"profile_id": "score", "factor": "fit", "points": 100}])
    con.close()
    return leads, contact


def _run(path, sf, hs, smtp, as_of, step=None):
    """One run on a fresh connection; a kill leaves the connection dropped, as a dead process would."""
    con = duckdb.connect(str(path))
    try:
        return run_handoffs(con, sf, hs, smtp, as_of=as_of, on_step=_killer(step) if step else None)
    except Killed:
        return None
    finally:
        con.close()


def _hs_tasks(hs, contact) -> int:
    return len(hs.crm.associations.v4.basic_api.get_page("contacts", contact, "tasks").results)


def _delivered(inbox) -> Counter:
    return Counter(str(m["Message-ID"]) for m in inbox.messages)


@pytest.mark.parametrize("step", HANDOFF_STEPS)
def test_a_kill_between_handoff_steps_loses_and_doubles_nothing(
    step, chunking, sf_sandbox_factory, hs_sandbox, smtp_sink, tmp_path
):
    sf_box = sf_sandbox_factory()
    leads, contact = _world(sf_box, hs_sandbox, tmp_path / "w.duckdb")
    sf, hs = salesforce_client(sf_box), hs_sandbox.client()
    smtp, inbox = smtp_sink
    path = tmp_path / "w.duckdb"

    assert _run(path, sf, hs, smtp, T, step) is None  # killed
    report = _run(path, sf, hs, smtp, T + timedelta(minutes=10))
    assert report is not None and report.errors == []

    expected = {message_id("handoff", pid, 1) for pid in ("score", "time", "behavior")} | {
        message_id("team_alert", "behavior", 1)
    }
    delivered = _delivered(inbox)
    assert set(delivered) == expected  # no mail lost, none sent under another id
    # one mail per handoff; only a kill between the server's acceptance and our commit can resend it,
    # under the same Message-ID (receivers discard a Message-ID they already hold)
    resent = {m for m, n in delivered.items() if n > 1}
    assert len(resent) <= (1 if step == "mail_accepted" else 0)
    assert {t["WhoId"] for t in sf_box.emulator.records("Task")} == set(leads)
    assert len(sf_box.emulator.records("Task")) == 2 and _hs_tasks(hs, contact) == 1
    with duckdb.connect(str(path)) as con:
        assert con.execute(
            "select count(*) from activation.lead_handoffs where notified_at is null or task_id is null"
        ).fetchall() == [(0,)]
        assert con.execute("select status, count(*) from activation.outbox group by status").fetchall() == [
            ("sent", 4)
        ]

    # a third run does nothing at all
    again = _run(path, sf, hs, smtp, T + timedelta(minutes=20))
    assert again.tasks_created == 0 and again.emails == {} and len(inbox.messages) == sum(delivered.values())


@pytest.mark.parametrize("lost_answer", [503, RESET])
def test_a_task_create_whose_answer_is_lost_is_looked_up_and_made_once(
    lost_answer, sf_sandbox_factory, hs_sandbox, smtp_sink, tmp_path
):
    sf_box = sf_sandbox_factory()
    leads, contact = _world(sf_box, hs_sandbox, tmp_path / "w.duckdb")
    sf, hs = salesforce_client(sf_box), hs_sandbox.client()
    sf_box.emulator.faults.fail_after_commit(lost_answer, 1, "/composite/sobjects", "POST")
    hs_sandbox.emulator.faults.fail_after_commit(lost_answer, 1, "/tasks/batch/create", "POST")

    report = _run(tmp_path / "w.duckdb", sf, hs, smtp_sink[0], T)
    # the same run finds what the lost answers created (by subject) and sends nothing twice
    assert report.errors == [] and report.tasks_created == 3
    assert len(sf_box.emulator.records("Task")) == 2 and _hs_tasks(hs, contact) == 1
    lost = 0 if lost_answer == RESET else 503
    assert [r.status for r in sf_box.emulator.requests_to("/composite/sobjects", "POST")] == [lost]
    assert [r.status for r in hs_sandbox.emulator.requests_to("/tasks/batch/create", "POST")] == [lost]
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        missing = con.execute("select count(*) from activation.lead_handoffs where task_id is null")
        assert missing.fetchall() == [(0,)]


@pytest.mark.parametrize("step", REMINDER_STEPS)
def test_a_kill_between_reminder_steps_loses_and_doubles_nothing(
    step, chunking, sf_sandbox_factory, hs_sandbox, smtp_sink, tmp_path
):
    sf_box = sf_sandbox_factory()
    leads, contact = _world(sf_box, hs_sandbox, tmp_path / "w.duckdb")
    sf, hs = salesforce_client(sf_box), hs_sandbox.client()
    smtp, inbox = smtp_sink
    path = tmp_path / "w.duckdb"
    assert _run(path, sf, hs, smtp, T).errors == []
    handoff_mails = len(inbox.messages)

    at = T + timedelta(days=2, hours=1)
    assert _run(path, sf, hs, smtp, at, step) is None
    report = _run(path, sf, hs, smtp, at + timedelta(minutes=10))
    assert report is not None and report.errors == [] and report.reminders == 0  # recorded by the killed run

    reminders = {message_id("reminder_1", pid, 1) for pid in ("score", "time", "behavior")}
    delivered = _delivered(inbox)
    assert {m for m in delivered if "reminder" in m} == reminders
    assert len(inbox.messages) - handoff_mails <= 3 + (1 if step == "mail_accepted" else 0)
    subjects = [t["Subject"] for t in sf_box.emulator.records("Task")]
    assert len(subjects) == 4 and sum(s.startswith("Reminder 1:") for s in subjects) == 2
    assert _hs_tasks(hs, contact) == 2
    with duckdb.connect(str(path)) as con:
        assert con.execute(
            "select reminders_sent, reminder_tasks_created, count(*) from activation.lead_handoffs "
            "group by all"
        ).fetchall() == [(1, 1, 3)]


def test_an_smtp_outage_is_retried_with_backoff_until_accepted(
    sf_sandbox_factory, hs_sandbox, smtp_sink, tmp_path
):
    sf_box = sf_sandbox_factory()
    _world(sf_box, hs_sandbox, tmp_path / "w.duckdb")
    sf, hs = salesforce_client(sf_box), hs_sandbox.client()
    smtp, inbox = smtp_sink
    down = SmtpSettings("127.0.0.1", _free_port(), smtp.sender, timeout_s=2)
    path = tmp_path / "w.duckdb"

    first = _run(path, sf, hs, down, T)
    assert first.emails == {"retrying": 4} and len(first.errors) == 4 and first.tasks_created == 3
    # before the backoff (5 minutes) has passed, nothing is tried again
    assert _run(path, sf, hs, down, T + timedelta(minutes=4)).emails == {}
    assert _run(path, sf, hs, down, T + timedelta(minutes=6)).emails == {"retrying": 4}
    with duckdb.connect(str(path)) as con:
        rows = con.execute(
            "select status, attempts, next_attempt_at - ? from activation.outbox group by all", [T]
        ).fetchall()
        assert rows == [("queued", 2, timedelta(minutes=16))]  # 6 + 10: doubled
        assert con.execute(
            "select count(*) from activation.lead_handoffs where notified_at is null"
        ).fetchall() == [(3,)]
    # the server is back: every queued mail goes out once, and the handoffs count as notified
    assert _run(path, sf, hs, smtp, T + timedelta(minutes=10)).emails == {}
    assert _run(path, sf, hs, smtp, T + timedelta(minutes=16)).emails == {"sent": 4}
    assert len(inbox.messages) == 4 and len(_delivered(inbox)) == 4
    assert _run(path, sf, hs, smtp, T + timedelta(hours=1)).emails == {}
    with duckdb.connect(str(path)) as con:
        assert con.execute(
            "select count(*) from activation.lead_handoffs where notified_at = ?", [T + timedelta(minutes=16)]
        ).fetchall() == [(3,)]
    assert len(sf_box.emulator.records("Task")) == 2


class _Refusing(Inbox):
    """The sink, refusing one recipient (550), as a server does a mailbox that is gone."""

    def __init__(self, refused: str):
        super().__init__()
        self.refused = refused

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == self.refused:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_sending_goes_on_past_a_page_of_refused_mail_and_stops_at_an_unreachable_server(
    sf_sandbox_factory, hs_sandbox, tmp_path, monkeypatch
):
    monkeypatch.setattr("activation.handoff.run.SEND_PAGE", 1)
    sf_box = sf_sandbox_factory()
    _world(sf_box, hs_sandbox, tmp_path / "w.duckdb")
    sf, hs = salesforce_client(sf_box), hs_sandbox.client()
    path = tmp_path / "w.duckdb"
    down = SmtpSettings("127.0.0.1", _free_port(), "revloop@sellwise.io", timeout_s=2)

    # unreachable: the first page fails, the others wait untried for the next run
    assert _run(path, sf, hs, down, T).emails == {"retrying": 1}
    with duckdb.connect(str(path)) as con:
        attempts = con.execute("select attempts, count(*) from activation.outbox group by all order by 1")
        assert attempts.fetchall() == [(0, 3), (1, 1)]

    # reachable, Ann's mailbox gone: her two pages fail, every other page is still sent in the same run
    port, inbox = _free_port(), _Refusing("ann@x.io")
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        smtp = SmtpSettings("127.0.0.1", port, "revloop@sellwise.io", timeout_s=5)
        report = _run(path, sf, hs, smtp, T + timedelta(minutes=10))
    finally:
        controller.stop()
    assert report.emails == {"sent": 2, "retrying": 2}
    assert {str(m["To"]) for m in inbox.messages} == {"carl@x.io", "sales-team@sellwise.io"}
