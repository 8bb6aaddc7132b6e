"""The collector's per-channel files: hidden while written, renamed into place by size, age and shutdown."""

import fcntl
import json
import os
import threading
from pathlib import Path

from collector.writer import ChannelWriter, recover_parts
from ingestion.events.files import event_files


def lines(folder: Path) -> list[dict]:
    return [json.loads(line) for path in event_files(folder) for line in path.read_text().splitlines()]


def test_open_file_is_hidden_from_ingestion_until_finished(tmp_path):
    writer = ChannelWriter(tmp_path / "website", "website", max_file_bytes=10**6, max_file_age_s=60)
    writer.append([b'{"n":1}', b'{"n":2}'])
    assert event_files(tmp_path / "website") == []
    [part] = (tmp_path / "website").iterdir()
    assert part.name.startswith(".website-") and part.name.endswith(".jsonl.part")
    assert part.read_bytes() == b'{"n":1}\n{"n":2}\n'  # on disk before append returned

    finished = writer.close()
    assert event_files(tmp_path / "website") == [finished]
    assert lines(tmp_path / "website") == [{"n": 1}, {"n": 2}]
    assert writer.close() is None  # nothing open


def test_rotates_by_size_without_splitting_an_append(tmp_path):
    writer = ChannelWriter(tmp_path, "ads", max_file_bytes=20, max_file_age_s=60)
    for n in range(5):
        writer.append([json.dumps({"n": n}).encode(), json.dumps({"n": n + 100}).encode()])
    writer.close()
    files = event_files(tmp_path)
    assert len(files) == 5  # each append (2 lines, 22 bytes) fills a file
    assert lines(tmp_path) == [{"n": n + k} for n in range(5) for k in (0, 100)]  # name order = arrival


def test_rotates_by_age(tmp_path):
    now = [0.0]
    writer = ChannelWriter(tmp_path, "email", max_file_bytes=10**6, max_file_age_s=30, clock=lambda: now[0])
    writer.append([b"{}"])
    now[0] = 29.0
    assert writer.rotate_if_old() is None
    now[0] = 30.0
    assert writer.rotate_if_old() == event_files(tmp_path)[0]
    writer.append([b"{}"])  # a new file opens
    assert len(event_files(tmp_path)) == 1


def test_concurrent_appends_keep_every_line_whole(tmp_path):
    writer = ChannelWriter(tmp_path, "website", max_file_bytes=4096, max_file_age_s=60)

    def post(thread: int) -> None:
        for n in range(50):
            writer.append([json.dumps({"t": thread, "n": n, "pad": "x" * 100}).encode()] * 2)

    threads = [threading.Thread(target=post, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.close()
    seen = lines(tmp_path)
    assert len(seen) == 8 * 50 * 2
    assert {(m["t"], m["n"]) for m in seen} == {(t, n) for t in range(8) for n in range(50)}


def test_recovery_keeps_acknowledged_lines_and_skips_live_files(tmp_path):
    crashed = tmp_path / ".website-20260101T000000000000Z-aaaaaaaa.jsonl.part"
    crashed.write_bytes(b'{"n":1}\n{"n":2}\n{"n":')  # the last line was never acknowledged
    empty = tmp_path / ".website-20260101T000000000001Z-bbbbbbbb.jsonl.part"
    empty.write_bytes(b'{"half":')
    live = tmp_path / ".website-20260101T000000000002Z-cccccccc.jsonl.part"
    live.write_bytes(b'{"n":3}\n')
    holder = os.open(live, os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        recovered = recover_parts(tmp_path)
    finally:
        os.close(holder)
    assert [p.name for p in recovered] == ["website-20260101T000000000000Z-aaaaaaaa.jsonl"]
    assert recovered[0].read_bytes() == b'{"n":1}\n{"n":2}\n'
    assert not empty.exists() and live.exists()
