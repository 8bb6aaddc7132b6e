"""The path of `make demo`: the definitions load, every asset materialises on a small sandbox world, and then,
with only the Dagster daemon running (as `make dev` runs it), CRM changes and behaviour events flow on.

The demo's runs are made once (tests/fixtures/installation.py); the sensor test goes on from where they left
the warehouse, the Dagster instance and the still-running sandbox CRMs.
"""

import json
import os
import re
import signal
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
import yaml
from dagster import AssetKey, DagsterInstance, RunsFilter, materialize
from dagster._core.instance.ref import InstanceRef
from dagster._core.scheduler.instigation import InstigatorType
from dagster_dlt import DagsterDltResource
from hubspot import HubSpot
from hubspot.crm.contacts import SimplePublicObjectInput, SimplePublicObjectInputForCreate
from simple_salesforce import Salesforce

from benchmarks.hourly import wait_for
from orchestration.defs.automation import TRIGGER_TAG
from orchestration.summary import table_row_counts
from sandbox.runner import SANDBOX_TOKEN
from sandbox.world import generate_world
from tests.fixtures.salesforce import trusting_session

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# Each sensor-launched run rebuilds most of the warehouse (~1 min on a quiet 2-core machine, several when
# the machine is shared); the outcomes wait for up to two such runs.
RUNS_WAIT_S = 900
# How often the waits look again (each look queries the sandbox CRMs or the Dagster instance).
POLL_S = 2.0
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
def test_demo_on_a_small_world(demo_installation):
    run, world, warehouse = demo_installation.run, demo_installation.world, demo_installation.warehouse
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
    assert_table_assets_report_rows(demo_installation.dagster_home)



def _write_demo_request(events_dir: Path, email: str) -> None:
    """A new website event file holding one "Demo Requested" track call by the person with the e-mail."""
    message = {
        "type": "track", "event": "Demo Requested", "messageId": f"nrt-{uuid.uuid4()}",
        "anonymousId": f"anon-{uuid.uuid4().hex[:12]}", "timestamp": datetime.now(UTC).isoformat(),
        "properties": {"product": "revloop"}, "context": {"traits": {"email": email}},
    }
    (events_dir / "website" / f"nrt-{uuid.uuid4().hex[:8]}.jsonl").write_text(json.dumps(message) + "\n")


def _sensor_cursors(instance: DagsterInstance) -> dict[str, dict]:
    """Each sensor's stored cursor, as the daemon persisted it in the instance."""
    cursors = {}
    for state in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR):
        cursor = getattr(state.instigator_data, "cursor", None)
        if cursor:
            cursors[state.instigator_name] = json.loads(cursor)
    return cursors


def _people_records(sf: Salesforce, email: str) -> list[dict]:
    """The Contacts, then the Leads, carrying the e-mail, with the fields the test checks."""
    return [
        record
        for sobject in ("Contact", "Lead")
        for record in sf.query(f"SELECT Id, Title, LastName FROM {sobject} WHERE Email = '{email}'")[
            "records"
        ]
    ]


def _person_record(sf: Salesforce, email: str) -> dict | None:
    """The first Contact or Lead carrying the e-mail."""
    return next(iter(_people_records(sf, email)), None)


def _lead_not_handed_off(warehouse: Path) -> str | None:
    """The e-mail of a Salesforce lead whose profile marketing may hand off and has not handed off yet."""
    stages = yaml.safe_load((REPO / "config" / "handoff.yml").read_text())["eligible_lifecycle_stages"]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        row = con.execute(
            """
            select p.email from marts.customer_profiles p
            join raw_salesforce.lead l on lower(l.email) = lower(p.email)
            where p.lifecycle_stage in (select unnest(?)) and not l.is_converted and not l.is_deleted
              and p.profile_id not in (select profile_id from marts.lead_handoffs)
            order by p.email limit 1
            """,
            [stages],
        ).fetchone()
    return row[0] if row else None


@pytest.mark.slow
# The demo's runs (when this test runs alone), the daemon's start and the sensor-launched runs: minutes.
@pytest.mark.timeout(2400)
def test_crm_changes_and_a_demo_request_flow_without_a_manual_run(demo_installation, tmp_path):
    """After `make demo`, with only the daemon running (as `make dev` runs it), changes flow on."""
    installation = demo_installation
    assert installation.run.returncode == 0, installation.run.stderr[-4000:]
    sandbox, world, events_dir = installation.sandbox, installation.world, installation.events_dir
    dagster_home = installation.dagster_home
    daemon_log = tmp_path / "daemon.log"
    env = {**installation.env, "REVLOOP_SENSOR_INTERVAL_S": "3"}
    sf = Salesforce(instance_url=sandbox.salesforce.url, session_id=SANDBOX_TOKEN, version="54.0",
                    session=trusting_session(sandbox.tls.ca_bundle))
    hs = HubSpot(access_token=SANDBOX_TOKEN, host=sandbox.hubspot.url,
                 ssl_ca_cert=str(sandbox.tls.ca_cert))
    contact = world.hubspot["contacts"][0]
    email = contact["properties"]["email"]
    assert _person_record(sf, email) is not None, "the demo should have paired the contact"

    # Read before the daemon starts: DuckDB lets no reader in while a run writes.
    lead = _lead_not_handed_off(installation.warehouse)
    assert lead, "the small world should hold a lead not handed off yet"
    instance = DagsterInstance.from_ref(InstanceRef.from_dir(str(dagster_home)))
    # Its own process group: the daemon starts a code server and run workers, all stopped together.
    with daemon_log.open("w") as log:
        daemon = subprocess.Popen(
            [str(BIN / "dagster-daemon"), "run", "-m", "orchestration.definitions"],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        # The first poll records where each source stands; only later changes launch runs.
        wait_for("the sensors' first polls",
                 lambda: {"crm_change_sensor", "event_files_sensor"} <= set(_sensor_cursors(instance)),
                 180, daemon_log, every_s=POLL_S)

        # (2) A demo request on the website, then (1) a field changed and a record created in HubSpot
        # while the event's run goes on: the CRM change's run follows it, no run waits for another.
        since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        _write_demo_request(events_dir, lead)
        event_runs = RunsFilter(tags={TRIGGER_TAG: "events: website"})
        wait_for("the event sensor's run", lambda: instance.get_runs(filters=event_runs), 120,
                 daemon_log, every_s=POLL_S)
        title = f"Head of Sensors {uuid.uuid4().hex[:6]}"
        contacts = hs.crm.contacts.basic_api
        contacts.update(contact["id"], SimplePublicObjectInput(properties={"jobtitle": title}))
        new_email = f"nrt-{uuid.uuid4().hex[:8]}@sensor-test.example"
        contacts.create(SimplePublicObjectInputForCreate(properties={
            "email": new_email, "firstname": "Nia", "lastname": "Realtime", "company": "Sensor Test Ltd",
        }))
        wait_for("the HubSpot change and the new contact in Salesforce",
                 lambda: (_person_record(sf, email) or {}).get("Title") == title
                 and _person_record(sf, new_email) is not None,
                 RUNS_WAIT_S, daemon_log, every_s=POLL_S)
        assert _person_record(sf, new_email)["LastName"] == "Realtime"
        runs = instance.get_runs()
        assert any(run.job_name == "near_real_time_sync" for run in runs)
        # The cursor lives in the instance: a fresh instance on this DAGSTER_HOME (a restart) reads it.
        stored = _sensor_cursors(DagsterInstance.from_ref(InstanceRef.from_dir(str(dagster_home))))
        assert set(stored["crm_change_sensor"]["hubspot"]) == {"contacts", "companies", "deals"}

        people = ", ".join(f"'{record['Id']}'" for record in _people_records(sf, lead))
        wait_for("a follow-up Task for the lead who requested a demo",
                 lambda: sf.query(f"SELECT Id FROM Task WHERE WhoId IN ({people}) "
                                  f"AND CreatedDate >= {since}")["records"],
                 RUNS_WAIT_S, daemon_log, every_s=POLL_S)
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        try:
            daemon.wait(timeout=30)
        finally:
            # Whatever of the group outlived the daemon (a run worker mid-step) goes too.
            try:
                os.killpg(daemon.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            daemon.wait()


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
