"""The handoff step keeps its handoffs in activation.lead_handoffs; older marts rows are adopted."""

from datetime import UTC, datetime

import duckdb

from activation.handoff.store import HandoffStore

T = datetime(2026, 11, 2, 9, tzinfo=UTC)


def test_handoffs_an_older_version_kept_in_marts_are_adopted_once(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    # what older versions wrote themselves: no reminder_tasks_created yet, one open and one recycled handoff
    con.execute("""
        create schema marts;
        create table marts.lead_handoffs (profile_id varchar, "trigger" varchar, priority varchar,
            owner_id varchar, assignment_rule varchar, handed_off_at timestamptz, crm varchar,
            crm_record_id varchar, cycle integer, state varchar, task_id varchar,
            primary key (profile_id, cycle));
        create schema activation;
        create table activation.handoff_state (profile_id varchar primary key, cycle integer, state varchar,
            cycle_started_at timestamptz, last_handoff_score double);
        insert into activation.handoff_state values
            ('p1', 1, 'handed_off', null, 80), ('p2', 2, 'nurturing', null, 70);
    """)
    con.execute(
        "insert into marts.lead_handoffs values "
        "('p1', 'score', 'immediate', 'u1', 'default', ?, 'salesforce', '00Q1', 1, 'handed_off', '00T1'), "
        "('p2', 'time', 'standard', 'u2', 'default', ?, 'hubspot', '501', 1, 'recycled', null)",
        [T, T],
    )
    store = HandoffStore(con)
    [open_handoff] = store.open_handoffs()
    assert (open_handoff["profile_id"], open_handoff["task_id"]) == ("p1", "00T1")
    assert open_handoff["reminder_tasks_created"] == 0
    # adopted once: a later store (and dbt replacing the marts table) leaves the step's rows alone
    store.save(handoffs=[{**open_handoff, "state": "accepted"}])
    con.execute("drop table marts.lead_handoffs")
    HandoffStore(con)
    rows = con.execute(
        "select profile_id, cycle, state, crm_record_id from activation.lead_handoffs order by 1"
    ).fetchall()
    assert rows == [("p1", 1, "accepted", "00Q1"), ("p2", 1, "recycled", "501")]


def test_a_new_warehouse_gets_an_empty_handoff_table(tmp_path):
    store = HandoffStore(duckdb.connect(str(tmp_path / "w.duckdb")))
    assert store.open_handoffs() == []
    assert store.rows("select count(*) as n from activation.lead_handoffs") == [{"n": 0}]
    schemas = store.rows("select schema_name from information_schema.schemata where schema_name = 'marts'")
    assert schemas == []  # the step writes no mart: dbt owns marts


def test_saving_a_stored_key_replaces_its_row_and_leaves_the_others(tmp_path):
    store = HandoffStore(duckdb.connect(str(tmp_path / "w.duckdb")))
    first = [
        {"profile_id": p, "cycle": 1, "state": "handed_off", "handed_off_at": T, "payload": "{}"}
        for p in ("a", "b")
    ]
    store.save(handoffs=first, states=[{"profile_id": "a", "cycle": 1, "state": "handed_off"}])
    store.save(
        handoffs=[{**first[0], "task_id": "T1"}, {**first[0], "cycle": 2}],
        states=[{"profile_id": "a", "cycle": 2, "state": "handed_off"}],
    )
    rows = store.rows("select profile_id, cycle, task_id from activation.lead_handoffs order by 1, 2")
    assert rows == [
        {"profile_id": "a", "cycle": 1, "task_id": "T1"},
        {"profile_id": "a", "cycle": 2, "task_id": None},
        {"profile_id": "b", "cycle": 1, "task_id": None},
    ]
    states = store.rows("select profile_id, cycle from activation.handoff_state")
    assert states == [{"profile_id": "a", "cycle": 2}]
