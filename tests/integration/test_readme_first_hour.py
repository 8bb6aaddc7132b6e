"""The README's shell blocks marked `<!-- doctest -->` run as written (issue 21, the first-hour walkthrough).

They run in order, each in its own bash (`-euo pipefail`), in a folder laid out as a checkout after
`make demo`: `.venv`, `config/`, `data/warehouse.duckdb` (a copy of the shared built warehouse) and the
profile snapshot beside it (written as the demo's last step writes it), the README's `export`s set. A
collector of this test's own stands in for `make collector`: started as that target starts it, on a free
port that replaces the README's 127.0.0.1:8088. `make demo` itself is test_demo_path's.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from collector.snapshot import snapshot_path, write_profile_snapshot
from tests.fixtures.built import BuiltWarehouse
from tests.fixtures.shared import copy_warehouse

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
DOCTEST = re.compile(r"^<!-- doctest -->\n```sh\n(.*?)^```", re.MULTILINE | re.DOTALL)
COLLECTOR_ADDRESS = "127.0.0.1:8088"
EXPORT = re.compile(r"^export ((?:REVLOOP_\w+=\S+[ \t]*)+)$", re.MULTILINE)
UNKNOWN_PROFILE = "no profile with this id or e-mail"  # the profile API's 404
LISTENING = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")


def doctest_blocks(text: str) -> list[str]:
    """The bodies of the ```sh blocks that directly follow a `<!-- doctest -->` line."""
    return DOCTEST.findall(text)


def exported_variables(text: str) -> dict[str, str]:
    """The REVLOOP_* variables the README's `export` lines set (the collector's write keys and token)."""
    return dict(
        assignment.split("=", 1) for line in EXPORT.findall(text) for assignment in line.split()
    )


def json_documents(output: str) -> list[object]:
    """Every JSON document printed one after another (curl -s prints bodies without a newline)."""
    decoder, documents, position = json.JSONDecoder(), [], 0
    while (start := output.find("{", position)) >= 0:
        document, position = decoder.raw_decode(output, start)
        documents.append(document)
    return documents


@pytest.fixture(scope="module")
def checkout(built_warehouse: BuiltWarehouse, tmp_path_factory) -> Path:
    """A folder as a checkout after `make demo`: .venv, config/, the warehouse, events folder and snapshot."""
    folder = tmp_path_factory.mktemp("first_hour")
    warehouse = copy_warehouse(built_warehouse.path, folder / "data" / "warehouse.duckdb")
    write_profile_snapshot(warehouse, snapshot_path(warehouse))
    (folder / ".venv").symlink_to(Path(sys.prefix))
    (folder / "config").symlink_to(REPO / "config")
    (folder / "data" / "events").mkdir()
    return folder


def checkout_env(folder: Path) -> dict[str, str]:
    """The environment of a shell in that folder after the README's exports, as `make` passes it on."""
    data = folder / "data"
    return {
        **os.environ,
        **exported_variables(README.read_text()),
        "PYTHONPATH": str(REPO),
        "WAREHOUSE_PATH": str(data / "warehouse.duckdb"),
        "EVENTS_DIR": str(data / "events"),
    }


@pytest.fixture(scope="module")
def collector(checkout: Path) -> Iterator[str]:
    """`make collector`'s command with the README's exports, on a free port: its host:port."""
    env = checkout_env(checkout)
    log = checkout / "collector.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "collector", "--host", "127.0.0.1", "--port", "0"],
            cwd=checkout, env=env, stdout=output, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while not (started := LISTENING.search(log.read_text())):
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield f"127.0.0.1:{started[1]}"
    finally:
        process.send_signal(signal.SIGTERM)  # finishes the open event files, as Ctrl-C does
        process.wait(timeout=30)


def test_the_readme_marks_the_walkthrough_blocks():
    text = "x\n<!-- doctest -->\n```sh\necho a\n```\n```sh\nmake demo\n```\n" \
        "<!-- doctest -->\n```sh\necho b\n```\n"
    assert doctest_blocks(text) == ["echo a\n", "echo b\n"]
    assert exported_variables("export REVLOOP_A=1 REVLOOP_B=x-y\n") == {"REVLOOP_A": "1", "REVLOOP_B": "x-y"}
    blocks = doctest_blocks(README.read_text())
    assert len(blocks) >= 2 and any(COLLECTOR_ADDRESS in block for block in blocks)
    assert "REVLOOP_WRITE_KEY_WEBSITE" in exported_variables(README.read_text())


def test_the_first_hour_runs_as_written(checkout: Path, collector: str):
    answers = []
    for block in doctest_blocks(README.read_text()):
        ran = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block.replace(COLLECTOR_ADDRESS, collector)],
            cwd=checkout, env=checkout_env(checkout), capture_output=True, text=True, timeout=120,
        )
        assert ran.returncode == 0, f"{block}\nstdout:\n{ran.stdout[-3000:]}\nstderr:\n{ran.stderr[-3000:]}"
        assert ran.stdout.strip(), f"{block}\nprinted nothing"
        answers += json_documents(ran.stdout) if COLLECTOR_ADDRESS in block else []

    profiles = [a for a in answers if isinstance(a, dict) and "profile_id" in a]
    accepted = [a for a in answers if a == {"success": True}]
    # the README's examples of a person not in the snapshot yet
    unknown = [a for a in answers if isinstance(a, dict) and a.get("message") == UNKNOWN_PROFILE]
    assert profiles and all(p["traits"]["email"] and p["snapshot_at"] for p in profiles), answers
    assert accepted and len(profiles) + len(accepted) + len(unknown) == len(answers), answers
    # what the collector stored: exactly the messages it said it accepted, one identifying a profile read
    stored = _stored_messages(checkout / "data" / "events")
    assert len(stored) == len(accepted), stored
    emails = {m.get("traits", {}).get("email") for m in stored}
    assert emails & {p["traits"]["email"] for p in profiles}, (emails, profiles)


def _stored_messages(events: Path) -> list[dict]:
    """Every message in the landing folder: finished files and the collector's open (hidden) ones."""
    files = [path for path in events.rglob("*.jsonl*") if path.is_file()]
    return [json.loads(line) for path in files for line in path.read_text().splitlines() if line.strip()]
