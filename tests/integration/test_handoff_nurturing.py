"""When nurturing starts: a lead sales works on is not handed off by time; once it re-enters a nurturing
status, the 14 days count from that moment, not from the record's creation."""

from datetime import UTC, datetime, timedelta

import duckdb
import pyarrow as pa

from activation.handoff import run_handoffs
from revloop.config.assignment import AssignmentConfig
from tests.fixtures.salesforce import salesforce_client

T = datetime(2026, 6, 1, 12, tzinfo=UTC)


def _table(con, name, rows):
    con.register("rows", pa.Table.from_pylist(rows))
    con.execute(f"create or replace table {name} as select * from rows")
    con.unregister("rows")


def _status(con, lead, status, updated_at):
    _table(
        con,
        "intermediate.int_handoff_crm_statuses",
        [{"crm": "salesforce", "crm_record_id": lead, "lead_status": status, "updated_at": updated_at}],
    )


def test_the_clock_starts_when_the_lead_reenters_nurturing(sf_sandbox_factory, tmp_path):
    box = sf_sandbox_factory()
    (ann,) = box.emulator.seed(
        "User", [{"Username": "a@x.io.sb", "LastName": "A", "Email": "a@x.io", "IsActive": True}]
    )
    (lead,) = box.emulator.seed("Lead", [{"LastName": "Lee", "Company": "Acme"}])
    sf = salesforce_client(box)
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create schema marts; create schema intermediate")
    _table(
        con,
        "intermediate.int_handoff_signals",
        [
            {
                "profile_id": "p",
                "lifecycle_stage": "lead",
                "is_customer": False,
                "lead_score": 10,
                "country": None,
                "industry": None,
                "salesforce_lead_id": lead,
                "salesforce_contact_id": None,
                "hubspot_contact_id": None,
                "nurturing_started_at": T - timedelta(days=40),  # the Lead's CreatedDate
                "interested_products": None,
            }
        ],
    )
    _table(con, "marts.customer_profiles", [{"profile_id": "p", "email": "p@acme.io"}])
    _table(
        con,
        "intermediate.int_handoff_behaviors",
        [{"profile_id": "x", "behavior": "demo_request", "last_occurred_at": T}],
    )
    rep = {"open_lead_count": 0, "open_pipeline": 0, "department": None, "title": None}
    _table(
        con,
        "intermediate.int_handoff_reps",
        [{"crm": "salesforce", "rep_id": ann, "email": "a@x.io", "rep_name": "A", **rep}],
    )
    _table(
        con,
        "marts.touchpoints",
        [{"profile_id": "x", "channel": "email", "occurred_at": T, "event_name": "E", "campaign": None}],
    )
    _table(con, "marts.lead_score_factors", [{"profile_id": "x", "factor": "f", "points": 1}])
    assignment = AssignmentConfig()

    def run(at):
        return run_handoffs(con, sf, None, None, as_of=at, assignment=assignment)

    # sales works the lead: 40 days old, but not in nurturing, so no time handoff
    _status(con, lead, "Working - Contacted", T - timedelta(days=30))
    assert run(T).handed_off == {}
    # sales puts it back to Open - Not Contacted 3 days later: the 14 days count from that change
    back = T + timedelta(days=3)
    _status(con, lead, "Open - Not Contacted", back)
    assert run(back + timedelta(hours=1)).handed_off == {}
    assert run(back + timedelta(days=13)).handed_off == {}
    assert run(back + timedelta(days=14, hours=1)).handed_off == {"time": 1}
    detail = con.execute(
        "select trigger_detail from activation.lead_handoffs where \"trigger\" = 'time'"
    ).fetchall()
    assert detail == [(f"in nurturing since {back:%Y-%m-%d}",)]


def test_a_lead_first_seen_in_nurturing_counts_from_its_creation(sf_sandbox_factory, tmp_path):
    box = sf_sandbox_factory()
    (ann,) = box.emulator.seed(
        "User", [{"Username": "a@x.io.sb", "LastName": "A", "Email": "a@x.io", "IsActive": True}]
    )
    (lead,) = box.emulator.seed("Lead", [{"LastName": "Lee", "Company": "Acme"}])
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create schema marts; create schema intermediate")
    signal = {
        "profile_id": "p",
        "lifecycle_stage": "lead",
        "is_customer": False,
        "lead_score": 10,
        "country": None,
        "industry": None,
        "salesforce_lead_id": lead,
        "salesforce_contact_id": None,
        "hubspot_contact_id": None,
        "nurturing_started_at": T - timedelta(days=15),
        "interested_products": None,
    }
    _table(con, "intermediate.int_handoff_signals", [signal])
    _table(con, "marts.customer_profiles", [{"profile_id": "p", "email": "p@acme.io"}])
    _table(
        con,
        "intermediate.int_handoff_behaviors",
        [{"profile_id": "x", "behavior": "demo_request", "last_occurred_at": T}],
    )
    rep = {"open_lead_count": 0, "open_pipeline": 0, "department": None, "title": None}
    _table(
        con,
        "intermediate.int_handoff_reps",
        [{"crm": "salesforce", "rep_id": ann, "email": "a@x.io", "rep_name": "A", **rep}],
    )
    _table(
        con,
        "marts.touchpoints",
        [{"profile_id": "x", "channel": "email", "occurred_at": T, "event_name": "E", "campaign": None}],
    )
    _table(con, "marts.lead_score_factors", [{"profile_id": "x", "factor": "f", "points": 1}])
    _status(con, lead, "Open - Not Contacted", T - timedelta(days=1))  # edited yesterday, status unchanged
    report = run_handoffs(con, salesforce_client(box), None, None, as_of=T, assignment=AssignmentConfig())
    assert report.handed_off == {"time": 1}


def test_only_eligible_stages_are_handed_off_and_none_configured_hands_off_nobody(
    sf_sandbox_factory, tmp_path
):
    from revloop.config.handoff import load_handoff_config

    box = sf_sandbox_factory()
    (ann,) = box.emulator.seed(
        "User", [{"Username": "a@x.io.sb", "LastName": "A", "Email": "a@x.io", "IsActive": True}]
    )
    people = {
        "mixed_case": ("Lead", False),
        "customer": ("lead", True),
        "won": ("customer", False),
        "none": (None, None),
    }
    leads = box.emulator.seed("Lead", [{"LastName": name, "Company": "Acme"} for name in people])
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create schema marts; create schema intermediate")
    signal = {"lead_score": 10, "country": None, "industry": None, "interested_products": None}
    _table(
        con,
        "intermediate.int_handoff_signals",
        [
            {
                "profile_id": name,
                "lifecycle_stage": stage,
                "is_customer": customer,
                "salesforce_lead_id": lead,
                "salesforce_contact_id": None,
                "hubspot_contact_id": None,
                "nurturing_started_at": T - timedelta(days=20),
                **signal,
            }
            for (name, (stage, customer)), lead in zip(people.items(), leads, strict=True)
        ],
    )
    _table(
        con, "marts.customer_profiles", [{"profile_id": name, "email": f"{name}@acme.io"} for name in people]
    )
    _table(
        con,
        "intermediate.int_handoff_behaviors",
        [{"profile_id": "x", "behavior": "demo_request", "last_occurred_at": T}],
    )
    rep = {"open_lead_count": 0, "open_pipeline": 0, "department": None, "title": None}
    _table(
        con,
        "intermediate.int_handoff_reps",
        [{"crm": "salesforce", "rep_id": ann, "email": "a@x.io", "rep_name": "A", **rep}],
    )
    _table(
        con,
        "marts.touchpoints",
        [{"profile_id": "x", "channel": "email", "occurred_at": T, "event_name": "E", "campaign": None}],
    )
    _table(con, "marts.lead_score_factors", [{"profile_id": "x", "factor": "f", "points": 1}])
    _table(
        con,
        "intermediate.int_handoff_crm_statuses",
        [
            {"crm": "salesforce", "crm_record_id": lead, "lead_status": None, "updated_at": T}
            for lead in leads
        ],
    )
    sf, assignment = salesforce_client(box), AssignmentConfig()

    nobody = load_handoff_config().model_copy(update={"eligible_lifecycle_stages": []})
    report = run_handoffs(con, sf, None, None, as_of=T, config=nobody, assignment=assignment)
    assert (report.due, report.handed_off, report.errors) == (0, {}, [])
    report = run_handoffs(con, sf, None, None, as_of=T, assignment=assignment)
    assert report.handed_off == {"time": 1}
    assert con.execute("select profile_id from activation.lead_handoffs").fetchall() == [("mixed_case",)]
