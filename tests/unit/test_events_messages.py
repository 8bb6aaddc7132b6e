"""Validation and column extraction of Segment Spec messages (ingestion.events.messages)."""

import json
from datetime import UTC, datetime

import pyarrow as pa
import pytest

from ingestion.events.messages import (
    FileReaderStopped,
    connect,
    lines_table,
    parse_file_messages,
    parse_messages,
)


def message(**fields) -> dict:
    """A valid track message, changed by `fields` (a None value removes the key)."""
    base = {
        "type": "track",
        "event": "Demo Requested",
        "messageId": "m-1",
        "userId": "u-1",
        "timestamp": "2026-03-01T10:00:00.250Z",
        "properties": {"path": "/pricing"},
        "context": {"ip": "10.0.0.1", "userAgent": "UA/1", "device": {"id": "dev-1"}},
    }
    base.update(fields)
    return {key: value for key, value in base.items() if value is not None}


def parse(*lines: str | dict, first_line: int = 1, con=None):
    texts = [line if isinstance(line, str) else json.dumps(line) for line in lines]
    table = lines_table(first_line, pa.array([text + "\n" for text in texts], pa.string()))
    return parse_messages(con or connect(), table, "website", "website/a.jsonl")


def reasons(parsed) -> dict[int, str]:
    return {r.line_no: r.reason for r in parsed.rejected}


def test_valid_track_message_becomes_typed_columns():
    parsed = parse(message())
    [row] = parsed.messages.to_pylist()
    assert row["message_id"] == "m-1"
    assert row["type"] == "track" and row["event"] == "Demo Requested"
    assert row["timestamp"] == datetime(2026, 3, 1, 10, 0, 0, 250000, tzinfo=UTC)
    assert (row["ip"], row["user_agent"], row["device_id"]) == ("10.0.0.1", "UA/1", "dev-1")
    assert json.loads(row["properties"]) == {"path": "/pricing"}
    assert json.loads(row["context"])["device"] == {"id": "dev-1"}
    assert (row["channel"], row["source_file"], row["source_line"]) == ("website", "website/a.jsonl", 1)
    assert parsed.rejected == []


def test_email_and_phone_come_from_traits_or_context_traits():
    identify = message(
        type="identify", event=None, messageId="m-2", traits={"email": "a@x.io", "phone": "+1 555"}
    )
    page = message(
        type="page", event=None, messageId="m-3", context={"traits": {"email": "b@x.io", "phone": "+44"}}
    )
    rows = {r["message_id"]: r for r in parse(identify, page).messages.to_pylist()}
    assert (rows["m-2"]["email"], rows["m-2"]["phone"]) == ("a@x.io", "+1 555")
    assert (rows["m-3"]["email"], rows["m-3"]["phone"]) == ("b@x.io", "+44")
    assert json.loads(rows["m-2"]["traits"]) == {"email": "a@x.io", "phone": "+1 555"}


def test_timestamps_with_offset_are_converted_and_without_offset_read_as_utc():
    rows = parse(
        message(messageId="a", timestamp="2026-03-01T12:00:00+02:00", sentAt="2026-03-01T10:00:01Z"),
        message(messageId="b", timestamp="2026-03-01 10:00:00"),
    ).messages.to_pylist()
    expected = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    assert [r["timestamp"] for r in rows] == [expected, expected]
    assert rows[0]["sent_at"] == datetime(2026, 3, 1, 10, 0, 1, tzinfo=UTC)
    assert rows[1]["sent_at"] is None


# The first four lines are no JSON object; the others are objects that break one rule each.
BROKEN_RULE_LINES = [
    ("{not json", "invalid JSON"),
    ('{"a": 1} {"b": 2}', "invalid JSON"),
    ("[1, 2]", "not a JSON object but a JSON array"),
    ("42", "not a JSON object but a JSON number"),
    (message(type=None), "missing type"),
    (message(type="Track"), "unknown type 'Track'"),
    (message(messageId=None), "missing messageId"),
    (message(messageId=""), "missing messageId"),
    (message(timestamp=None), "missing timestamp"),
    (message(timestamp="yesterday"), "unparseable timestamp 'yesterday'"),
    (message(userId=None), "track message without userId or anonymousId"),
    (message(type="identify", userId=None), "identify message without userId or anonymousId"),
    (message(event=None), "track message without event"),
    (message(type="group"), "group message without groupId"),
    (message(type="alias"), "alias message without previousId"),
]


@pytest.mark.parametrize(("line", "reason"), BROKEN_RULE_LINES)
def test_each_broken_rule_is_rejected_with_its_reason(line, reason):
    parsed = parse(message(messageId="ok"), line, first_line=7)
    assert [r["message_id"] for r in parsed.messages.to_pylist()] == ["ok"]
    [rejected] = parsed.rejected
    assert rejected.line_no == 8
    assert rejected.reason.startswith(reason)
    assert rejected.line == (line if isinstance(line, str) else json.dumps(line))


def test_other_types_with_their_ids_are_valid():
    parsed = parse(
        message(type="page", event=None, messageId="p", userId=None, anonymousId="anon"),
        message(type="screen", event=None, messageId="s", name="Home"),
        message(type="group", event=None, messageId="g", groupId="acme"),
        message(type="alias", event=None, messageId="al", previousId="anon"),
    )
    assert parsed.rejected == []
    assert sorted(r["type"] for r in parsed.messages.to_pylist()) == ["alias", "group", "page", "screen"]


def test_blank_lines_are_skipped_silently():
    parsed = parse("", message(), "   \t", "\r")
    assert parsed.messages.num_rows == 1
    assert parsed.rejected == []


def test_repeated_message_id_is_kept_once_within_and_across_chunks():
    con = connect()
    first = parse(message(event="First"), message(event="Second"), con=con)
    later = parse(message(event="Third"), message(messageId="m-2"), first_line=3, con=con)
    assert [(r["event"], r["source_line"]) for r in first.messages.to_pylist()] == [("First", 1)]
    assert [r["message_id"] for r in later.messages.to_pylist()] == ["m-2"]
    assert first.rejected == later.rejected == []


# Lines DuckDB's file reader accepts: it must judge them exactly as the line-by-line path does.
ODD_BUT_OBJECT_LINES = [
    message(messageId="a", timestamp="2026-03-01T12:00:00+02:00", properties={"k": 1.50, "s": "é\n"}),
    message(messageId=123),
    message(messageId="b", userId=True, sentAt="2026-03-01T10:00:01Z", receivedAt="later"),
    message(messageId="c", properties="text", context=[1, 2], traits={"email": 5}),
    message(messageId="d", type={"nested": 1}),
    message(messageId="e", properties={"big": 123456789012345678901234567890, "deep": [1, {"x": None}]}),
    message(messageId="f", type="identify", traits={"email": "x@y.z", "phone": "+1"}, context={"ip": "1"}),
    message(messageId="a", event="Repeat"),
    '{"type": "page", "messageId": "g", "userId": "u", "timestamp": "2026-03-01",}',
    '{"type": "page", "messageId": "h", "anonymousId": "v", "timestamp": "2026-03-01"}   \r',
    *(line for line, _ in BROKEN_RULE_LINES[4:]),
]


def test_whole_file_reader_judges_lines_as_the_line_by_line_path_does(tmp_path):
    texts = [line if isinstance(line, str) else json.dumps(line) for line in ODD_BUT_OBJECT_LINES]
    path = tmp_path / "a.jsonl"
    path.write_text("".join(text + "\n" for text in texts))
    by_line = parse(*texts)
    by_file = list(parse_file_messages(connect(), path, "website", "website/a.jsonl", batch_rows=4))

    assert len(by_file) > 1
    assert pa.concat_tables(p.messages for p in by_file).to_pylist() == by_line.messages.to_pylist()
    assert [(r.line_no, r.reason) for p in by_file for r in p.rejected] == [
        (r.line_no, r.reason) for r in by_line.rejected
    ]
    # Lines 2 to 4 break Segment Spec types (a number messageId, a boolean userId, a string properties).
    assert (by_line.messages.num_rows, len(by_line.rejected)) == (5, len(ODD_BUT_OBJECT_LINES) - 6)
    assert by_file[-1].last_line == len(texts)


def test_whole_file_reader_stops_with_an_error_at_a_line_that_is_no_json_object(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps(message()) + "\n{not json\n")
    with pytest.raises(FileReaderStopped):
        list(parse_file_messages(connect(), path, "website", "website/a.jsonl"))
