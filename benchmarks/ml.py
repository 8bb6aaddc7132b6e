"""Predictive-model benchmark: training and scoring on synthetic feature rows of many profiles.

    python -m benchmarks.ml --profiles 1000000

Writes a synthetic marts.ml_features (ml.synthetic: planted signal, one row per profile and snapshot) to a
fresh DuckDB file, then times train_models (3 tasks: fit, calibrate, evaluate, register) and score_profiles
(predict every profile, merge into ml.predictions through dlt) with the shipped config's estimators.
"""

import argparse
import os
import platform
import resource
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from ingestion.warehouse import connect_warehouse
from ml.registry import ModelRegistry
from ml.scoring import score_profiles
from ml.synthetic import synthetic_features
from ml.training import train_models
from revloop.config.models import load_models_config


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_features(profiles: int, warehouse: Path, config, seed: int) -> int:
    """marts.ml_features of `profiles` synthetic profiles; returns its row count."""
    frame = synthetic_features(profiles, config, seed=seed)
    with connect_warehouse(warehouse) as con:
        con.execute("create schema marts")
        con.register("frame", frame)
        con.execute("create table marts.ml_features as select * from frame")
    return len(frame)


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
        registry = ModelRegistry(workdir / "models")

        started = time.perf_counter()
        reports = train_models(warehouse, config=config, registry=registry)
        seconds = time.perf_counter() - started
        print(f"train_models: {seconds:.1f}s, peak RSS {peak_rss_mb():,.0f} MB")
        for task, report in reports.items():
            metrics = report.metrics
            print(
                f"  {task}: {report.status}, training rows {metrics.get('training_rows', 0):,}, "
                f"holdout rows {metrics.get('holdout_rows', 0):,}, AUC {metrics.get('auc', float('nan')):.3f}"
            )

        started = time.perf_counter()
        scoring = score_profiles(warehouse, config=config, registry=registry)
        seconds = time.perf_counter() - started
        print(
            f"score_profiles: {seconds:.1f}s for {sum(scoring.rows.values()):,} predictions "
            f"({', '.join(f'{t} {n:,}' for t, n in scoring.rows.items())}), peak RSS {peak_rss_mb():,.0f} MB"
        )
        print(f"load average after: {os.getloadavg()[0]:.2f}")
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
