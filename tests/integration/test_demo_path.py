"""The path of `make demo`: the definitions load, and every asset materialises on a small sandbox world."""

import os
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
    "raw_salesforce": {"lead", "contact", "account", "opportunity", "user", "task"},
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


def test_sources_without_credentials_skip_and_the_rest_runs(tmp_path, monkeypatch):
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
    materialized = {event.asset_key for event in result.get_asset_materialization_events()}
    assert AssetKey(["raw", "events", "website"]) in materialized
    assert not any(key.path[1] in ("salesforce", "hubspot") for key in materialized)
    skipped = [
        e.user_message for e in instance.all_logs(result.run_id) if "is not configured" in e.user_message
    ]
    assert any("SALESFORCE_INSTANCE_URL" in m for m in skipped)
    assert any("HUBSPOT_ACCESS_TOKEN" in m for m in skipped)


@pytest.mark.slow
def test_full_materialisation_on_a_small_world(tmp_path):
    world = generate_world(people=300, seed=11)
    events_dir = tmp_path / "events"
    world.write_events(events_dir)
    warehouse = tmp_path / "warehouse.duckdb"
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(REPO / "config" / "dagster.yaml", dagster_home / "dagster.yaml")
    dagster = Path(sys.executable).parent / "dagster"

    with Sandbox.start(tmp_path / "sandbox", world) as sandbox:
        env = {
            **os.environ,
            **sandbox.env(),
            "WAREHOUSE_PATH": str(warehouse),
            "EVENTS_DIR": str(events_dir),
            "DAGSTER_HOME": str(dagster_home),
        }
        run = subprocess.run(
            [str(dagster), "asset", "materialize", "-m", "orchestration.definitions", "--select", "*"],
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
