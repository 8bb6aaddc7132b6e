"""HubSpot webhooks without a network: the v3 signature, the batch, the spool and the probe over it."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from hubspot.utils.signature import Signature

from ingestion.change_probe import probe_webhooks, with_announced
from ingestion.webhooks.batch import BatchRefused, WebhookEvent, parse_batch
from ingestion.webhooks.signature import SignatureRejected, signed_uri, v3_signature, verify_v3
from ingestion.webhooks.spool import WebhookSpool

SECRET = "app-client-secret-5d1e"
URL = "https://revloop.example.com/webhooks/hubspot"
NOW_MS = 1_780_000_000_000


def _event(event_id: int, object_id: int = 101, kind: str = "contact.propertyChange",
           at_ms: int = NOW_MS) -> dict:
    return {"eventId": event_id, "subscriptionId": 7, "portalId": 62515, "appId": 54321, "occurredAt": at_ms,
            "subscriptionType": kind, "attemptNumber": 0, "objectId": object_id, "propertyName": "phone",
            "propertyValue": "+1 555 0100", "changeSource": "CRM_UI"}


def test_the_signature_is_the_one_hubspots_own_client_computes():
    body = json.dumps([_event(1)]).encode()
    ours = v3_signature(SECRET, "POST", URL, body, str(NOW_MS))
    assert ours == Signature.get_signature(SECRET, body.decode(), "v3", URL, "POST", str(NOW_MS))
    verify_v3(SECRET, "POST", URL, body, str(NOW_MS), ours, NOW_MS + 1000)


def test_listed_escapes_are_decoded_before_signing_and_others_kept():
    assert signed_uri("https://h/p%3Aa%2fb?x=%40y%20z") == "https://h/p:a/b?x=@y%20z"
    body = b"[]"
    decoded = v3_signature(SECRET, "POST", "https://h/p:a?x=@y", body, "1")
    assert v3_signature(SECRET, "POST", "https://h/p%3Aa?x=%40y", body, "1") == decoded


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"signature": "bm90IGl0"}, "does not match"),
        ({"body": b'[{"eventId": 2}]'}, "does not match"),
        ({"secret": "another-secret"}, "does not match"),
        ({"timestamp": str(NOW_MS - 301_000)}, "301 s old"),
        ({"timestamp": str(NOW_MS + 120_000)}, "in the future"),
        ({"timestamp": "yesterday"}, "not milliseconds"),
        ({"signature": None}, "missing X-HubSpot-Signature-v3"),
        ({"timestamp": None}, "missing X-HubSpot-Request-Timestamp"),
        ({"signature": "é"}, "does not match"),
    ],
)
def test_a_wrong_stale_or_missing_signature_is_refused_with_the_reason(change, reason):
    request = {"secret": SECRET, "body": json.dumps([_event(1)]).encode(), "timestamp": str(NOW_MS)}
    signature = v3_signature(SECRET, "POST", URL, request["body"], request["timestamp"])
    request = {**request, "signature": signature, **change}
    # a stale or future timestamp is signed correctly: only its age refuses it
    if "timestamp" in change and change["timestamp"] and change["timestamp"].isdigit():
        request["signature"] = v3_signature(SECRET, "POST", URL, request["body"], change["timestamp"])
    with pytest.raises(SignatureRejected, match=reason) as refused:
        verify_v3(request["secret"], "POST", URL, request["body"], request["timestamp"], request["signature"],
                  NOW_MS)
    assert SECRET not in str(refused.value)


def test_a_batch_is_parsed_into_events_with_api_object_names():
    events = parse_batch(json.dumps([_event(1), _event(2, 202, "deal.creation")]).encode())
    assert [(e.event_id, e.object_type, e.object_id, e.property_name) for e in events] == [
        ("1", "contacts", "101", "phone"), ("2", "deals", "202", "phone")]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b"[]", "non-empty JSON array"),
        (b'{"eventId": 1}', "non-empty JSON array"),
        (b"[1]", "event 0 is not an object"),
        (json.dumps([_event(1), {**_event(2), "objectId": None}]).encode(), "event 1: objectId"),
        (json.dumps([{**_event(1), "subscriptionType": "contact"}]).encode(), "<object>.<change>"),
        (json.dumps([{**_event(1), "occurredAt": "soon"}]).encode(), "occurredAt"),
    ],
)
def test_a_malformed_batch_is_refused_whole_with_the_reason(body, reason):
    with pytest.raises(BatchRefused, match=reason):
        parse_batch(body)


def _spooled(tmp_path, *events: dict) -> WebhookSpool:
    spool = WebhookSpool(tmp_path / "state" / "hubspot_webhooks.sqlite3")
    spool.record(parse_batch(json.dumps(list(events)).encode()), NOW_MS)
    return spool


def test_the_spool_keeps_each_event_once_and_no_property_values(tmp_path):
    spool = _spooled(tmp_path, _event(1), _event(2, 102))
    retried = [WebhookEvent("1", "contact.propertyChange", "contacts", "101", NOW_MS, attempt_number=1)]
    assert spool.record(retried, NOW_MS + 5) == 0
    assert [e.object_id for e in spool.since(0, "contacts", 10)] == ["102", "101"]
    assert b"555 0100" not in spool.path.read_bytes()


def test_the_probe_reports_spooled_changes_once_and_skips_own_writes(tmp_path):
    spool = _spooled(tmp_path, _event(1), _event(2, 300, "company.creation"))
    first = probe_webhooks(spool, ["contacts", "companies", "deals"], {})
    assert sorted(first.changed) == ["companies", "contacts"], "a webhook event is news from the first probe"
    cursor = first.cursor({})
    assert probe_webhooks(spool, ["contacts", "companies", "deals"], cursor).changed == []

    at = datetime.fromtimestamp(NOW_MS / 1000, UTC)
    spool.record(parse_batch(json.dumps([_event(3, 101, at_ms=NOW_MS + 1000)]).encode()), NOW_MS + 1000)
    ours = probe_webhooks(spool, ["contacts"], cursor, lambda ids: {"101": at + timedelta(seconds=1)})
    assert ours.changed == [] and int(ours.cursor(cursor)["contacts"]) > int(cursor["contacts"])
    theirs = probe_webhooks(spool, ["contacts"], cursor, lambda ids: {"101": at - timedelta(hours=1)})
    assert theirs.changed == ["contacts"]
    damaged = probe_webhooks(spool, ["contacts"], {"contacts": 7.5, "deals": "x"})
    assert damaged.changed == ["contacts"], "a damaged cursor starts again from the first event"


def test_the_poll_leaves_announced_changes_to_the_webhook_sensor(tmp_path):
    spool = _spooled(tmp_path, _event(1, 101))
    written = {"202": datetime(2026, 1, 1, tzinfo=UTC)}
    known = with_announced(written, spool, ["101", "202", "303"])
    assert set(known) == {"101", "202"} and known["101"] == datetime.fromtimestamp(NOW_MS / 1000, UTC)
    assert with_announced(None, spool, ["101"]) is None, "unknown own writes stay unknown"
