"""The near-real-time sensors and the run-failure alert, evaluated against a temp Dagster instance."""

import json
import socket
import uuid
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message
from dagster import (
    AssetKey,
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    RunRequest,
    SkipReason,
    asset,
    build_run_status_sensor_context,
    build_sensor_context,
    materialize,
)
from hubspot.crm.contacts import SimplePublicObjectInput, SimplePublicObjectInputForCreate

from orchestration.defs import automation
from orchestration.resources import HubSpotResource, SalesforceResource, WarehouseResource
from orchestration.shared import CRM_CHANGES_SYNCED, STEP_PRIORITY_TAG


@pytest.fixture(scope="module")
def defs():
    from orchestration.definitions import defs

    return defs


@pytest.fixture
def instance(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    with DagsterInstance.local_temp(str(home)) as instance:
        yield instance


def _events_tick(defs, instance, events_dir: Path, cursor: str | None):
    context = build_sensor_context(
        instance=instance, cursor=cursor, definitions=defs,
        resources={"warehouse": WarehouseResource(events_dir=str(events_dir))},
    )
    return automation.event_files_sensor(context), context.cursor


def _event_file(events_dir: Path, channel: str) -> None:
    folder = events_dir / channel
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{uuid.uuid4().hex}.jsonl").write_text('{"type": "track"}\n')


def test_new_event_files_launch_their_channel_and_what_depends_on_it(defs, instance, tmp_path):
    events_dir = tmp_path / "events"
    _event_file(events_dir, "website")
    first, cursor = _events_tick(defs, instance, events_dir, None)
    assert isinstance(first, SkipReason), "the first poll only records where the folders stand"
    assert set(json.loads(cursor)["events"]) == {"website", "email", "social", "ads", "offline"}

    _event_file(events_dir, "email")
    request, advanced = _events_tick(defs, instance, events_dir, cursor)
    assert isinstance(request, RunRequest)
    keys = set(request.asset_selection)
    assert AssetKey(["raw", "events", "email"]) in keys
    assert AssetKey(["marts", "customer_profiles"]) in keys and AssetKey(["activation", "sync_log"]) in keys
    assert AssetKey(["raw", "events", "website"]) not in keys
    assert not any(key.path[0] == "raw" and key.path[1] != "events" for key in keys)
    assert not any(key.path[0] == "ml" for key in keys), "training and scoring stay in daily_models"
    assert CRM_CHANGES_SYNCED not in keys, "no CRM record changed"
    assert request.tags[automation.TRIGGER_TAG] == "events: email"
    assert request.asset_check_keys == [], "dbt tests are left to the hourly run (config run_dbt_tests)"
    assert advanced != cursor

    again, _ = _events_tick(defs, instance, events_dir, advanced)
    assert isinstance(again, SkipReason)


@pytest.mark.parametrize("job_name", ["near_real_time_sync", "hourly_sync"])
def test_no_run_piles_up_behind_a_running_sync_and_the_cursor_waits(defs, instance, tmp_path, job_name):
    events_dir = tmp_path / "events"
    _, cursor = _events_tick(defs, instance, events_dir, None)
    _event_file(events_dir, "website")
    run = instance.add_run(DagsterRun(job_name=job_name, run_id=str(uuid.uuid4()),
                                      status=DagsterRunStatus.STARTED))

    waiting, unchanged = _events_tick(defs, instance, events_dir, cursor)
    assert isinstance(waiting, SkipReason) and run.run_id in waiting.skip_message
    assert unchanged == cursor, "the change is still pending once the run ends"

    instance.report_run_failed(run)
    request, _ = _events_tick(defs, instance, events_dir, cursor)
    assert isinstance(request, RunRequest)


def test_the_crm_sensor_skips_what_is_not_configured_or_not_reachable(defs, instance, monkeypatch, tmp_path):
    warehouse = WarehouseResource(path=str(tmp_path / "warehouse.duckdb"))
    quiet = build_sensor_context(instance=instance, definitions=defs, resources={
        "salesforce": SalesforceResource(), "hubspot": HubSpotResource(), "warehouse": warehouse,
    })
    assert "neither Salesforce nor HubSpot" in automation.crm_change_sensor(quiet).skip_message

    down = build_sensor_context(instance=instance, definitions=defs, resources={
        "salesforce": SalesforceResource(instance_url="https://127.0.0.1:9", access_token="t"),
        "hubspot": HubSpotResource(access_token="t", base_url="https://127.0.0.1:9"),
        "warehouse": warehouse,
    })
    result = automation.crm_change_sensor(down)
    assert isinstance(result, SkipReason) and "not probed" in result.skip_message
    assert json.loads(down.cursor) == {"salesforce": {}, "hubspot": {}}


def test_a_hubspot_change_launches_both_crms_tables_and_what_depends_on_them(
    defs, instance, hs_sandbox, tmp_path
):
    created = hs_sandbox.client().crm.contacts.basic_api.create(
        SimplePublicObjectInputForCreate(properties={"email": "a@example.com"})
    )
    resources = {
        "salesforce": SalesforceResource(),
        "hubspot": HubSpotResource(access_token=hs_sandbox.token, base_url=hs_sandbox.url,
                                   ca_bundle=str(hs_sandbox.ca_cert)),
        "warehouse": WarehouseResource(path=str(tmp_path / "warehouse.duckdb")),
    }
    first = build_sensor_context(instance=instance, definitions=defs, resources=resources)
    assert isinstance(automation.crm_change_sensor(first), SkipReason)

    hs_sandbox.client().crm.contacts.basic_api.update(
        created.id, SimplePublicObjectInput(properties={"jobtitle": "CTO"})
    )
    second = build_sensor_context(instance=instance, cursor=first.cursor, definitions=defs,
                                  resources=resources)
    request = automation.crm_change_sensor(second)
    assert isinstance(request, RunRequest) and request.tags[automation.TRIGGER_TAG] == "hubspot: contacts"
    keys = set(request.asset_selection)
    assert {AssetKey(["raw", "hubspot", "contacts"]), AssetKey(["raw", "hubspot", "deals"])} <= keys
    assert AssetKey(["activation", "sync_log"]) in keys
    # right after the loads, before any dbt step, the changed records are synced (the highest step priority)
    assert CRM_CHANGES_SYNCED in keys
    priorities = {
        node.name: int(node.tags.get(STEP_PRIORITY_TAG, 0))
        for node in defs.resolve_job_def(automation.NEAR_REAL_TIME_JOB).graph.node_dict.values()
    }
    assert max(priorities, key=priorities.get) == "crm_changes_sync" and sorted(priorities.values())[-2] == 0
    # the sync weighs the change against the Salesforce records as they are now: their delta is read too
    assert {AssetKey(["raw", "salesforce", "lead"]), AssetKey(["raw", "salesforce", "contact"])} <= keys
    assert not any(key.path[:2] == ["raw", "events"] for key in keys)
    assert json.loads(second.cursor)["hubspot"]["contacts"] > json.loads(first.cursor)["hubspot"]["contacts"]


class Sink(Message):
    """An SMTP sink keeping what it receives."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list = []

    def handle_message(self, message) -> None:
        self.messages.append(message)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@asset
def broken_asset():
    raise ValueError("the upstream file is malformed")


def test_a_failed_run_is_logged_and_mailed_without_secrets(instance, monkeypatch, capfd):
    sink = Sink()
    port = _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("SMTP_PORT", str(port))
        monkeypatch.setenv("SMTP_FROM", "revloop@example.com")
        monkeypatch.setenv("SMTP_PASSWORD", "smtp-secret")
        monkeypatch.setenv("REVLOOP_ALERT_EMAIL", "ops@example.com")
        result = materialize([broken_asset], instance=instance, raise_on_error=False)
        assert not result.success
        context = build_run_status_sensor_context(
            sensor_name="run_failure_alert", dagster_instance=instance, dagster_run=result.dagster_run,
            dagster_event=result.get_run_failure_event(),
        ).for_run_failure()
        automation.run_failure_alert(context)
    finally:
        controller.stop()

    (mail,) = sink.messages
    body = mail.get_payload(decode=True).decode().replace("\r\n", "\n")
    assert mail["To"] == "ops@example.com" and "broken_asset" in mail["Subject"]
    assert f"Run {result.run_id} of job {result.dagster_run.job_name} failed." in body
    assert "Failing step: broken_asset" in body and "ValueError: the upstream file is malformed" in body
    assert "smtp-secret" not in body
    logged = capfd.readouterr().err
    assert "ERROR - [revloop] " in logged and "failed in broken_asset" in logged
    assert "smtp-secret" not in logged


def test_the_failure_message_names_run_job_steps_and_errors():
    subject, body = automation.failure_message("r1", "hourly_sync", "Execution failed", {"dbt_phase": "boom"})
    assert subject == "[revloop] hourly_sync failed in dbt_phase"
    assert "Run r1 of job hourly_sync failed." in body and "Failing step: dbt_phase\nboom" in body
