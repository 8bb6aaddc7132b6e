"""Ingestion benchmark: revloop's event ingestion end to end vs DuckDB's own read_json_auto on the same files.

    python -m benchmarks.ingestion --events 2000000 --people 100000

Each measurement runs in a fresh process (so peak RSS is its own) into a fresh DuckDB file.
"""

import argparse
import os
import platform
import resource
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.fresh_process import in_fresh_process
from ingestion.events.settings import CHANNELS, FILE_SUFFIXES


@dataclass(frozen=True)
class Measurement:
    """One timed run: what, how many rows, how long, and the process's peak memory."""

    name: str
    rows: int
    seconds: float
    peak_rss_mb: float
    cpu_seconds: float
    detail: str = ""

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds


def cpu_seconds() -> float:
    """CPU time (user + system, all threads) used by this process: steadier than wall time when busy."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    """This process's peak resident set size in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def revloop_events(events_dir: Path, warehouse: Path) -> Measurement:
    """revloop's events source through dlt into `warehouse`, plus loading its rejections."""
    from ingestion.events.settings import DATASET
    from ingestion.load import load_source

    started, cpu_started = time.perf_counter(), cpu_seconds()
    loaded = load_source(events_dir, warehouse)
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu_started
    rows = count_rows(warehouse, [f"{DATASET}.{channel}" for channel in CHANNELS])
    steps = ", ".join(
        f"{step.step} {(step.finished_at - step.started_at).total_seconds():.2f}s"
        for step in loaded.pipeline.last_trace.steps
        if step.step in ("extract", "normalize", "load")
    )
    return Measurement("revloop events (dlt -> DuckDB)", rows, seconds, peak_rss_mb(), cpu, steps)


def duckdb_read_json_auto(events_dir: Path, warehouse: Path) -> Measurement:
    """DuckDB's own newline-delimited JSON reader over the same files into one table (with the settings
    revloop gives every connection: revloop.warehouse.duckdb_settings)."""
    from revloop.warehouse import connect_warehouse

    files = [str(path) for suffix in FILE_SUFFIXES for path in sorted(events_dir.glob(f"*/*{suffix}"))]
    started, cpu_started = time.perf_counter(), cpu_seconds()
    con = connect_warehouse(warehouse)
    con.execute("SET enable_progress_bar = false")
    con.execute(
        "CREATE TABLE events AS SELECT * FROM"
        " read_json_auto(?, format = 'newline_delimited', union_by_name = true)",
        [files],
    )
    con.close()
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu_started
    rows = count_rows(warehouse, ["main.events"])
    return Measurement("DuckDB read_json_auto", rows, seconds, peak_rss_mb(), cpu)


def count_rows(warehouse: Path, tables: list[str]) -> int:
    """Rows in the given tables (schema.table) of the warehouse; missing ones count 0."""
    from revloop.warehouse import connect_warehouse, table_exists

    with connect_warehouse(warehouse, read_only=True) as con:
        return sum(
            con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in tables
            if table_exists(con, table)
        )


def measure_in_fresh_process(benchmark, events_dir: Path, workdir: Path) -> Measurement:
    """Run `benchmark` in a new process against a new warehouse file, and delete that warehouse after."""
    warehouse_dir = Path(tempfile.mkdtemp(prefix="warehouse-", dir=workdir))
    try:
        return in_fresh_process(benchmark, events_dir, warehouse_dir / "warehouse.duckdb")
    finally:
        shutil.rmtree(warehouse_dir, ignore_errors=True)


def generate_events(events_dir: Path, events: int, people: int, seed: int) -> dict[str, int]:
    """The benchmark's event files, written by the synthetic world's bulk writer."""
    from sandbox.world import write_bulk_events

    return write_bulk_events(events_dir, events, people, seed)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2_000_000, help="event lines to generate")
    parser.add_argument("--people", type=int, default=100_000, help="distinct people behind the events")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each measurement; the fastest is kept")
    parser.add_argument("--workdir", type=Path, help="where files go (default: a temp dir, removed after)")
    parser.add_argument(
        "--duckdb-config",
        metavar="JSON",
        help="DuckDB settings for the connections dlt opens to the warehouse (a JSON object)",
    )
    args = parser.parse_args(argv)

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="revloop-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    if args.duckdb_config:
        # dlt reads it from the environment in the measuring processes, which inherit it.
        os.environ["DESTINATION__DUCKDB__CREDENTIALS__GLOBAL_CONFIG"] = args.duckdb_config
    try:
        events_dir = workdir / "events"
        started = time.perf_counter()
        generate_events(events_dir, args.events, args.people, args.seed)
        size_mb = sum(f.stat().st_size for f in events_dir.rglob("*") if f.is_file()) / 1e6
        print(f"generated {args.events:,} events ({size_mb:,.0f} MB) in {time.perf_counter() - started:.1f}s")
        print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.python_version()}, {os.cpu_count()} CPUs")
        print(f"load average before: {' '.join(f'{load:.2f}' for load in os.getloadavg())}")

        results = {}
        for benchmark in (revloop_events, duckdb_read_json_auto):
            runs = [measure_in_fresh_process(benchmark, events_dir, workdir) for _ in range(args.repeat)]
            results[benchmark] = min(runs, key=lambda m: m.seconds)
            best = results[benchmark]
            print(
                f"{best.name:32s} {best.rows:>11,} rows {best.seconds:7.2f}s "
                f"{best.rows_per_second:>11,.0f} rows/s  CPU {best.cpu_seconds:6.2f}s  "
                f"peak RSS {best.peak_rss_mb:,.0f} MB"
            )
            if best.detail:
                print(f"    {best.detail}")
        ours, duckdb_own = results[revloop_events], results[duckdb_read_json_auto]
        print(f"ratio revloop / read_json_auto: {ours.rows_per_second / duckdb_own.rows_per_second:.2f}")
        print(
            f"ratio of CPU seconds, read_json_auto / revloop: {duckdb_own.cpu_seconds / ours.cpu_seconds:.2f}"
        )
        print(f"load average after: {' '.join(f'{load:.2f}' for load in os.getloadavg())}")
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
