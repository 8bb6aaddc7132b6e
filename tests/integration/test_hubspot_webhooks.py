"""HubSpot webhooks end to end: the sandbox signs and posts as HubSpot does, the collector verifies and
spools, and the webhook sensor requests the run the poll would, with no poll."""

import json
import sqlite3
import time
import uuid
from pathlib import Path

import pytest
import requests
from dagster import (
    AssetKey,
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    SkipReason,
    build_sensor_context,
)
from hubspot.crm.contacts import PublicMergeInput, SimplePublicObjectInput, SimplePublicObjectInputForCreate

from collector.app import create_app
from collector.server import BackgroundServer
from orchestration.defs import automation
from orchestration.resources import WarehouseResource
from revloop.config.collector import load_collector_config
from sandbox.hubspot.webhooks import WebhookTarget, sign_v3

SECRET = "hs-client-secret-test-7c41"
ENV = {"HUBSPOT_CLIENT_SECRET": SECRET, "REVLOOP_WRITE_KEY_WEBSITE": "wk_site_1"}


@pytest.fixture(scope="module")
def defs():
    from orchestration.definitions import defs

    return defs


@pytest.fixture
def collector(tmp_path):
    spool = tmp_path / ".warehouse.state" / "hubspot_webhooks.sqlite3"
    app = create_app(load_collector_config(), tmp_path / "events", tmp_path / "snapshot.duckdb", ENV, spool)
    server = BackgroundServer(app)
    yield server
    server.stop()


def _rows(spool: Path) -> list[tuple]:
    if not spool.exists():
        return []
    with sqlite3.connect(spool) as connection:
        return connection.execute(
            "select event_id, subscription_type, object_id from hubspot_events order by seq"
        ).fetchall()


def _post(url: str, body: bytes, secret: str = SECRET, age_ms: int = 0, signed_url: str | None = None):
    stamp = str(int(time.time() * 1000) - age_ms)
    headers = {
        "Content-Type": "application/json",
        "X-HubSpot-Request-Timestamp": stamp,
        "X-HubSpot-Signature-v3": sign_v3(secret, "POST", signed_url or url, body, stamp),
    }
    return requests.post(url, data=body, headers=headers, timeout=10)


def _batch(*event_ids: int) -> bytes:
    return json.dumps([
        {"eventId": i, "subscriptionId": 1, "portalId": 1, "appId": 1, "occurredAt": int(time.time() * 1000),
         "subscriptionType": "contact.propertyChange", "attemptNumber": 0, "objectId": 100 + i,
         "propertyName": "phone", "propertyValue": "1", "changeSource": "CRM_UI"}
        for i in event_ids
    ]).encode()


def test_a_contact_changed_in_the_sandbox_reaches_the_sensor_by_webhook(
    collector, hs_sandbox, hs_client, tmp_path, defs
):
    url = f"{collector.url}/webhooks/hubspot"
    sender = hs_sandbox.emulator.deliver_webhooks(WebhookTarget(url=url, client_secret=SECRET))
    try:
        created = hs_client.crm.contacts.basic_api.create(
            SimplePublicObjectInputForCreate(properties={"email": "ada@example.com"})
        )
        change = SimplePublicObjectInput(properties={"phone": "42"})
        hs_client.crm.contacts.basic_api.update(created.id, change)
        assert sender.flush(), "the sandbox delivered its webhooks"
    finally:
        hs_sandbox.emulator.deliver_webhooks(None)
    assert sender.deliveries and all(d.status == 200 for d in sender.deliveries)
    spool = collector.app.webhooks.spool.path
    kinds = [(kind, object_id) for _, kind, object_id in _rows(spool)]
    assert ("contact.creation", created.id) in kinds and ("contact.propertyChange", created.id) in kinds

    home = tmp_path / "dagster_home"
    home.mkdir()
    # The spool is the warehouse's: WAREHOUSE_PATH leads the sensor to the file the collector wrote.
    warehouse = {"warehouse": WarehouseResource(path=str(tmp_path / "warehouse.duckdb"))}
    with DagsterInstance.local_temp(str(home)) as instance:
        context = build_sensor_context(instance=instance, definitions=defs, resources=warehouse)
        request = automation.hubspot_webhook_sensor(context)
        assert isinstance(request, RunRequest), request
        keys = set(request.asset_selection)
        assert AssetKey(["raw", "hubspot", "contacts"]) in keys
        assert AssetKey(["marts", "customer_profiles"]) in keys
        # the same run as the poll's: Salesforce's delta too, no event channel
        assert AssetKey(["raw", "salesforce", "contact"]) in keys
        assert not any(key.path[:2] == ["raw", "events"] for key in keys)
        assert request.tags[automation.TRIGGER_TAG] == "hubspot: contacts"
        again = build_sensor_context(
            instance=instance, cursor=context.cursor, definitions=defs, resources=warehouse
        )
        assert isinstance(automation.hubspot_webhook_sensor(again), SkipReason), "each event starts one run"

        # a change arriving while a sync runs waits for that run, then starts its own
        run = instance.add_run(DagsterRun(job_name="hourly_sync", run_id=str(uuid.uuid4()),
                                          status=DagsterRunStatus.STARTED))
        assert _post(url, _batch(9)).status_code == 200
        waiting = build_sensor_context(
            instance=instance, cursor=again.cursor, definitions=defs, resources=warehouse
        )
        skipped = automation.hubspot_webhook_sensor(waiting)
        assert isinstance(skipped, SkipReason) and run.run_id in skipped.skip_message
        assert waiting.cursor == again.cursor
        instance.report_run_failed(run)
        assert isinstance(automation.hubspot_webhook_sensor(waiting), RunRequest)
    sensor = automation.hubspot_webhook_sensor
    assert sensor in defs.sensors and sensor.default_status == DefaultSensorStatus.RUNNING
    assert sensor.minimum_interval_seconds <= 5


def test_a_bad_signature_is_401_and_nothing_is_kept(collector):
    url = f"{collector.url}/webhooks/hubspot"
    answer = _post(url, _batch(1), secret="not-the-secret")
    assert answer.status_code == 401 and "does not match" in answer.json()["message"]
    unsigned = requests.post(url, data=_batch(1), headers={"Content-Type": "application/json"}, timeout=10)
    assert unsigned.status_code == 401 and "missing" in unsigned.json()["message"]
    assert SECRET not in answer.text + unsigned.text
    assert _rows(collector.app.webhooks.spool.path) == []


def test_a_stale_request_is_401_even_when_signed_right(collector):
    answer = _post(f"{collector.url}/webhooks/hubspot", _batch(1), age_ms=6 * 60 * 1000)
    assert answer.status_code == 401 and "old" in answer.json()["message"]
    assert _rows(collector.app.webhooks.spool.path) == []


def test_a_replayed_delivery_is_kept_once(collector):
    url, body = f"{collector.url}/webhooks/hubspot", _batch(1, 2)
    first, replay = _post(url, body), _post(url, body)
    assert first.json() == {"success": True, "received": 2, "new": 2}
    assert replay.status_code == 200 and replay.json()["new"] == 0
    assert [event_id for event_id, _, _ in _rows(collector.app.webhooks.spool.path)] == ["1", "2"]


def test_a_malformed_body_is_400_with_the_reason(collector):
    url = f"{collector.url}/webhooks/hubspot"
    answer = _post(url, b'[{"eventId": 1, "subscriptionType": "contact.creation", "occurredAt": 1}]')
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_batch" and "objectId" in answer.json()["message"]
    assert _post(url, b"not json").json()["message"].startswith("body is not valid JSON")
    assert _rows(collector.app.webhooks.spool.path) == []


def test_behind_a_proxy_the_configured_public_url_is_what_is_verified(tmp_path):
    public = "https://crm-hooks.example.com/revloop/webhooks/hubspot"
    app = create_app(load_collector_config(), tmp_path / "events", tmp_path / "snap.duckdb",
                     {**ENV, "HUBSPOT_WEBHOOK_URL": public}, tmp_path / "spool.sqlite3")
    server = BackgroundServer(app)
    try:
        url = f"{server.url}/webhooks/hubspot"
        assert _post(url, _batch(1), signed_url=public).status_code == 200
        assert _post(url, _batch(2)).status_code == 401, "the URL HubSpot called is the public one"
    finally:
        server.stop()


def test_without_a_secret_webhooks_are_off_and_health_says_so(tmp_path):
    app = create_app(load_collector_config(), tmp_path / "events", tmp_path / "snap.duckdb",
                     {"REVLOOP_WRITE_KEY_EMAIL": "wk_mail_1"}, tmp_path / "spool.sqlite3")
    server = BackgroundServer(app)
    try:
        off = _post(f"{server.url}/webhooks/hubspot", _batch(1))
        assert off.status_code == 503 and "HUBSPOT_CLIENT_SECRET" in off.json()["message"]
        health = requests.get(f"{server.url}/health", timeout=10)
        assert health.status_code == 200
        assert health.json() == {"status": "ok", "channels": ["email"], "profile_api": False,
                                 "hubspot_webhooks": False}
    finally:
        server.stop()


def test_health_needs_no_token_and_shows_no_secret(collector):
    health = requests.get(f"{collector.url}/health", timeout=10)
    assert health.status_code == 200 and health.json()["hubspot_webhooks"] is True
    assert health.json()["channels"] == ["website"]
    assert SECRET not in health.text and "wk_site_1" not in health.text


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/"), ("GET", "/v1/unknown"), ("POST", "/v1/unknown"), ("GET", "/webhooks/other"),
    ("POST", "/v2/track"),
])
def test_unknown_paths_are_404(collector, method, path):
    answer = requests.request(method, f"{collector.url}{path}", timeout=10)
    assert answer.status_code == 404 and answer.json()["code"] == "not_found"


def test_a_known_path_with_a_wrong_method_stays_405(collector):
    assert requests.get(f"{collector.url}/v1/track", timeout=10).status_code == 405
    assert requests.get(f"{collector.url}/webhooks/hubspot", timeout=10).status_code == 405


def test_deletions_and_merges_are_announced_and_failed_deliveries_retried(collector, hs_sandbox, hs_client,
                                                                          tmp_path):
    url = f"{collector.url}/webhooks/hubspot"
    contacts = hs_client.crm.contacts
    first, second, third = (
        contacts.basic_api.create(SimplePublicObjectInputForCreate(properties={"email": f"p{i}@example.com"}))
        .id for i in range(3)
    )
    sender = hs_sandbox.emulator.deliver_webhooks(WebhookTarget(url=url, client_secret=SECRET))
    try:
        contacts.basic_api.archive(third)
        merged = contacts.basic_api.merge(
            public_merge_input=PublicMergeInput(primary_object_id=first, object_id_to_merge=second)
        )
        assert sender.flush()
    finally:
        hs_sandbox.emulator.deliver_webhooks(None)
    kinds = {(kind, object_id) for _, kind, object_id in _rows(collector.app.webhooks.spool.path)}
    assert kinds == {("contact.deletion", third), ("contact.merge", merged.id)}

    # a receiver that is down (503: webhooks not configured yet) gets the batch again, attempt by attempt
    down = create_app(load_collector_config(), tmp_path / "events2", tmp_path / "snap2.duckdb", {},
                      tmp_path / "spool2.sqlite3")
    server = BackgroundServer(down)
    target = WebhookTarget(url=f"{server.url}/webhooks/hubspot", client_secret=SECRET, max_attempts=3,
                           first_backoff_s=0.01)
    retrying = hs_sandbox.emulator.deliver_webhooks(target)
    try:
        contacts.basic_api.update(merged.id, SimplePublicObjectInput(properties={"phone": "7"}))
        assert retrying.flush()
    finally:
        hs_sandbox.emulator.deliver_webhooks(None)
        server.stop()
    assert [(d.status, d.attempt) for d in retrying.deliveries] == [(503, 0), (503, 1), (503, 2)]
    assert [json.loads(d.body)[0]["attemptNumber"] for d in retrying.deliveries] == [0, 1, 2]
