"""Predictive-model benchmark: training and scoring on synthetic feature rows of many profiles.

    python -m benchmarks.ml --profiles 1000000

Writes a synthetic marts.ml_features (ml.synthetic: planted signal, one row per profile and snapshot) to a
fresh DuckDB file, one snapshot at a time, then runs train_models (3 tasks: sample, fit, calibrate,
evaluate, register) and score_profiles (predict every profile, merge into ml.predictions through dlt) with
the shipped config's estimators. Each step runs in a process of its own, which reports its wall time, CPU
time and peak resident memory: the figures of one step are not mixed with another's.
"""

import argparse
import multiprocessing
import os
import platform
import resource
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from ml.registry import ModelRegistry
from ml.scoring import score_profiles
from ml.synthetic import synthetic_snapshots
from ml.training import train_models
from revloop.config.models import load_models_config
from revloop.warehouse import connect_warehouse


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_features(profiles: int, warehouse: Path, config, seed: int) -> int:
    """marts.ml_features of `profiles` synthetic profiles, written a snapshot at a time; its row count."""
    rows = 0
    with connect_warehouse(warehouse) as con:
        con.execute("create schema marts")
        for snapshot in synthetic_snapshots(profiles, config, seed=seed):
            con.register("snapshot", snapshot)
            if rows:
                con.execute("insert into marts.ml_features select * from snapshot")
            else:
                con.execute("create table marts.ml_features as select * from snapshot")
            con.unregister("snapshot")
            rows += len(snapshot)
    return rows


def _train(warehouse: Path, registry: Path) -> list[str]:
    reports = train_models(warehouse, registry=ModelRegistry(registry))
    lines = []
    for task, report in reports.items():
        metrics = report.metrics
        lines.append(
            f"  {task}: {report.status}, training rows {metrics.get('training_rows', 0):,}, "
            f"holdout rows {metrics.get('holdout_rows', 0):,}, AUC {metrics.get('auc', float('nan')):.3f}"
        )
    return lines


def _score(warehouse: Path, registry: Path) -> list[str]:
    report = score_profiles(warehouse, registry=ModelRegistry(registry))
    counts = ", ".join(f"{task} {rows:,}" for task, rows in report.rows.items())
    return [f"  {sum(report.rows.values()):,} predictions ({counts})"]


def _measured(step, args, results) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    lines = step(*args)
    results.put((time.perf_counter() - wall, time.process_time() - cpu, peak_rss_mb(), lines))


def run_step(name: str, step, *args) -> None:
    """Run a step in a fresh process and print its wall time, CPU time (all its threads) and peak RSS."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    process = context.Process(target=_measured, args=(step, args, results))
    process.start()
    wall, cpu, peak, lines = results.get()
    process.join()
    print(f"{name}: {wall:.1f}s wall, {cpu:.1f}s CPU, peak RSS {peak:,.0f} MB")
    for line in lines:
        print(line)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--workdir", type=Path, help="where the warehouse goes (default: a temp dir, removed)"
    )
    args = parser.parse_args(argv)
    config = load_models_config()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="revloop-ml-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    warehouse = workdir / "warehouse.duckdb"
    try:
        print(
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.python_version()}, {os.cpu_count()} CPUs, "
            f"threads {config.training.threads}, load average {os.getloadavg()[0]:.2f}"
        )
        started = time.perf_counter()
        rows = write_features(args.profiles, warehouse, config, args.seed)
        print(
            f"features: {args.profiles:,} profiles, {rows:,} rows ({config.snapshots.count} snapshots) "
            f"generated and written in {time.perf_counter() - started:.1f}s"
        )
        run_step("train_models", _train, warehouse, workdir / "models")
        run_step("score_profiles", _score, warehouse, workdir / "models")
        print(f"load average after: {os.getloadavg()[0]:.2f}")
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
