"""The handoff step keeps its handoffs in activation.lead_handoffs; older marts rows are adopted."""

from datetime import UTC, datetime, timedelta

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


def test_saving_changed_columns_leaves_the_payload_and_the_other_columns(tmp_path):
    store = HandoffStore(duckdb.connect(str(tmp_path / "w.duckdb")))
    stored = {"profile_id": "a", "cycle": 1, "state": "handed_off", "handed_off_at": T, "payload": '{"x": 1}'}
    store.save(handoffs=[stored, {**stored, "profile_id": "b"}], states=[{"profile_id": "a", "cycle": 1}])
    [read] = [h for h in store.open_handoffs() if h["profile_id"] == "a"]
    assert "payload" not in read  # open handoffs are read without their payloads
    store.save(handoffs=[{**read, "task_id": "T1", "state": "accepted"}], changed=("task_id",))
    rows = store.rows("select profile_id, state, task_id, payload from activation.lead_handoffs order by 1")
    assert rows == [
        {"profile_id": "a", "state": "handed_off", "task_id": "T1", "payload": '{"x": 1}'},
        {"profile_id": "b", "state": "handed_off", "task_id": None, "payload": '{"x": 1}'},
    ]
    assert store.payloads([("a", 1), ("b", 2)]) == {("a", 1): '{"x": 1}'}


def test_due_mails_are_read_page_after_page_in_order(tmp_path):
    store = HandoffStore(duckdb.connect(str(tmp_path / "w.duckdb")))
    rows = [
        {
            "message_id": f"<m{i}>",
            "kind": "handoff",
            "profile_id": f"p{i}",
            "cycle": 1,
            "status": "queued",
            "created_at": T,
            "next_attempt_at": T,
        }
        for i in (3, 1, 2, 0)
    ]
    store.save(outbox=rows)
    store.save(outbox=[{**rows[0], "message_id": "<again>"}])  # the same (kind, profile, cycle): not recorded
    pages, after = [], None
    while page := store.due_mails(T, 3, after):
        pages.append([r["message_id"] for r in page])
        after = (page[-1]["created_at"], page[-1]["message_id"])
    assert pages == [["<m0>", "<m1>", "<m2>"], ["<m3>"]]
    assert store.count_due(T) == 4 and store.due_mails(T - timedelta(seconds=1)) == []
