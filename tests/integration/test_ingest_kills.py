"""A kill -9 at any step of an ingestion run loses no record and doubles none, refused ones included."""

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from ingestion.quarantine import spool_file
from tests.integration.ingest_kill_driver import STEPS

REPO = Path(__file__).resolve().parents[2]


def _message(n: int, **fields) -> str:
    return json.dumps({
        "type": "track", "event": "Page Viewed", "messageId": f"m{n}", "anonymousId": f"a{n}",
        "timestamp": "2026-02-01T09:30:00Z", **fields,
    })


def _write_events(root: Path) -> tuple[set[str], set[tuple[str, str]]]:
    """Two website files of good and bad lines: the message ids to load, the (record_id, reason) refused."""
    bad = {
        "{broken": "invalid JSON",
        _message(100, properties="text"): "properties is a string, not an object",
        _message(101, userId=7): "userId is a number, not a string",
        _message(102, timestamp="soon"): "unparseable timestamp 'soon'",
        '["array"]': "not a JSON object but a JSON array",
    }
    valid, refused = set(), set()
    for file_number in range(2):
        lines = []
        for n in range(40):
            lines.append(_message(file_number * 1000 + n))
            valid.add(f"m{file_number * 1000 + n}")
        for line in bad:
            lines.insert(len(lines) // 2, line)
        for number, line in enumerate(lines, 1):
            if line in bad:
                refused.add((f"website/f{file_number}.jsonl:{number}", bad[line]))
        folder = root / "website"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{file_number}.jsonl").write_text("".join(line + "\n" for line in lines))
    return valid, refused


def _ingest(warehouse: Path, events_dir: Path, kill_at: str) -> int:
    env = {**os.environ, "PYTHONPATH": str(REPO), "RUNTIME__DLTHUB_TELEMETRY": "false"}
    driver = "tests.integration.ingest_kill_driver"
    command = [sys.executable, "-m", driver, str(warehouse), str(events_dir), kill_at]
    run = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode in (0, -9), run.stderr[-3000:]
    return run.returncode


def _state(warehouse: Path) -> tuple[list[str], list[tuple[str, str]]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        loaded = [row[0] for row in con.execute("select message_id from raw_events.website").fetchall()]
        refused = con.execute("select record_id, reason from quarantine.rejected_records").fetchall()
    return loaded, refused


@pytest.mark.parametrize("kill_at", STEPS)
def test_a_kill_at_any_step_loses_and_doubles_nothing(tmp_path, kill_at):
    warehouse, events_dir = tmp_path / "warehouse.duckdb", tmp_path / "events"
    valid, refused = _write_events(events_dir)

    assert _ingest(warehouse, events_dir, kill_at) == -9, f"the run was not killed at {kill_at}"
    assert _ingest(warehouse, events_dir, "none") == 0

    loaded, quarantined = _state(warehouse)
    assert sorted(loaded) == sorted(valid)  # none lost, none twice
    assert sorted(quarantined) == sorted(refused)
    spool = spool_file("events", warehouse)
    assert not spool.exists() or spool.read_bytes() == b""
    # Another run finds nothing new and changes nothing.
    assert _ingest(warehouse, events_dir, "none") == 0
    assert _state(warehouse) == (loaded, quarantined)
