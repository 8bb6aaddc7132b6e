"""The sensor-driven path: with only the Dagster daemon running, CRM changes and behaviour events flow on."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from dagster import DagsterInstance, RunsFilter
from dagster._core.instance.ref import InstanceRef
from dagster._core.scheduler.instigation import InstigatorType
from hubspot import HubSpot
from hubspot.crm.contacts import SimplePublicObjectInput, SimplePublicObjectInputForCreate
from simple_salesforce import Salesforce

from orchestration.defs.automation import TRIGGER_TAG
from sandbox.runner import SANDBOX_TOKEN, Sandbox
from sandbox.world import generate_world
from tests.fixtures.dbt import prepare_partial_parse
from tests.fixtures.salesforce import trusting_session

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# Each sensor-launched run rebuilds most of the warehouse (~1 min on a quiet 2-core machine, several when
# the machine is shared); the outcomes wait for up to two such runs.
RUNS_WAIT_S = 900


def _write_demo_request(events_dir: Path, email: str) -> None:
    """A new website event file holding one "Demo Requested" track call by the person with the e-mail."""
    message = {
        "type": "track", "event": "Demo Requested", "messageId": f"nrt-{uuid.uuid4()}",
        "anonymousId": f"anon-{uuid.uuid4().hex[:12]}", "timestamp": datetime.now(UTC).isoformat(),
        "properties": {"product": "revloop"}, "context": {"traits": {"email": email}},
    }
    (events_dir / "website" / f"nrt-{uuid.uuid4().hex[:8]}.jsonl").write_text(json.dumps(message) + "\n")


def _wait_for(what: str, check: Callable[[], Any], timeout_s: float, log: Path, every_s: float = 2.0) -> Any:
    """check()'s first truthy answer, polled until timeout_s; on timeout, fail with the daemon's log tail."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        answer = check()
        if answer:
            return answer
        time.sleep(every_s)
    pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}\n--- daemon log ---\n"
                f"{log.read_text()[-6000:]}")


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
# A full materialisation, the daemon's start and three sensor-launched runs: minutes on a busy machine.
@pytest.mark.timeout(2400)
def test_crm_changes_and_a_demo_request_flow_without_a_manual_run(tmp_path):
    world = generate_world(people=150, seed=23)
    events_dir = tmp_path / "events"
    world.write_events(events_dir)
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(REPO / "config" / "dagster.yaml", dagster_home / "dagster.yaml")
    daemon_log = tmp_path / "daemon.log"

    # every dbt build of the full run and of the sensor-launched runs parses the project partially
    dbt_env = prepare_partial_parse(tmp_path, {"WAREHOUSE_PATH": str(tmp_path / "warehouse.duckdb")})
    with Sandbox.start(tmp_path / "sandbox", world) as sandbox:
        env = {
            **os.environ,
            **sandbox.env(),
            **dbt_env,
            "EVENTS_DIR": str(events_dir),
            "DAGSTER_HOME": str(dagster_home),
            "REVLOOP_SENSOR_INTERVAL_S": "3",
        }
        materialize = ["asset", "materialize", "-m", "orchestration.definitions", "--select", "*"]
        first = subprocess.run(
            [str(BIN / "dagster"), *materialize], cwd=REPO, env=env, capture_output=True, text=True,
            timeout=600,
        )
        assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-4000:]

        sf = Salesforce(instance_url=sandbox.salesforce.url, session_id=SANDBOX_TOKEN, version="54.0",
                        session=trusting_session(sandbox.tls.ca_bundle))
        hs = HubSpot(access_token=SANDBOX_TOKEN, host=sandbox.hubspot.url,
                     ssl_ca_cert=str(sandbox.tls.ca_cert))
        contact = world.hubspot["contacts"][0]
        email = contact["properties"]["email"]
        assert _person_record(sf, email) is not None, "the first full run should have paired the contact"

        # Read before the daemon starts: DuckDB lets no reader in while a run writes.
        lead = _lead_not_handed_off(tmp_path / "warehouse.duckdb")
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
            _wait_for("the sensors' first polls",
                      lambda: {"crm_change_sensor", "event_files_sensor"} <= set(_sensor_cursors(instance)),
                      180, daemon_log)

            # (2) A demo request on the website, then (1) a field changed and a record created in HubSpot
            # while the event's run goes on: the CRM change's run follows it, no run waits for another.
            since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            _write_demo_request(events_dir, lead)
            event_runs = RunsFilter(tags={TRIGGER_TAG: "events: website"})
            _wait_for("the event sensor's run", lambda: instance.get_runs(filters=event_runs), 120,
                      daemon_log)
            title = f"Head of Sensors {uuid.uuid4().hex[:6]}"
            contacts = hs.crm.contacts.basic_api
            contacts.update(contact["id"], SimplePublicObjectInput(properties={"jobtitle": title}))
            new_email = f"nrt-{uuid.uuid4().hex[:8]}@sensor-test.example"
            contacts.create(SimplePublicObjectInputForCreate(properties={
                "email": new_email, "firstname": "Nia", "lastname": "Realtime", "company": "Sensor Test Ltd",
            }))
            _wait_for("the HubSpot change and the new contact in Salesforce",
                      lambda: (_person_record(sf, email) or {}).get("Title") == title
                      and _person_record(sf, new_email) is not None,
                      RUNS_WAIT_S, daemon_log)
            assert _person_record(sf, new_email)["LastName"] == "Realtime"
            runs = instance.get_runs()
            assert any(run.job_name == "near_real_time_sync" for run in runs)
            # The cursor lives in the instance: a fresh instance on this DAGSTER_HOME (a restart) reads it.
            stored = _sensor_cursors(DagsterInstance.from_ref(InstanceRef.from_dir(str(dagster_home))))
            assert set(stored["crm_change_sensor"]["hubspot"]) == {"contacts", "companies", "deals"}

            people = ", ".join(f"'{record['Id']}'" for record in _people_records(sf, lead))
            _wait_for("a follow-up Task for the lead who requested a demo",
                      lambda: sf.query(f"SELECT Id FROM Task WHERE WhoId IN ({people}) "
                                       f"AND CreatedDate >= {since}")["records"],
                      RUNS_WAIT_S, daemon_log)
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
