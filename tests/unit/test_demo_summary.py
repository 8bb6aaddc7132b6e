"""The demo's stage plan and its ten-second summary: counts from the warehouse, `not run` for the missing."""

import json

import duckdb
import pytest
from dagster import AssetKey, Definitions, asset

from orchestration import summary
from orchestration.demo import plan_stages, stage_counts


def test_stages_follow_groups_and_move_readers_of_later_stages_after_them():
    @asset(group_name="ingestion")
    def raw():
        return 1

    @asset(group_name="warehouse", deps=[raw])
    def staged():
        return 1

    @asset(group_name="ml", deps=[staged])
    def scores():
        return 1

    @asset(group_name="warehouse", deps=[scores])
    def profiles():
        return 1

    @asset(group_name="activation", deps=[profiles])
    def synced():
        return 1

    @asset(group_name="serving", deps=[profiles])
    def snapshot():
        return 1

    @asset(group_name="serving")
    def lone():
        return 1

    stages = plan_stages(Definitions(assets=[synced, snapshot, profiles, scores, staged, raw]))

    # each stage is a named job; an asset of another group runs with the latest stage it reads
    assert [(s.name, s.job, [k.path[-1] for k in s.keys]) for s in stages] == [
        ("ingestion", "ingest", ["raw"]),
        ("warehouse", "transform", ["staged"]),
        ("ml", "score", ["scores", "profiles", "snapshot"]),
        ("activation", "activate", ["synced"]),
    ]
    assert all(isinstance(key, AssetKey) for stage in stages for key in stage.keys)
    # an asset of a group no stage names, reading none, would run in no job: the plan says which
    with pytest.raises(ValueError, match="lone"):
        plan_stages(Definitions(assets=[synced, snapshot, profiles, scores, staged, raw, lone]))


def make_warehouse(path):
    with duckdb.connect(str(path)) as con:
        for schema in ("marts", "identity", "activation", "quarantine", "raw_events", "ml"):
            con.execute(f"create schema {schema}")
        con.execute("create table marts.customer_profiles as select i as profile_id from range(40) t(i)")
        con.execute(
            "create table identity.profile_map as select 'p' || (i % 30) as profile_id from range(60) t(i)"
        )
        con.execute(
            "create table identity.profile_changes as select * from (values ('created'), ('merged'), "
            "('merged'), ('split')) t(change_type)"
        )
        con.execute(
            "create table marts.identity_links as select case when i < 30 then 'deterministic' "
            "else 'probabilistic' end as match_type from range(35) t(i)"
        )
        con.execute(
            "create table marts.segment_memberships as select 'seg_' || (i % 7) as segment_name "
            "from range(70) t(i)"
        )
        con.execute(
            "create table activation.sync_log as select * from (values ('salesforce', 'ok'), "
            "('salesforce', 'ok'), ('hubspot', 'error')) t(crm, status)"
        )
        con.execute("create table quarantine.rejected_records as select 'events' as source from range(3)")
        con.execute("create table raw_events.website as select 1 as x from range(9)")
        con.execute("create table raw_events._dlt_loads as select 1 as x from range(50)")
        con.execute("create table ml.predictions as select 'churn' as task from range(40)")
    return path


def test_summary_reads_every_section_and_marks_missing_tables(tmp_path):
    warehouse = make_warehouse(tmp_path / "warehouse.duckdb")
    current = tmp_path / ".warehouse.state" / "models" / "churn"
    (current / "v1").mkdir(parents=True)
    (current / "v1" / "model.joblib").write_bytes(b"")
    (current / "v1" / "card.json").write_text(json.dumps({"metrics": {"auc": 0.8123}}))
    (current / "current.json").write_text(json.dumps({"version": "v1"}))

    facts = summary.collect(warehouse)
    text = summary.render_summary(facts)

    assert facts["profiles"] == "40  (from 60 source records; id merges 2 · splits 1)"
    assert facts["identity links"] == "35  (deterministic 30 · probabilistic 5)"
    assert facts["segments"].startswith("7 segments, 70 memberships")
    assert "+2 more" in facts["segments"]
    assert facts["handoffs"] == summary.NOT_RUN
    assert facts["CRM writes"] == "3  (hubspot: error 1; salesforce: ok 2)"
    assert facts["models"] == "churn AUC 0.81 · purchase baseline rules · engagement baseline rules"
    assert facts["quarantined"] == "3  (events 3)"
    assert len(text.splitlines()) == len(summary.SECTIONS)
    handoff_line = text.splitlines()[3]
    assert handoff_line.split()[0] == "handoffs" and handoff_line.endswith("(not run)")


def test_stage_counts_and_a_missing_warehouse(tmp_path, monkeypatch):
    warehouse = make_warehouse(tmp_path / "warehouse.duckdb")
    monkeypatch.setenv("WAREHOUSE_PATH", str(warehouse))

    assert stage_counts("ingestion").splitlines() == [
        "      raw rows     9  (events 9)",
        "      quarantined  3  (events 3)",
    ]
    assert [line.split()[0] for line in stage_counts("ml").splitlines()] == [
        "models",
        "predictions",
        "profiles",
        "segments",
    ]
    profile_ids = "      profile ids     30  (from 60 source records; id merges 2 · splits 1)"
    assert stage_counts("warehouse").splitlines()[0] == profile_ids
    missing = summary.collect(tmp_path / "absent.duckdb")
    assert missing == {label: summary.NOT_RUN for label, _ in summary.SECTIONS}
