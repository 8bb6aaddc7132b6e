"""The rejections collector shared by every source (ingestion.quarantine)."""

from datetime import UTC, datetime

from ingestion.quarantine import REJECTED_RECORDS_SCHEMA, Rejections


def test_payloads_are_kept_as_text_whatever_their_type():
    rejections = Rejections()
    rejections.add("events.web", "f:1", "invalid JSON", "raw line")
    rejections.add("salesforce.lead", "00Q1", "missing Email", {"Id": "00Q1", "Email": None})
    rejections.add("events.web", "f:2", "not UTF-8 text", b"caf\xe9")
    rejections.add("events.web", "f", "unreadable file")
    assert [r.payload for r in rejections] == ["raw line", '{"Id": "00Q1", "Email": null}', "caf\ufffd", None]


def test_to_arrow_has_the_quarantine_shape_and_forget_first_keeps_later_ones():
    before = datetime.now(UTC)
    rejections = Rejections()
    rejections.add("events.web", "f:1", "invalid JSON", "x")
    rejections.add("events.web", "f:2", "missing type", "{}")
    table = rejections.to_arrow(1)
    assert table.schema == REJECTED_RECORDS_SCHEMA
    assert table.column("record_id").to_pylist() == ["f:1"]
    assert table.column("rejected_at")[0].as_py() >= before
    rejections.forget_first(1)
    assert [r.record_id for r in rejections] == ["f:2"]


def test_the_same_refusal_seen_twice_stays_one_row(warehouse):
    import duckdb

    from ingestion.quarantine import load_rejections

    for _ in range(2):
        rejections = Rejections()
        rejections.add("events.web", "f:1", "invalid JSON", "{broken")
        rejections.add("events.web", "f:1", "missing type", "{}")
        rejections.add("events.web", None, "not a newline-delimited JSON file", "a,b")
        assert load_rejections(rejections, warehouse) == 3
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute("select record_id, reason from quarantine.rejected_records order by 2").fetchall()
    assert rows == [
        ("f:1", "invalid JSON"), ("f:1", "missing type"), (None, "not a newline-delimited JSON file"),
    ]
