"""run_handoffs against the sandbox CRMs (real clients), a DuckDB warehouse and a local SMTP sink."""

from datetime import UTC, datetime, timedelta

import duckdb
import pyarrow as pa
import pytest

from activation.handoff import run_handoffs
from tests.fixtures.salesforce import salesforce_client

T = datetime(2026, 6, 1, 12, tzinfo=UTC)


def _table(con, name, rows):
    con.register("rows", pa.Table.from_pylist(rows))
    con.execute(f"create or replace table {name} as select * from rows")
    con.unregister("rows")


def _warehouse(con, leads, hs_contact, reps):
    """The marts and handoff models run_handoffs reads, as dbt would have built them."""
    con.execute("create schema marts; create schema intermediate")
    people = {
        "score": dict(lead_score=640, nurturing_started_at=T - timedelta(days=3), crm=("sf", leads[0])),
        "behavior": dict(lead_score=120, nurturing_started_at=T - timedelta(days=2), crm=("hs", hs_contact)),
        "time": dict(lead_score=80, nurturing_started_at=T - timedelta(days=20), crm=("sf", leads[1])),
        "quiet": dict(lead_score=80, nurturing_started_at=T - timedelta(days=2), crm=("sf", leads[2])),
    }
    signals, profiles = [], []
    for pid, p in people.items():
        system, record = p["crm"]
        signals.append(
            {
                "profile_id": pid,
                "email": f"{pid}@acme.io",
                "country": "Germany",
                "industry": None,
                "lifecycle_stage": "lead",
                "is_customer": False,
                "lead_score": p["lead_score"],
                "salesforce_lead_id": record if system == "sf" else None,
                "salesforce_contact_id": None,
                "hubspot_contact_id": record if system == "hs" else None,
                "nurturing_started_at": p["nurturing_started_at"],
                "last_nurtured_at": T - timedelta(days=1),
                "interested_products": "analytics" if pid == "score" else None,
            }
        )
        profiles.append(
            {
                "profile_id": pid,
                "email": f"{pid}@acme.io",
                "first_name": pid.title(),
                "last_name": "Doe",
                "phone": None,
                "company_name": "Acme",
                "job_title": "VP Sales",
                "country": "Germany",
                "industry": None,
                "lifecycle_stage": "lead",
                "lead_score": p["lead_score"],
                "purchase_likelihood": 0.4,
                "engagement_potential": 0.7,
                "engagement_level": "high",
                "top_interest": "page:pricing",
                "interests": "page:pricing",
                "employee_count": 120,
                "annual_revenue": 5e6,
                "first_seen_at": T - timedelta(days=60),
                "last_seen_at": T,
            }
        )
    _table(con, "intermediate.int_handoff_signals", signals)
    _table(con, "marts.customer_profiles", profiles)
    _table(
        con,
        "intermediate.int_handoff_behaviors",
        [{"profile_id": "behavior", "behavior": "demo_request", "last_occurred_at": T - timedelta(hours=1)}],
    )
    _table(con, "intermediate.int_handoff_reps", reps)
    _table(
        con,
        "intermediate.int_handoff_crm_statuses",
        [
            {
                "crm": "salesforce",
                "crm_record_id": lead,
                "lead_status": "Open - Not Contacted",
                "updated_at": T - timedelta(days=30),
            }
            for lead in leads
        ],
    )
    _table(
        con,
        "marts.engagement_history",
        [
            {
                "profile_id": pid,
                "channel": "email",
                "touch_count": 9,
                "interaction_count": 4,
                "last_touch_at": T - timedelta(days=1),
            }
            for pid in people
        ],
    )
    _table(
        con,
        "marts.lead_score_factors",
        [{"profile_id": pid, "factor": "fit:title:vp", "points": 130} for pid in people],
    )
    _table(
        con,
        "marts.touchpoints",
        [
            {
                "profile_id": pid,
                "channel": "email",
                "occurred_at": T - timedelta(days=1),
                "event_name": "Email Opened",
                "campaign": "Q1 Newsletter",
            }
            for pid in people
        ],
    )


def _statuses(con, updates):
    for record, status in updates.items():
        con.execute(
            "update intermediate.int_handoff_crm_statuses set lead_status = ? where crm_record_id = ?",
            [status, record],
        )


# payloads read for all due leads at once, or one lead at a time (a large run reads them in chunks)
@pytest.mark.parametrize("payload_chunk", [2000, 1])
def test_handoffs_end_to_end_on_the_sandbox(
    sf_sandbox_factory, hs_sandbox, smtp_sink, tmp_path, monkeypatch, payload_chunk
):
    monkeypatch.setattr("activation.handoff.run.PAYLOAD_CHUNK", payload_chunk)
    sf_box = sf_sandbox_factory()
    users = sf_box.emulator.seed(
        "User",
        [
            {"Username": "ann@x.io.sb", "LastName": "Ann", "Email": "ann@x.io", "IsActive": True},
            {"Username": "bob@x.io.sb", "LastName": "Bob", "Email": "bob@x.io", "IsActive": True},
        ],
    )
    leads = sf_box.emulator.seed(
        "Lead",
        [
            {"LastName": n, "Company": "Acme", "Status": "Open - Not Contacted", "OwnerId": users[0]}
            for n in ("Score", "Time", "Quiet")
        ],
    )
    hs_sandbox.emulator.seed_owners(
        [
            {
                "id": "77",
                "email": "carl@x.io",
                "firstName": "Carl",
                "lastName": "Hs",
                "userId": 1,
                "archived": False,
            }
        ]
    )
    (contact,) = hs_sandbox.emulator.seed("contacts", [{"properties": {"email": "behavior@acme.io"}}])
    reps = [
        {
            "crm": "salesforce",
            "rep_id": users[0],
            "email": "ann@x.io",
            "rep_name": "Ann",
            "department": "EMEA",
            "title": "AE (Analytics)",
            "open_lead_count": 5,
            "open_pipeline": 0,
        },
        {
            "crm": "salesforce",
            "rep_id": users[1],
            "email": "bob@x.io",
            "rep_name": "Bob",
            "department": "EMEA",
            "title": "AE",
            "open_lead_count": 1,
            "open_pipeline": 0,
        },
        {
            "crm": "hubspot",
            "rep_id": "77",
            "email": "carl@x.io",
            "rep_name": "Carl",
            "department": None,
            "title": None,
            "open_lead_count": 0,
            "open_pipeline": 0,
        },
    ]
    sf, hs = salesforce_client(sf_box), hs_sandbox.client()
    smtp, inbox = smtp_sink
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    _warehouse(con, leads, contact, reps)

    report = run_handoffs(con, sf, hs, smtp, as_of=T)
    assert report.handed_off == {"score": 1, "behavior": 1, "time": 1} and report.errors == []
    # every phase is timed, in wall and in this process's CPU seconds
    phases = ["read_back", "decide", "owners_tasks_mails", "reminders", "sending"]
    assert list(report.seconds) == list(report.cpu_seconds) == phases
    metadata = report.metadata()
    assert all(metadata[f"cpu_seconds_{p}"] >= 0 and metadata[f"seconds_{p}"] >= 0 for p in phases)
    rows = con.execute(
        'select profile_id, "trigger", priority, crm, crm_record_id, owner_id, assignment_rule, task_id '
        "from activation.lead_handoffs order by profile_id"
    ).fetchall()
    assert [r[:6] for r in rows] == [
        ("behavior", "behavior", "priority", "hubspot", contact, "77"),
        ("score", "score", "immediate", "salesforce", leads[0], users[0]),  # skill: Analytics
        ("time", "time", "standard", "salesforce", leads[1], users[1]),  # workload: fewer open leads
    ]
    # no rep is in the config's EMEA team, so territory keeps nobody and the next rules decide
    assert [r[6] for r in rows] == ["workload", "skill", "workload"]

    # CRM side: owners set, follow-up tasks on the person records with due dates by priority
    sf_leads = {r["Id"]: r for r in sf_box.emulator.records("Lead")}
    assert sf_leads[leads[0]]["OwnerId"] == users[0] and sf_leads[leads[1]]["OwnerId"] == users[1]
    assert sf_leads[leads[2]]["OwnerId"] == users[0]  # not due: untouched
    tasks = {t["WhoId"]: t for t in sf_box.emulator.records("Task")}
    assert set(tasks) == {leads[0], leads[1]}
    assert tasks[leads[0]]["ActivityDate"] == T.date() and tasks[leads[0]]["Priority"] == "High"
    assert tasks[leads[1]]["ActivityDate"] == (T + timedelta(days=3)).date()
    assert "fit:title:vp: +130" in tasks[leads[0]]["Description"]
    assert "sandbox-token" not in tasks[leads[0]]["Description"]
    contact_now = hs.crm.contacts.basic_api.get_by_id(contact, properties=["hubspot_owner_id"])
    assert contact_now.properties["hubspot_owner_id"] == "77"
    hs_task_ids = [
        a.to_object_id
        for a in hs.crm.associations.v4.basic_api.get_page("contacts", contact, "tasks").results
    ]
    assert len(hs_task_ids) == 1
    hs_task = hs.crm.objects.basic_api.get_by_id(
        "tasks", str(hs_task_ids[0]), properties=["hs_task_subject", "hubspot_owner_id"]
    )
    assert hs_task.properties["hubspot_owner_id"] == "77"

    # e-mails: one per rep, one team alert for the priority (behaviour) handoff, with the payload
    by_to = {}
    for message in inbox.messages:
        by_to.setdefault(message["To"], []).append(message)
    assert sorted((to, len(m)) for to, m in by_to.items()) == [
        ("ann@x.io", 1),
        ("bob@x.io", 1),
        ("carl@x.io", 1),
        ("sales-team@sellwise.io", 1),
    ]
    parts = {
        p.get_content_type(): p.get_payload(decode=True).decode()
        for p in by_to["ann@x.io"][0].walk()
        if not p.is_multipart()
    }
    body, html = parts["text/plain"], parts["text/html"]
    assert "Lead score breakdown" in body and "Q1 Newsletter" in body and leads[0] in body
    assert "<h3>Interaction log</h3>" in html and "Q1 Newsletter" in html

    # a rerun hands off nothing, creates no task and sends nothing
    again = run_handoffs(con, sf, hs, smtp, as_of=T + timedelta(minutes=5))
    assert again.handed_off == {} and again.tasks_created == 0 and again.emails == {}
    assert len(sf_box.emulator.records("Task")) == 2 and len(inbox.messages) == 4

    # a run that died after creating the tasks but before recording them: the rerun finds, not re-creates
    before = dict(con.execute("select profile_id, task_id from activation.lead_handoffs").fetchall())
    con.execute(
        "update activation.lead_handoffs set task_id = null where profile_id in ('score', 'behavior')"
    )
    recovered = run_handoffs(con, sf, hs, smtp, as_of=T + timedelta(minutes=10))
    assert recovered.tasks_created == 0 and recovered.emails == {}
    assert dict(con.execute("select profile_id, task_id from activation.lead_handoffs").fetchall()) == before
    assert len(sf_box.emulator.records("Task")) == 2
    assert len(hs.crm.associations.v4.basic_api.get_page("contacts", contact, "tasks").results) == 1

    # reminders: none before after_days; then one per open task, at most max_reminders
    assert run_handoffs(con, sf, hs, smtp, as_of=T + timedelta(days=1)).reminders == 0
    sf.Task.update(tasks[leads[1]]["Id"], {"Status": "Completed"})
    first = run_handoffs(con, sf, hs, smtp, as_of=T + timedelta(days=2, hours=1))
    assert first.reminders == 2  # the score lead's and the HubSpot one; the completed task needs none
    assert len(sf_box.emulator.records("Task")) == 3 and len(inbox.messages) == 6
    assert run_handoffs(con, sf, hs, smtp, as_of=T + timedelta(days=4, hours=2)).reminders == 2
    assert run_handoffs(con, sf, hs, smtp, as_of=T + timedelta(days=9)).reminders == 0
    subjects = [" ".join(str(m["Subject"]).split()) for m in inbox.messages]
    assert len(subjects) == 8 and sum(s.startswith("Reminder 2:") for s in subjects) == 2, subjects[6:]

    # state read back from the CRM: accepted stays with sales; recycled starts a new cycle
    _statuses(con, {leads[0]: "Closed - Not Converted", leads[1]: "Working - Contacted"})
    moved = run_handoffs(con, sf, hs, None, as_of=T + timedelta(days=10))
    assert (moved.accepted, moved.recycled) == (1, 1) and moved.handed_off == {}
    states = dict(
        con.execute("select profile_id, state || ':' || cycle from activation.handoff_state").fetchall()
    )
    assert states == {"score": "nurturing:2", "time": "accepted:1", "behavior": "handed_off:1"}
    con.execute("update intermediate.int_handoff_signals set lead_score = 700 where profile_id = 'score'")
    renewed = run_handoffs(con, sf, hs, None, as_of=T + timedelta(days=11))
    assert renewed.handed_off == {"score": 1}
    outbox = con.execute(
        "select status, count(*) from activation.outbox where cycle = 2 group by status"
    ).fetchall()
    assert outbox == [("queued", 1)]  # without SMTP the e-mail waits in the outbox
    assert con.execute("select count(*) from activation.lead_handoffs").fetchall()[0][0] == 4
    # the round-robin pointer moved with every assignment and persists for the next run
    pointer = con.execute(
        "select rep_id, assigned_count from activation.handoff_round_robin order by last_sequence"
    ).fetchall()
    assert sorted(pointer) == sorted([("77", 1), (users[1], 1), (users[0], 2)]) and pointer[-1][0] == users[0]
