"""Segment request bodies into stored lines: server-side fields, limits, the ingestion's own reasons, auth."""

import base64
import json
from datetime import UTC, datetime

import pytest

from collector.auth import basic_auth_user, bearer_token, channel_for, token_matches
from collector.messages import RequestRefused, Validator, prepare
from revloop.config import ConfigError
from revloop.config.collector import load_collector_config

RECEIVED = datetime(2026, 11, 3, 12, 0, 0, 123000, tzinfo=UTC)
# analytics-python's shape: every message carries messageId, timestamp, context.library, integrations.
PYTHON_TRACK = {
    "type": "track",
    "event": "Demo Requested",
    "userId": "u-1",
    "properties": {"plan": "pro"},
    "context": {"library": {"name": "analytics-python", "version": "2.4.0"}},
    "integrations": {},
    "timestamp": "2026-11-03T11:59:58.000+00:00",
    "messageId": "6c3a4b1e-93a1-4b0e-9d53-7ab0c9a3f0de",
}


@pytest.fixture(scope="module")
def validator() -> Validator:
    return Validator()


def stored(endpoint, body, validator, max_message_bytes=32768, max_batch=2500) -> list[dict]:
    prepared = prepare(endpoint, body, RECEIVED, validator, max_message_bytes, max_batch)
    return [json.loads(line) for line in prepared.lines]


def test_batch_envelope_and_server_fields(validator):
    body = {"batch": [PYTHON_TRACK], "sentAt": "2026-11-03T11:59:59.5+00:00", "writeKey": "secret"}
    [message] = stored("batch", body, validator)
    assert message["sentAt"] == "2026-11-03T11:59:59.5+00:00"
    assert message["receivedAt"] == "2026-11-03T12:00:00.123Z"
    assert message["messageId"] == PYTHON_TRACK["messageId"]
    assert message["timestamp"] == PYTHON_TRACK["timestamp"]
    assert "writeKey" not in json.dumps(message)


def test_single_endpoint_implies_type_and_fills_what_segment_fills(validator):
    # The HTTP API's minimal track: no type, messageId or timestamp; the key in the body (analytics.js).
    [message] = stored("t", {"userId": "u-2", "event": "Trial Started", "writeKey": "secret"}, validator)
    assert message["type"] == "track"
    assert message["messageId"].startswith("api-") and message["timestamp"] == "2026-11-03T12:00:00.123Z"
    assert "writeKey" not in message


def test_envelope_context_applies_only_where_a_message_has_none(validator):
    own = {**PYTHON_TRACK, "messageId": "m2"}
    bare = {k: v for k, v in PYTHON_TRACK.items() if k != "context"}
    envelope_context = {"library": {"name": "analytics.js", "version": "5"}}
    first, second = stored("batch", {"batch": [own, bare], "context": envelope_context}, validator)
    assert first["context"]["library"]["name"] == "analytics-python"
    assert second["context"] == envelope_context


def test_accept_language_kept_on_each_message_unless_the_sender_set_one(validator):
    own = {**PYTHON_TRACK, "messageId": "own", "context": {"accept_language": "pt-BR", "locale": "pt-BR"}}
    bare = {k: v for k, v in PYTHON_TRACK.items() if k != "context"}
    envelope = {"library": {"name": "analytics.js", "version": "5"}}
    body = {"batch": [PYTHON_TRACK, own, bare], "context": envelope}
    prepared = prepare("batch", body, RECEIVED, validator, 32768, 2500, accept_language="de-CH")
    first, second, third = (json.loads(line) for line in prepared.lines)
    assert first["context"] == {**PYTHON_TRACK["context"], "accept_language": "de-CH"}
    assert second["context"]["accept_language"] == "pt-BR"  # never overwritten
    assert third["context"] == {**envelope, "accept_language": "de-CH"}
    assert envelope == {"library": {"name": "analytics.js", "version": "5"}}  # the envelope is not changed
    # no header, no key
    [message] = stored("track", {k: v for k, v in PYTHON_TRACK.items() if k != "type"}, validator)
    assert "accept_language" not in message["context"]


@pytest.mark.parametrize(
    ("endpoint", "body", "code", "reason"),
    [
        ("track", {"event": "X", "anonymousId": "a", "timestamp": "yesterday"}, "invalid_message",
         "unparseable timestamp 'yesterday'"),
        ("track", {"userId": "u"}, "invalid_message", "track message without event"),
        ("identify", {"traits": {"email": "a@b.c"}}, "invalid_message",
         "identify message without userId or anonymousId"),
        ("batch", {"batch": [[1, 2]]}, "invalid_message", "not a JSON object but a JSON array"),
        ("batch", {"batch": [{**PYTHON_TRACK, "type": "purchase"}]}, "invalid_message",
         "unknown type 'purchase'"),
        ("batch", {"batch": []}, "invalid_request", "batch must be a non-empty array"),
        ("batch", [PYTHON_TRACK], "invalid_request", "the body is not a JSON object"),
    ],
)
def test_invalid_messages_refused_with_the_ingestion_reason(validator, endpoint, body, code, reason):
    with pytest.raises(RequestRefused) as refused:
        stored(endpoint, body, validator)
    assert refused.value.code == code
    assert reason in str(refused.value)


def test_bad_messages_of_a_batch_are_named_and_the_good_ones_kept(validator):
    second = {**PYTHON_TRACK, "messageId": "m-2"}
    body = {"batch": [PYTHON_TRACK, {**PYTHON_TRACK, "event": ""}, second, {"type": "page"}]}
    prepared = prepare("batch", body, RECEIVED, validator, 32768, 2500)
    assert [(p.index, p.reason) for p in prepared.refused] == [
        (1, "track message without event"),
        (3, "page message without userId or anonymousId"),
    ]
    assert [json.loads(line)["messageId"] for line in prepared.lines] == [PYTHON_TRACK["messageId"], "m-2"]


def test_a_batch_with_no_good_message_is_refused_whole(validator):
    with pytest.raises(RequestRefused) as refused:
        stored("batch", {"batch": [{**PYTHON_TRACK, "event": ""}, {"type": "page"}]}, validator)
    assert refused.value.code == "invalid_message" and [p.index for p in refused.value.problems] == [0, 1]


def test_size_and_count_limits(validator):
    big = {**PYTHON_TRACK, "properties": {"text": "x" * 40_000}}
    with pytest.raises(RequestRefused) as refused:
        stored("batch", {"batch": [big]}, validator)
    assert refused.value.code == "payload_too_large" and refused.value.problems[0].index == 0
    kept = prepare("batch", {"batch": [PYTHON_TRACK, big]}, RECEIVED, validator, 32768, 2500)
    assert len(kept.lines) == 1
    assert kept.refused[0].index == 1 and "exceeds the limit" in kept.refused[0].reason
    with pytest.raises(RequestRefused, match="batch of 3 messages exceeds the limit of 2"):
        stored("batch", {"batch": [PYTHON_TRACK] * 3}, validator, max_batch=2)


def test_validator_judges_each_request_alone(validator):
    # The same messageId in two requests: both accepted (repeats are ingestion's job), nothing remembered.
    assert stored("batch", {"batch": [PYTHON_TRACK]}, validator)
    assert stored("batch", {"batch": [PYTHON_TRACK]}, validator)


def test_credentials():
    header = "Basic " + base64.b64encode(b"wk_live:").decode()
    assert basic_auth_user(header) == "wk_live"
    assert basic_auth_user("Basic !!!") is None and basic_auth_user("Bearer x") is None
    assert bearer_token("Bearer tok ") == "tok" and bearer_token("Basic x") is None
    keys = {"wk_live": "website", "wk_mail": "email"}
    assert channel_for("wk_mail", keys) == "email" and channel_for("wk_other", keys) is None
    assert channel_for(None, keys) is None
    assert token_matches("t", "t") and not token_matches("t", "u") and not token_matches("t", None)


def test_config_maps_env_vars_to_channels(tmp_path):
    config = load_collector_config()
    env = {"REVLOOP_WRITE_KEY_WEBSITE": "k1", "REVLOOP_WRITE_KEY_ADS": "k2"}
    assert config.write_keys(env) == {"k1": "website", "k2": "ads"}
    assert config.disabled_channels(env) == ["email", "social", "offline"]
    with pytest.raises(ConfigError, match="REVLOOP_WRITE_KEY_ADS holds the same write key as") as shared:
        config.write_keys({"REVLOOP_WRITE_KEY_WEBSITE": "wk-s3cret", "REVLOOP_WRITE_KEY_ADS": "wk-s3cret"})
    assert "wk-s3cret" not in str(shared.value)


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("channels:\n  webshop: {write_key_env: K}\n", "channels: Value error, unknown channel(s) webshop"),
        ("channels:\n  website: {write_key_env: lower}\n", "channels.website.write_key_env"),
        ("channels:\n  website: {write_key_env: K}\nlimits: {max_message_bytes: 0}\n",
         "limits.max_message_bytes"),
    ],
)
def test_config_errors_name_file_and_key(tmp_path, yaml_text, message):
    (tmp_path / "collector.yml").write_text(yaml_text)
    with pytest.raises(ConfigError, match="collector.yml") as error:
        load_collector_config(tmp_path)
    assert message in str(error.value)
