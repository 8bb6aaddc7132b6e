"""ml.model_runs: one row per task and training attempt (refusals too), appended beside ml.predictions."""

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import dlt
import pyarrow as pa

from revloop.warehouse import make_pipeline

PIPELINE_NAME, DATASET_NAME, TABLE_NAME = "ml_model_runs", "ml", "model_runs"
SCHEMA = pa.schema(
    [
        pa.field("task", pa.string(), nullable=False),
        pa.field("trained_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("status", pa.string(), nullable=False),  # promoted, kept or skipped
        pa.field("version", pa.string()),  # null when nothing was trained
        pa.field("current_version", pa.string()),  # what scores after the attempt (baseline: the rules)
        pa.field("promoted", pa.bool_(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("auc", pa.float64()),
        pa.field("pr_auc", pa.float64()),
        pa.field("brier", pa.float64()),
        pa.field("baseline_auc", pa.float64()),
        pa.field("rules_auc", pa.float64()),
        pa.field("current_model_auc", pa.float64()),
        pa.field("training_rows", pa.int64()),
        pa.field("holdout_rows", pa.int64()),
        pa.field("holdout_positive_rate", pa.float64()),
    ]
)
METRICS = ("auc", "pr_auc", "brier", "baseline_auc", "rules_auc")


def run_rows(reports: Iterable, trained_at: datetime) -> pa.Table:
    """The rows of a set of TrainingReports, one per task."""
    rows = []
    for report in reports:
        metrics = report.metrics
        rows.append(
            {
                "task": report.task,
                "trained_at": trained_at,
                "status": report.status,
                "version": report.version,
                "current_version": report.current_version,
                "promoted": report.status == "promoted",
                "reason": report.reason,
                **{name: metrics.get(name) for name in METRICS},
                "current_model_auc": report.current_model_auc,
                "training_rows": metrics.get("training_rows"),
                "holdout_rows": metrics.get("holdout_rows"),
                "holdout_positive_rate": metrics.get("holdout_positive_rate"),
            }
        )
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def write_runs(table: pa.Table, warehouse: Path) -> None:
    """Append the rows to ml.model_runs (a run is history: never replaced)."""
    resource = dlt.resource([table], name=TABLE_NAME, write_disposition="append")
    make_pipeline(PIPELINE_NAME, DATASET_NAME, warehouse).run(resource)
