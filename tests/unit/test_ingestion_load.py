"""ingestion.load.load_source: the one load sequence of the assets, the fixtures and the benchmark."""

import json
from pathlib import Path

import pytest

from ingestion.events.settings import PIPELINE_NAME
from ingestion.load import load_source, source_names
from ingestion.quarantine import spool_file
from revloop.warehouse import connect_warehouse


def _event(message_id: str) -> str:
    message = {"type": "track", "event": "Page Viewed", "messageId": message_id}
    return json.dumps({**message, "anonymousId": f"anon-{message_id}", "timestamp": "2026-02-01T09:30:00Z"})


@pytest.fixture
def events_dir(tmp_path) -> Path:
    folder = tmp_path / "events" / "website"
    folder.mkdir(parents=True)
    (folder / "2026-02-01.jsonl").write_text("\n".join([_event("w1"), "garbage {", _event("w2")]) + "\n")
    return tmp_path / "events"


def _rows(warehouse: Path, sql: str) -> list[tuple]:
    with connect_warehouse(warehouse, read_only=True) as con:
        return con.execute(sql).fetchall()


def test_loaded_rows_land_in_their_raw_table_and_refused_lines_in_quarantine(events_dir, warehouse):
    loaded = load_source(events_dir, warehouse)

    assert (loaded.pipeline.pipeline_name, loaded.pipeline.dataset_name) == ("events", "raw_events")
    assert loaded.quarantined == 1
    assert _rows(warehouse, "select message_id from raw_events.website order by 1") == [("w1",), ("w2",)]
    refused = _rows(warehouse, "select source, record_id from quarantine.rejected_records")
    assert refused == [("events.website", "website/2026-02-01.jsonl:2")]
    assert not spool_file(PIPELINE_NAME, warehouse).read_text(), "quarantined refusals leave the spool"


def test_refusals_of_a_load_killed_before_the_quarantine_are_quarantined_by_the_next(events_dir, warehouse):
    def killed(pipeline, source):
        pipeline.run(source)
        raise KeyboardInterrupt("killed between the load and the quarantine")

    with pytest.raises(KeyboardInterrupt):
        load_source(events_dir, warehouse, run=killed)
    assert "garbage {" in spool_file(PIPELINE_NAME, warehouse).read_text()

    again = load_source(events_dir, warehouse)  # the files are already loaded: only the spool is left

    assert again.quarantined == 1
    assert _rows(warehouse, "select count(*) from quarantine.rejected_records") == [(1,)]
    assert _rows(warehouse, "select count(*) from raw_events.website") == [(2,)]


def test_a_run_hook_gets_the_pipeline_and_the_source_and_its_result_is_kept(events_dir, warehouse):
    seen = []

    def run(pipeline, source):
        seen.append(pipeline.pipeline_name)
        return pipeline.run(source).loads_ids

    loaded = load_source(events_dir, warehouse, run=run)

    assert seen == ["events"] and len(loaded.result) == 1


def test_an_origin_no_source_reads_is_refused_clearly():
    with pytest.raises(TypeError, match="no source reads a str"):
        source_names("https://example.com")
