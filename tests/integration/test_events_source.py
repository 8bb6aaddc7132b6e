"""The events source run through dlt into a temp DuckDB warehouse, twice and more."""

import gzip
import json

import duckdb
import pytest

from ingestion.events import events_source
from ingestion.events.settings import CHANNELS
from ingestion.quarantine import Rejections, load_rejections
from revloop.warehouse import make_pipeline


def event(message_id: str, event_name: str = "Page Viewed", **fields) -> str:
    message = {
        "type": "track",
        "event": event_name,
        "messageId": message_id,
        "anonymousId": f"anon-{message_id}",
        "timestamp": "2026-02-01T09:30:00Z",
        "context": {"ip": "10.1.1.1", "traits": {"email": f"{message_id}@example.com"}},
        **fields,
    }
    return json.dumps(message)


def write_lines(path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    content = "".join(line + "\n" for line in lines).encode()
    path.write_bytes(gzip.compress(content) if path.name.endswith(".gz") else content)


@pytest.fixture
def events_dir(tmp_path):
    root = tmp_path / "events"
    write_lines(
        root / "website" / "2026-02-01.jsonl",
        [
            event("w1"),
            event("w2"),
            "garbage {",
            event("w1"),
            '{"type": "page", "messageId": "w3"}',
            event("w3"),
        ],
    )
    write_lines(root / "email" / "2026-02-01.jsonl.gz", [event(f"e{n}", "Email Opened") for n in range(250)])
    write_lines(root / "social" / "export.jsonl", ["handle,followers", "@acme,1200"])
    (root / "ads").mkdir()
    (root / "ads" / "broken.jsonl.gz").write_bytes(b"\x1f\x8b\x08 not really gzip")
    write_lines(root / "ads" / "2026-02-01.jsonl", [event("a1", "Ad Clicked", properties={"cost": 0.5})])
    (root / "offline").mkdir()
    return root


def run(events_dir, warehouse) -> int:
    """One ingestion run as the orchestrator does it; returns the rows it loaded."""
    rejections = Rejections()
    pipeline = make_pipeline("events", "raw_events", warehouse)
    pipeline.run(events_source(events_dir, rejections))
    load_rejections(rejections, warehouse)
    return sum(pipeline.last_trace.last_normalize_info.row_counts.get(c, 0) for c in CHANNELS)


def query(warehouse, sql: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def counts(warehouse) -> dict[str, int]:
    tables = {
        name
        for (name,) in query(
            warehouse, "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw_events'"
        )
    }
    return {
        c: query(warehouse, f"SELECT count(*) FROM raw_events.{c}")[0][0] for c in CHANNELS if c in tables
    }


def rejected(warehouse) -> list[tuple[str, str, str]]:
    return query(
        warehouse, "SELECT source, record_id, reason FROM quarantine.rejected_records ORDER BY record_id"
    )


def test_first_run_loads_every_valid_message_once_and_quarantines_the_rest(events_dir, warehouse):
    assert run(events_dir, warehouse) == 3 + 250 + 1
    assert counts(warehouse) == {"website": 3, "email": 250, "ads": 1}
    assert query(warehouse, "SELECT message_id, source_line FROM raw_events.website ORDER BY 1") == [
        ("w1", 1),
        ("w2", 2),
        ("w3", 6),
    ]
    [(email, ip, source_file)] = query(
        warehouse, "SELECT email, ip, source_file FROM raw_events.email WHERE message_id = 'e7'"
    )
    assert (email, ip, source_file) == ("e7@example.com", "10.1.1.1", "email/2026-02-01.jsonl.gz")
    assert query(warehouse, "SELECT properties->>'$.cost', typeof(timestamp) FROM raw_events.ads") == [
        ("0.5", "TIMESTAMP WITH TIME ZONE")
    ]
    reasons = rejected(warehouse)
    assert [(source, record_id) for source, record_id, _ in reasons] == [
        ("events.ads", "ads/broken.jsonl.gz"),
        ("events.social", "social/export.jsonl"),
        ("events.website", "website/2026-02-01.jsonl:3"),
        ("events.website", "website/2026-02-01.jsonl:5"),
    ]
    assert reasons[0][2].startswith("unreadable file after line 0: corrupt gzip data")
    assert reasons[1][2].startswith("not a newline-delimited JSON file")
    assert reasons[2][2] == "invalid JSON"
    assert reasons[3][2] == "missing timestamp"


def test_second_run_loads_nothing_and_new_or_changed_files_are_picked_up(events_dir, warehouse):
    run(events_dir, warehouse)
    before = counts(warehouse), rejected(warehouse)

    assert run(events_dir, warehouse) == 0
    assert (counts(warehouse), rejected(warehouse)) == before

    # A new file repeating an already loaded message: only the new messages are added.
    write_lines(events_dir / "website" / "2026-02-02.jsonl", [event("w2"), event("w4"), event("w5")])
    # A file that grew: read again, the messages already loaded stay single.
    write_lines(
        events_dir / "ads" / "2026-02-01.jsonl", [event("a1", "Ad Clicked"), event("a2", "Ad Clicked")]
    )
    run(events_dir, warehouse)
    assert counts(warehouse) == {"website": 5, "email": 250, "ads": 2}
    assert query(warehouse, "SELECT count(DISTINCT message_id) FROM raw_events.website")[0][0] == 5
    assert rejected(warehouse) == before[1]
