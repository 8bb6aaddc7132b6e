"""CRM ingestion benchmark: the Salesforce and HubSpot sources against the sandbox seeded with one world.

    python -m benchmarks.crm --people 100000

The sandbox runs in this process; each source runs in a fresh process (so its peak RSS is its own) into one
fresh warehouse, first in full and then again with nothing changed (the incremental run).
"""

import argparse
import os
import platform
import resource
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.fresh_process import in_fresh_process

if TYPE_CHECKING:  # imported lazily: spawned source workers load this module and need none of it
    from ingestion.hubspot import HubSpotConnection
    from ingestion.salesforce import SalesforceConnection
    from sandbox.runner import Sandbox


def peak_rss_mb() -> float:
    """This process's own peak resident set size in MB.

    VmHWM starts afresh at exec; ru_maxrss would carry over the peak of the parent a worker was forked from.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass(frozen=True)
class SourceRun:
    """One pipeline run of a source: rows it loaded, how long it took, and the process's peak memory."""

    records: int
    seconds: float
    peak_rss_mb: float
    steps: str = ""  # dlt's extract / normalize / load seconds


@dataclass(frozen=True)
class Measurement:
    """A source run as the benchmark reports it, with the API requests the emulator answered meanwhile."""

    name: str
    run: SourceRun
    requests: int

    @property
    def records_per_second(self) -> float:
        return self.run.records / self.run.seconds


def crm_origin(
    source: str, url: str, token: str, ca_bundle: str
) -> "SalesforceConnection | HubSpotConnection":
    """What the named CRM source reads: the org or portal an emulator serves at url."""
    from ingestion.hubspot import HubSpotConnection
    from ingestion.salesforce import SalesforceConnection

    if source == "salesforce":
        return SalesforceConnection(instance_url=url, access_token=token, ca_bundle=ca_bundle)
    return HubSpotConnection(token, url, ca_bundle)


def run_source(source: str, url: str, token: str, ca_bundle: str, warehouse: Path) -> SourceRun:
    """Load the named source from the sandbox at url into warehouse (in a worker process)."""
    from ingestion.load import load_source

    started = time.perf_counter()
    pipeline = load_source(crm_origin(source, url, token, ca_bundle), warehouse).pipeline
    seconds = time.perf_counter() - started
    normalized = pipeline.last_trace.last_normalize_info
    counts = normalized.row_counts if normalized else {}
    records = sum(rows for table, rows in counts.items() if not table.startswith("_dlt"))
    steps = ", ".join(
        f"{step.step} {(step.finished_at - step.started_at).total_seconds():.1f}s"
        for step in pipeline.last_trace.steps
        if step.step in ("extract", "normalize", "load")
    )
    return SourceRun(records, seconds, peak_rss_mb(), steps)


def measure(name: str, source: str, server, token: str, ca_bundle: str, warehouse: Path) -> Measurement:
    """Run one source in a fresh process and count the requests its emulator answered meanwhile."""
    log = server.app.request_log
    before = len(log)
    run = in_fresh_process(run_source, source, server.url, token, ca_bundle, warehouse)
    return Measurement(name, run, len(log) - before)


def print_table(measurements: list[Measurement]) -> None:
    print(f"{'run':34s} {'records':>9s} {'seconds':>8s} {'records/s':>10s} {'requests':>9s} {'peak RSS':>9s}")
    for m in measurements:
        print(
            f"{m.name:34s} {m.run.records:>9,} {m.run.seconds:>8.1f} {m.records_per_second:>10,.0f} "
            f"{m.requests:>9,} {m.run.peak_rss_mb:>6,.0f} MB"
        )
    for m in measurements:
        print(f"{m.name}: {m.run.steps}")


def machine_line() -> str:
    """When and on what a benchmark runs: UTC time, Python, CPUs and the load average at the start."""
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}"
    )


@contextmanager
def world_sandbox(people: int, seed: int, folder: Path) -> Iterator["Sandbox"]:
    """Generate a world of `people`, seed both emulators with it and serve them (timings printed)."""
    from sandbox.runner import Sandbox
    from sandbox.world import generate_world

    started = time.perf_counter()
    world = generate_world(people=people, seed=seed)
    print(f"generated a world of {people:,} people in {time.perf_counter() - started:.1f}s: "
          f"Salesforce {sum(map(len, world.salesforce.values())):,} records, "
          f"HubSpot {sum(map(len, world.hubspot.values())):,} records")
    started = time.perf_counter()
    with Sandbox.start(folder, world) as sandbox:
        print(f"seeded and started the sandbox in {time.perf_counter() - started:.1f}s")
        del world
        yield sandbox


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000, help="people in the generated world")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, help="where files go (default: a temp dir, removed after)")
    args = parser.parse_args(argv)

    from sandbox.runner import SANDBOX_TOKEN

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="revloop-bench-crm-"))
    workdir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    try:
        print(machine_line())
        with world_sandbox(args.people, args.seed, workdir / "sandbox") as sandbox:
            ca_bundle = str(sandbox.tls.ca_bundle)
            warehouse = workdir / "warehouse.duckdb"
            measurements = []
            for label, source, server in (
                ("Salesforce", "salesforce", sandbox.salesforce),
                ("HubSpot", "hubspot", sandbox.hubspot),
            ):
                for run in ("full", "incremental"):
                    measurements.append(
                        measure(f"{label} {run}", source, server, SANDBOX_TOKEN, ca_bundle, warehouse)
                    )
            print_table(measurements)
            print(f"sandbox process peak RSS {peak_rss_mb():,.0f} MB")
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
