"""The path of `make demo`: the definitions load, and every asset materialises on a small sandbox world."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterInstance, materialize
from dagster_dlt import DagsterDltResource

from orchestration.summary import table_row_counts
from sandbox.runner import Sandbox
from sandbox.world import generate_world

REPO = Path(__file__).resolve().parents[2]
RAW_TABLES = {
    "raw_salesforce": {"lead", "contact", "account", "opportunity", "user", "task", "opportunitycontactrole"},
    "raw_hubspot": {
        "contacts",
        "companies",
        "deals",
        "owners",
        "contact_company_associations",
        "deal_associations",
    },
    "raw_events": {"website", "email", "social", "ads", "offline"},
    "quarantine": {"rejected_records"},
}
MART_TABLES = {
    "marts": {
        "customer_profiles",
        "identity_links",
        "lead_score_factors",
        "engagement_history",
        "touchpoints",
        "segment_memberships",
    },
    "ml": {"predictions"},
    "activation": {"sync_log"},
}
# Table assets whose modules attach their own metadata (segments, activation, handoff, serving): they
# emit orchestration.table_metadata's row count and sample once their owners call it.
CRM_VARIABLES = (
    "SALESFORCE_INSTANCE_URL",
    "SALESFORCE_ACCESS_TOKEN",
    "SALESFORCE_USERNAME",
    "HUBSPOT_ACCESS_TOKEN",
    "HUBSPOT_BASE_URL",
)


def test_definitions_load():
    from orchestration.definitions import defs

    keys = {key.to_user_string() for key in defs.resolve_all_asset_keys()}
    assert {f"raw/salesforce/{t}" for t in RAW_TABLES["raw_salesforce"]} <= keys
    assert {f"raw/hubspot/{t}" for t in RAW_TABLES["raw_hubspot"]} <= keys
    assert {f"raw/events/{t}" for t in RAW_TABLES["raw_events"]} <= keys
    assert defs.resolve_job_def("hourly_sync") is not None


def test_every_asset_has_an_owner_and_a_layer_and_raw_data_a_freshness_policy():
    from orchestration.definitions import defs

    specs = list(defs.resolve_all_asset_specs())
    assert specs
    for spec in specs:
        assert spec.owners and spec.owners[0].startswith("team:"), spec.key
        assert spec.tags["layer"] == spec.key.path[0], spec.key
        assert spec.description, spec.key
        if spec.key.path[0] == "raw":
            assert spec.freshness_policy is not None, spec.key
    owners = {spec.group_name: spec.owners[0] for spec in specs if spec.key.path[0] in ("raw", "ml")}
    assert owners == {"ingestion": "team:data-platform", "ml": "team:data-science"}


def test_the_policy_keeps_what_an_asset_declares_itself():
    from dagster import AssetSpec

    from orchestration.definitions import with_owner_and_layer

    declared = AssetSpec(["marts", "x"], group_name="ml", owners=["a@b.io"], tags={"layer": "y"})
    own = with_owner_and_layer(declared)
    assert (own.owners, own.tags) == (["a@b.io"], {"layer": "y"})
    other = with_owner_and_layer(AssetSpec(["serving", "x"], group_name="elsewhere"))
    assert (other.owners, other.tags) == (["team:data-platform"], {"layer": "serving"})


def test_sources_without_credentials_materialise_empty_and_the_rest_runs(tmp_path, monkeypatch):
    for variable in CRM_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    world = generate_world(people=60, seed=5)
    world.write_events(tmp_path / "events")
    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("EVENTS_DIR", str(tmp_path / "events"))

    from orchestration.defs import ingestion
    from orchestration.resources import build_resources

    instance = DagsterInstance.ephemeral()
    result = materialize(
        [ingestion.salesforce_raw, ingestion.hubspot_raw, ingestion.events_raw],
        resources={**build_resources(), "dlt": DagsterDltResource()},
        instance=instance,
    )

    assert result.success
    events = result.get_asset_materialization_events()
    materialized = {event.asset_key: event.materialization.metadata for event in events}
    assert AssetKey(["raw", "events", "website"]) in materialized
    # unconfigured sources still materialise (empty), so that nothing downstream is skipped
    unconfigured = {key: m for key, m in materialized.items() if key.path[1] in ("salesforce", "hubspot")}
    assert {key.path[1] for key in unconfigured} == {"salesforce", "hubspot"}
    assert all("is not configured: set" in m["not_configured"].value for m in unconfigured.values())
    skipped = [
        e.user_message for e in instance.all_logs(result.run_id) if "is not configured" in e.user_message
    ]
    assert any("SALESFORCE_INSTANCE_URL" in m for m in skipped)
    assert any("HUBSPOT_ACCESS_TOKEN" in m for m in skipped)


@pytest.mark.slow
def test_demo_on_a_small_world(tmp_path):
    world = generate_world(people=300, seed=11)
    events_dir = tmp_path / "events"
    world.write_events(events_dir)
    warehouse = tmp_path / "warehouse.duckdb"
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(REPO / "config" / "dagster.yaml", dagster_home / "dagster.yaml")

    with Sandbox.start(tmp_path / "sandbox", world) as sandbox:
        env = {
            **os.environ,
            **sandbox.env(),
            "WAREHOUSE_PATH": str(warehouse),
            "EVENTS_DIR": str(events_dir),
            "DAGSTER_HOME": str(dagster_home),
        }
        run = subprocess.run(
            [sys.executable, "-m", "orchestration.demo"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]

    counts = {(schema, table): rows for schema, table, rows in table_row_counts(warehouse)}
    for schema, tables in (RAW_TABLES | MART_TABLES).items():
        for table in tables:
            assert counts.get((schema, table), 0) > 0, f"{schema}.{table} is empty or missing"
    assert counts[("raw_salesforce", "lead")] == len(world.salesforce["Lead"])
    assert counts[("raw_hubspot", "contacts")] == len(world.hubspot["contacts"])
    for channel, valid in world.truth["event_counts"].items():
        assert counts[("raw_events", channel)] == valid, channel
    # Duplicate messageIds are deduplicated, not rejected: Segment senders retry.
    refused = [r for r in world.truth["expected_rejections"] if r["reason"] != "duplicate_message_id"]
    assert counts[("quarantine", "rejected_records")] == len(refused)

    assert_progress_and_summary(run.stdout, counts)
    assert_table_assets_report_rows(dagster_home)


def assert_progress_and_summary(output: str, counts: dict) -> None:
    """One progress line per stage, every stage complete, then the summary with the warehouse's figures."""
    stages = re.findall(r"^\[(\d)/(\d)\] (\w+) done in \d+s: (\d+)/(\d+) assets materialised", output, re.M)
    assert [name for *_, name, _, _ in stages][:4] == ["ingestion", "warehouse", "ml", "activation"]
    assert all(done == total for *_, done, total in stages), stages
    summary = dict(re.findall(r"^  (\S+(?: \S+)?)\s{2,}(.+)$", output, re.M))
    profiles, records = counts[("marts", "customer_profiles")], counts[("identity", "profile_map")]
    assert summary["profiles"].startswith(f"{profiles:,}  (from {records:,} source records; id merges ")
    assert summary["quarantined"].startswith(f"{counts[('quarantine', 'rejected_records')]:,}")
    assert summary["CRM writes"].startswith(f"{counts[('activation', 'sync_log')]:,}")
    model = r"AUC (0\.\d\d|1\.00)"
    assert re.fullmatch(f"churn {model} · purchase {model} · engagement {model}", summary["models"])


def assert_table_assets_report_rows(dagster_home: Path) -> None:
    """Every table asset's latest materialisation carries its row count and a sample of its rows."""
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    tables = [
        spec.key for spec in defs.resolve_all_asset_specs()
        if "duckdb" in spec.kinds and graph.get(spec.key).is_materializable  # not the external ones
    ]
    missing = set()
    with DagsterInstance.from_config(str(dagster_home)) as instance:
        for key in tables:
            event = instance.get_latest_materialization_event(key)
            metadata = event.asset_materialization.metadata if event else {}
            if "dagster/row_count" not in metadata or "sample" not in metadata:
                missing.add(key.to_user_string())
    assert tables and not missing, sorted(missing)
