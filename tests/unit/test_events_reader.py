"""From files to valid messages and rejections (ingestion.events.reader, ingestion.events.files)."""

import gzip
import json
import os

import pyarrow as pa

from ingestion.events import reader
from ingestion.events.files import changed_files, event_files, fingerprint
from ingestion.events.messages import FileReaderStopped, connect, parse_file_messages
from ingestion.events.reader import read_channel, read_event_file
from ingestion.quarantine import Rejections


def event(n: int) -> str:
    return json.dumps(
        {
            "type": "track",
            "event": "Ad Clicked",
            "messageId": f"m-{n}",
            "anonymousId": "a",
            "timestamp": "2026-01-01",
        }
    )


def read(path, rejections, chunk_bytes=1 << 20):
    tables = list(read_event_file(connect(), path, "ads", f"ads/{path.name}", rejections, chunk_bytes))
    return [row for table in tables for row in table.to_pylist()]


def rejected(rejections):
    return [(r.source, r.record_id, r.reason, r.payload) for r in rejections]


def test_bad_lines_are_rejected_with_line_numbers_and_good_ones_kept(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text("\n".join([event(1), "oops", event(2), '{"type": "track"}']) + "\n")
    rejections = Rejections()
    rows = read(path, rejections, chunk_bytes=40)
    assert [(r["message_id"], r["source_line"]) for r in rows] == [("m-1", 1), ("m-2", 3)]
    assert rejected(rejections) == [
        ("events.ads", "ads/a.jsonl:2", "invalid JSON", "oops"),
        ("events.ads", "ads/a.jsonl:4", "missing messageId", '{"type": "track"}'),
    ]


def test_file_that_is_not_json_lines_is_rejected_once_as_a_whole(tmp_path):
    path = tmp_path / "export.jsonl"
    path.write_text("email,name\na@x.io,Ann\nb@x.io,Bob\n")
    rejections = Rejections()
    assert read(path, rejections) == []
    [(source, record_id, reason, payload)] = rejected(rejections)
    assert (source, record_id, payload) == ("events.ads", "ads/export.jsonl", "email,name")
    assert reason.startswith("not a newline-delimited JSON file") and "3 non-blank lines" in reason


def test_corrupt_gzip_keeps_nothing_and_is_rejected_with_the_error(tmp_path):
    path = tmp_path / "a.jsonl.gz"
    path.write_bytes(b"this is not gzip at all")
    rejections = Rejections()
    assert read(path, rejections) == []
    [(_, record_id, reason, _)] = rejected(rejections)
    assert record_id == "ads/a.jsonl.gz"
    assert reason.startswith("unreadable file after line 0: not a gzip file")


def test_truncated_gzip_keeps_the_lines_before_the_damage(tmp_path):
    path = tmp_path / "a.jsonl.gz"
    packed = gzip.compress("".join(event(n) + "\n" for n in range(2000)).encode())
    path.write_bytes(packed[: len(packed) // 2])
    rejections = Rejections()
    rows = read(path, rejections, chunk_bytes=4096)
    assert 0 < len(rows) < 2000
    assert [r["source_line"] for r in rows] == list(range(1, len(rows) + 1))
    [(_, _, reason, _)] = rejected(rejections)
    assert reason.startswith("unreadable file after line") and "truncated gzip file" in reason


def test_line_that_is_not_utf8_is_rejected(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_bytes(event(1).encode() + b"\n" + b'{"name": "caf\xe9"}\n')
    rejections = Rejections()
    assert [r["message_id"] for r in read(path, rejections)] == ["m-1"]
    assert [(r[1], r[2]) for r in rejected(rejections)] == [("ads/a.jsonl:2", "not UTF-8 text")]


def test_unfinished_last_line_says_the_file_may_still_be_written(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text(event(1) + "\n" + event(2)[:20])
    rejections = Rejections()
    assert len(read(path, rejections)) == 1
    [(_, record_id, reason, _)] = rejected(rejections)
    assert record_id == "ads/a.jsonl:2"
    assert reason.startswith("invalid JSON") and "no newline" in reason


def test_event_files_lists_jsonl_and_gz_but_not_hidden_or_other_files(tmp_path):
    for name in ["b.jsonl", "a.jsonl.gz", ".c.jsonl", "d.csv", "e.json"]:
        (tmp_path / name).write_text("")
    assert [p.name for p in event_files(tmp_path)] == ["a.jsonl.gz", "b.jsonl"]
    assert event_files(tmp_path / "missing") == []


def test_changed_files_are_new_or_changed_in_size_or_mtime(tmp_path):
    same, grown, new = (tmp_path / n for n in ["same.jsonl", "grown.jsonl", "new.jsonl"])
    for path in (same, grown, new):
        path.write_text("{}\n")
    loaded = {"same.jsonl": fingerprint(same), "grown.jsonl": fingerprint(grown)}
    grown.write_text("{}\n{}\n")
    assert [p.name for p, _ in changed_files([grown, new, same], loaded)] == ["grown.jsonl", "new.jsonl"]
    stat = same.stat()
    os.utime(same, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert [p.name for p, _ in changed_files([same], loaded)] == ["same.jsonl"]


def test_read_channel_records_loaded_files_and_forgets_deleted_ones(tmp_path):
    (tmp_path / "a.jsonl").write_text(event(1) + "\n")
    loaded = {"gone.jsonl": {"size": 1, "mtime_ns": 1}}
    rows = [r for t in read_channel(tmp_path, "ads", Rejections(), loaded) for r in t.to_pylist()]
    assert [r["message_id"] for r in rows] == ["m-1"]
    assert loaded == {"a.jsonl": fingerprint(tmp_path / "a.jsonl")}
    assert list(read_channel(tmp_path, "ads", Rejections(), loaded)) == []


def test_read_channel_drops_messages_the_warehouse_already_holds_and_asks_only_when_reading(tmp_path):
    (tmp_path / "a.jsonl").write_text("".join(event(n) + "\n" for n in (1, 2, 3)))
    asked = []

    def known():
        asked.append(True)
        return pa.table({"message_id": ["m-2", "m-9"]})

    loaded = {}
    rows = [r for t in read_channel(tmp_path, "ads", Rejections(), loaded, known) for r in t.to_pylist()]
    assert [r["message_id"] for r in rows] == ["m-1", "m-3"]
    assert list(read_channel(tmp_path, "ads", Rejections(), loaded, known)) == []
    assert asked == [True]


def test_clean_file_read_whole_keeps_order_line_numbers_and_the_text_of_refused_lines(tmp_path):
    path = tmp_path / "a.jsonl"
    lines = [event(n) for n in range(1, 7)]
    lines[2] = '{"type": "track", "messageId": "m-3"}'
    lines[4] = event(1)
    path.write_text("\n".join(lines) + "\n" + '{"type": "page", "messageId": "late"}')
    rejections = Rejections()
    rows = read(path, rejections)
    assert [(r["message_id"], r["source_line"]) for r in rows] == [
        ("m-1", 1),
        ("m-2", 2),
        ("m-4", 4),
        ("m-6", 6),
    ]
    assert rejected(rejections) == [
        ("events.ads", "ads/a.jsonl:3", "missing timestamp", lines[2]),
        (
            "events.ads",
            "ads/a.jsonl:7",
            "missing timestamp (last line, with no newline at its end: the file may still be being written)",
            '{"type": "page", "messageId": "late"}',
        ),
    ]


def test_line_the_whole_file_reader_cannot_parse_is_read_line_by_line_and_nothing_else_changes(tmp_path):
    path = tmp_path / "a.jsonl.gz"
    lines = [event(n) for n in range(1, 30_001)]
    lines[25_000] = "{broken"
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    rejections = Rejections()
    tables = list(read_event_file(connect(), path, "ads", "ads/a.jsonl.gz", rejections, batch_rows=2_000))
    rows = [(r["message_id"], r["source_line"]) for t in tables for r in t.to_pylist()]
    assert rows == [(f"m-{n}", n) for n in range(1, 30_001) if n != 25_001]
    assert rejected(rejections) == [("events.ads", "ads/a.jsonl.gz:25001", "invalid JSON", "{broken")]


def test_reading_goes_on_line_by_line_after_the_batches_the_whole_file_reader_gave(tmp_path, monkeypatch):
    # Whether DuckDB hands over batches before it meets a bad line depends on its threads: force the case.
    def first_batch_then_stop(*args, **kwargs):
        yield next(parse_file_messages(*args, **kwargs))
        raise FileReaderStopped("stopped on purpose")

    monkeypatch.setattr(reader, "parse_file_messages", first_batch_then_stop)
    path = tmp_path / "a.jsonl"
    no_id = '{"type": "page"}'
    path.write_text("\n".join([event(1), no_id, event(3), event(3), event(5), no_id]) + "\n")
    rejections = Rejections()
    tables = list(read_event_file(connect(), path, "ads", "ads/a.jsonl", rejections, batch_rows=3))
    # Lines 1-3 from DuckDB's reader, 4-6 line by line: each line judged once.
    assert [[r["source_line"] for r in t.to_pylist()] for t in tables] == [[1, 3], [5]]
    assert rejected(rejections) == [
        ("events.ads", "ads/a.jsonl:2", "missing messageId", no_id),
        ("events.ads", "ads/a.jsonl:6", "missing messageId", no_id),
    ]
