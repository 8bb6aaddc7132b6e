"""The Dagster UI as an operator meets it: `dagster dev` on the sandbox, a run launched by a click."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.runner import Sandbox
from sandbox.world import generate_world
from tests.fixtures.browser import CHROMIUM, CHROMIUM_ARGS, PNG_SIGNATURE, require_browser

REPO = Path(__file__).resolve().parents[2]
SELECTION = 'key:"raw/events/*"'
EVENT_TABLES = ("website", "email", "social", "ads", "offline")
RUN_QUERY = """query ($id: ID!) { runOrError(runId: $id) { ... on Run { runId status } } }"""
RUNS_QUERY = """{ runsOrError(limit: 20) { ... on Runs { results { runId status } } } }"""
ASSET_QUERY = """query ($path: [String!]!) {
  assetNodeOrError(assetKey: {path: $path}) { ... on AssetNode {
    groupName
    owners { ... on TeamAssetOwner { team } }
    tags { key value }
    assetMaterializations(limit: 1) { runId metadataEntries {
      label
      ... on IntMetadataEntry { intValue }
      ... on MarkdownMetadataEntry { mdStr }
    } }
  } }
}"""

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def graphql(url: str, query: str, variables: dict | None = None) -> dict:
    """One query against the webserver's GraphQL endpoint."""
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(f"{url}/graphql", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["data"]


def group_members(pgid: int) -> list[str]:
    """Command lines of the live processes in a process group."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append((stat.parent / "cmdline").read_text().replace("\0", " "))
        except (OSError, IndexError, ValueError):
            continue
    return members


def processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes that name a path (e.g. compute-log tails of our DAGSTER_HOME)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            line = cmdline.read_text().replace("\0", " ")
        except OSError:
            continue
        if text in line and str(os.getpid()) != cmdline.parent.name:
            found.append(line)
    return found


def stop_group(process: subprocess.Popen, grace: float = 20) -> None:
    """Stop `dagster dev` and everything it started: SIGTERM to its group, then SIGKILL what remains.

    SIGTERM suffices unless SIGINT was ignored by whoever started pytest (a background job): dagster dev
    turns SIGTERM into SIGINT for its children.
    """
    pgid = process.pid  # start_new_session: the leader's pid is the group id
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while group_members(pgid) and time.monotonic() < deadline:
            time.sleep(0.5)
        if not group_members(pgid):
            break
    process.wait(timeout=10)


@pytest.fixture
def dagster_dev(tmp_path) -> Iterator[tuple[str, subprocess.Popen]]:
    """`dagster dev` on a small sandbox world with its own warehouse and DAGSTER_HOME, in its own group."""
    require_browser("the Dagster UI")
    world = generate_world(people=150, seed=8)
    events_dir = tmp_path / "events"
    world.write_events(events_dir)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "config" / "dagster.yaml", home / "dagster.yaml")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with Sandbox.start(tmp_path / "sandbox", world) as sandbox:
        env = {
            **os.environ,
            **sandbox.env(),
            "WAREHOUSE_PATH": str(tmp_path / "warehouse.duckdb"),
            "EVENTS_DIR": str(events_dir),
            "DAGSTER_HOME": str(home),
            # the automation sensors poll once at start-up, then not again while the test runs
            "REVLOOP_SENSOR_INTERVAL_S": "3600",
        }
        dagster = Path(sys.executable).parent / "dagster"
        command = [str(dagster), "dev", "-h", "127.0.0.1", "-p", str(port), "-m", "orchestration.definitions"]
        with open(tmp_path / "dagster-dev.log", "wb") as log:
            process = subprocess.Popen(
                command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            deadline = time.monotonic() + 240
            while True:
                assert process.poll() is None, (tmp_path / "dagster-dev.log").read_text()[-3000:]
                try:
                    urllib.request.urlopen(f"{url}/server_info", timeout=5).close()
                    break
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    assert time.monotonic() < deadline, "dagster dev did not answer within 240 s"
                    time.sleep(1)
            yield url, process
        finally:
            stop_group(process)


def wait_for_run(url: str, prefix: str, timeout: float = 240) -> tuple[str, str]:
    """(run id, final status) of the run whose id starts with `prefix`."""
    deadline = time.monotonic() + timeout
    run_id = None
    while time.monotonic() < deadline:
        if run_id is None:
            runs = graphql(url, RUNS_QUERY)["runsOrError"]["results"]
            run_id = next((r["runId"] for r in runs if r["runId"].startswith(prefix)), None)
        if run_id is not None:
            status = graphql(url, RUN_QUERY, {"id": run_id})["runOrError"]["status"]
            if status in ("SUCCESS", "FAILURE", "CANCELED"):
                return run_id, status
        time.sleep(1)
    raise AssertionError(f"run {prefix} did not finish within {timeout} s")


def test_a_materialisation_launched_from_the_asset_graph(dagster_dev, tmp_path):
    from playwright.sync_api import sync_playwright

    url, process = dagster_dev
    screenshot = tmp_path / "asset-graph.png"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            # a fresh instance greets the first visit with a newsletter dialog over the graph
            page.add_locator_handler(page.get_by_role("button", name="Skip"), lambda skip: skip.click())
            page.goto(f"{url}/asset-groups~{urllib.parse.quote(SELECTION, safe='')}/", timeout=120_000)
            for table in EVENT_TABLES:
                page.get_by_text(table, exact=True).first.wait_for(timeout=120_000)
            page.get_by_role("button", name="Materialize all").click()
            launched = page.get_by_text(re.compile(r"Launched run [0-9a-f]{8}"))
            launched.wait_for(timeout=60_000)
            prefix = re.search(r"Launched run ([0-9a-f]{8})", launched.inner_text()).group(1)

            run_id, status = wait_for_run(url, prefix)

            assert status == "SUCCESS", (tmp_path / "dagster-dev.log").read_text()[-3000:]
            page.reload()
            page.get_by_text("Materialized").first.wait_for(timeout=60_000)
            page.screenshot(path=str(screenshot))
        finally:
            browser.close()
    assert screenshot.read_bytes().startswith(PNG_SIGNATURE)
    assert screenshot.stat().st_size > 20_000

    website = graphql(url, ASSET_QUERY, {"path": ["raw", "events", "website"]})["assetNodeOrError"]
    assert website["groupName"] == "ingestion"
    assert website["owners"] == [{"team": "data-platform"}]
    assert {"key": "layer", "value": "raw"} in website["tags"]
    latest = website["assetMaterializations"][0]
    assert latest["runId"] == run_id
    entries = {entry["label"]: entry for entry in latest["metadataEntries"]}
    assert entries["dagster/row_count"]["intValue"] > 0
    assert entries["sample"]["mdStr"].startswith("| ")

    pgid = process.pid
    stop_group(process)
    assert group_members(pgid) == []
    # compute-log tails of the run live outside the group; Dagster's orphan watcher ends them within seconds
    deadline = time.monotonic() + 15
    while processes_mentioning(str(tmp_path)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert processes_mentioning(str(tmp_path)) == []
