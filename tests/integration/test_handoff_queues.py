"""Standard handoffs go to the configured sales queue: a Salesforce Queue owns the Lead (Contacts cannot be
queue-owned), a HubSpot team narrows the reps; stronger triggers and unconfigured installs use the rules."""

from datetime import UTC, datetime, timedelta

import duckdb
import pyarrow as pa

from activation.handoff import run_handoffs
from revloop.config.assignment import AssignmentConfig
from tests.fixtures.salesforce import salesforce_client

T = datetime(2026, 6, 1, 12, tzinfo=UTC)
REP = {"open_lead_count": 0, "open_pipeline": 0, "department": None, "title": None}


def _table(con, name, rows):
    con.register("rows", pa.Table.from_pylist(rows))
    con.execute(f"create or replace table {name} as select * from rows")
    con.unregister("rows")


def _signal(pid, score, days, lead=None, contact=None, hs=None):
    return {
        "profile_id": pid,
        "lifecycle_stage": "lead",
        "is_customer": False,
        "lead_score": score,
        "country": None,
        "industry": None,
        "salesforce_lead_id": lead,
        "salesforce_contact_id": contact,
        "hubspot_contact_id": hs,
        "nurturing_started_at": T - timedelta(days=days),
        "interested_products": None,
    }


def test_standard_handoffs_go_to_the_queue(sf_sandbox_factory, hs_sandbox, smtp_sink, tmp_path):
    box = sf_sandbox_factory()
    ann, bob = box.emulator.seed(
        "User",
        [
            {"Username": f"{n}@x.io.sb", "LastName": n, "Email": f"{n}@x.io", "IsActive": True}
            for n in ("ann", "bob")
        ],
    )
    (queue,) = box.emulator.seed(
        "Group", [{"Name": "Inbound Sales", "DeveloperName": "Inbound", "Type": "Queue"}]
    )
    box.emulator.seed("QueueSobject", [{"QueueId": queue, "SobjectType": "Lead"}])
    box.emulator.seed("GroupMember", [{"GroupId": queue, "UserOrGroupId": u} for u in (ann, bob)])
    time_lead, score_lead = box.emulator.seed(
        "Lead", [{"LastName": n, "Company": "Acme"} for n in ("Time", "Score")]
    )
    (contact,) = box.emulator.seed("Contact", [{"LastName": "Con"}])
    hs_sandbox.emulator.seed_owners(
        [
            {
                "id": "77",
                "email": "carl@x.io",
                "userId": 1,
                "teams": [{"id": "5", "name": "Inside Sales", "primary": True}],
            },
            {
                "id": "78",
                "email": "dora@x.io",
                "userId": 2,
                "teams": [{"id": "6", "name": "Field", "primary": True}],
            },
        ]
    )
    (hs_contact,) = hs_sandbox.emulator.seed("contacts", [{"properties": {"email": "hs@acme.io"}}])
    sf, hs = salesforce_client(box), hs_sandbox.client()
    smtp, inbox = smtp_sink
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create schema marts; create schema intermediate")
    _table(
        con,
        "intermediate.int_handoff_signals",
        [
            _signal("time_lead", 10, 20, lead=time_lead),
            _signal("score_lead", 900, 2, lead=score_lead),
            _signal("time_contact", 10, 20, contact=contact),
            _signal("time_hs", 10, 20, hs=hs_contact),
        ],
    )
    _table(
        con,
        "marts.customer_profiles",
        [
            {"profile_id": p, "email": f"{p}@acme.io"}
            for p in ("time_lead", "score_lead", "time_contact", "time_hs")
        ],
    )
    _table(
        con,
        "intermediate.int_handoff_behaviors",
        [{"profile_id": "x", "behavior": "demo_request", "last_occurred_at": T}],
    )
    _table(
        con,
        "intermediate.int_handoff_reps",
        [
            {"crm": "salesforce", "rep_id": ann, "email": "ann@x.io", "rep_name": "Ann", **REP},
            {"crm": "salesforce", "rep_id": bob, "email": "bob@x.io", "rep_name": "Bob", **REP},
            # dora has the lower load: without the team narrowing the reps, workload would pick her
            {
                "crm": "hubspot",
                "rep_id": "78",
                "email": "dora@x.io",
                "rep_name": "Dora",
                **{**REP, "open_lead_count": 0},
            },
            {
                "crm": "hubspot",
                "rep_id": "77",
                "email": "carl@x.io",
                "rep_name": "Carl",
                **{**REP, "open_lead_count": 5},
            },
        ],
    )
    _table(
        con,
        "marts.touchpoints",
        [{"profile_id": "x", "channel": "email", "occurred_at": T, "event_name": "E", "campaign": None}],
    )
    _table(con, "marts.lead_score_factors", [{"profile_id": "x", "factor": "f", "points": 1}])

    config = AssignmentConfig(
        queues={"salesforce": "Inbound", "hubspot": "Inside Sales"}, order=["workload", "round_robin"]
    )
    report = run_handoffs(con, sf, hs, smtp, as_of=T, assignment=config)
    assert report.errors == [] and report.handed_off == {"time": 3, "score": 1}
    rows = {
        r[0]: r[1:]
        for r in con.execute(
            "select profile_id, owner_id, assignment_rule, task_id is not null, notified_at is not null "
            "from activation.lead_handoffs"
        ).fetchall()
    }
    assert rows["time_lead"] == (queue, "queue", False, True)  # the queue owns it; no task
    assert rows["score_lead"][0] in (ann, bob) and rows["score_lead"][1:] == ("round_robin", True, True)
    assert rows["time_contact"][0] in (ann, bob) and rows["time_contact"][2]  # a Contact: a rep and a task
    assert rows["time_hs"][:1] == ("77",) and rows["time_hs"][2]  # the team's owner despite a higher load
    owners = {r["Id"]: r["OwnerId"] for r in box.emulator.records("Lead")}
    assert owners[time_lead] == queue and owners[score_lead] in (ann, bob)
    assert {t["WhoId"] for t in box.emulator.records("Task")} == {score_lead, contact}
    # the queue has no e-mail of its own: each member hears of the lead, in one message
    queue_mail = [
        m for m in inbox.messages if "queue Inbound Sales" in str(m.get_payload(0).get_payload(decode=True))
    ]
    assert len(queue_mail) == 1 and queue_mail[0]["To"] == "ann@x.io, bob@x.io"
    # a rerun does nothing more
    again = run_handoffs(con, sf, hs, smtp, as_of=T + timedelta(minutes=5), assignment=config)
    assert again.handed_off == {} and again.emails == {} and again.tasks_created == 0


def test_an_unknown_queue_is_reported_and_the_rules_decide(sf_sandbox_factory, tmp_path):
    box = sf_sandbox_factory()
    (ann,) = box.emulator.seed(
        "User", [{"Username": "a@x.io.sb", "LastName": "A", "Email": "a@x.io", "IsActive": True}]
    )
    (lead,) = box.emulator.seed("Lead", [{"LastName": "Time", "Company": "Acme"}])
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create schema marts; create schema intermediate")
    _table(con, "intermediate.int_handoff_signals", [_signal("p", 10, 20, lead=lead)])
    _table(con, "marts.customer_profiles", [{"profile_id": "p", "email": "p@acme.io"}])
    _table(
        con,
        "intermediate.int_handoff_behaviors",
        [{"profile_id": "x", "behavior": "demo_request", "last_occurred_at": T}],
    )
    _table(
        con,
        "intermediate.int_handoff_reps",
        [{"crm": "salesforce", "rep_id": ann, "email": "a@x.io", "rep_name": "A", **REP}],
    )
    _table(
        con,
        "marts.touchpoints",
        [{"profile_id": "x", "channel": "email", "occurred_at": T, "event_name": "E", "campaign": None}],
    )
    _table(con, "marts.lead_score_factors", [{"profile_id": "x", "factor": "f", "points": 1}])
    report = run_handoffs(
        con,
        salesforce_client(box),
        None,
        None,
        as_of=T,
        assignment=AssignmentConfig(queues={"salesforce": "Nope"}),
    )
    assert report.errors == ["Salesforce queue 'Nope' not found or not for Leads: rules pick reps"]
    assert con.execute("select owner_id, assignment_rule from activation.lead_handoffs").fetchall() == [
        (ann, "workload")
    ]
