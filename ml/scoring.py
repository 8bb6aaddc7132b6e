"""Score the newest snapshot of marts.ml_features with each task's current model into ml.predictions."""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import dlt
import numpy as np
import pandas as pd
import pyarrow as pa
from threadpoolctl import threadpool_limits

from ml.baseline import BASELINE_VERSION, base_rate, baseline_card, baseline_columns, rule_scores
from ml.features import (
    FEATURES_SCHEMA,
    FEATURES_TABLE,
    FeatureSet,
    feature_matrix,
    narrow_columns,
    open_features,
    read_batches,
    read_frame,
)
from ml.registry import ModelRegistry, ModelVersion
from ml.tasks import eligible_for_scoring
from revloop.config.models import TASKS, ModelsConfig, TaskName, load_models_config
from revloop.warehouse import make_pipeline, warehouse_path

PIPELINE_NAME, DATASET_NAME, TABLE_NAME = "ml_predictions", "ml", "predictions"
PRIMARY_KEY = ("profile_id", "task", "model_version")
FEATURES = f"{FEATURES_SCHEMA}.{FEATURES_TABLE}"
SCHEMA = pa.schema(
    [
        pa.field("profile_id", pa.string(), nullable=False),
        pa.field("task", pa.string(), nullable=False),
        pa.field("model_version", pa.string(), nullable=False),
        pa.field("score", pa.float64(), nullable=False),
        pa.field("as_of_date", pa.date32(), nullable=False),
        pa.field("scored_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)


@dataclass
class ScoringReport:
    """What one scoring run wrote: rows per task, the model version used ("baseline" for the rules, with
    why and the base rate they are calibrated to)."""

    scored_at: datetime
    as_of_date: object | None
    rows: dict[str, int] = field(default_factory=dict)
    model_versions: dict[str, str] = field(default_factory=dict)
    baselines: dict[str, dict] = field(default_factory=dict)
    table: str = f"{DATASET_NAME}.{TABLE_NAME}"

    def metadata(self) -> dict[str, object]:
        """Plain values for run metadata."""
        values: dict[str, object] = {"table": self.table, "scored_at": self.scored_at.isoformat()}
        values["as_of_date"] = str(self.as_of_date)
        for task, count in self.rows.items():
            values[f"{task}_rows"] = count
            values[f"{task}_model_version"] = self.model_versions[task]
        for task, card in self.baselines.items():
            values[f"{task}_baseline_why"] = card["why"]
            values[f"{task}_baseline_rate"] = card["base_rate"]
            values[f"{task}_baseline_rate_rule"] = card["base_rate_rule"]
        return values


def predict(version: ModelVersion, model, frame: pd.DataFrame) -> np.ndarray:
    """Calibrated probabilities of one saved model for the rows of a feature table."""
    card = version.card
    features = FeatureSet(tuple(card["features"]["numeric"]), tuple(card["features"]["categorical"]))
    if frame.empty:
        return np.empty(0)
    return model.predict_proba(feature_matrix(frame, features))[:, 1]


def prediction_rows(
    task: TaskName, version: str, scores: np.ndarray, eligible: pd.DataFrame, scored_at: datetime
) -> pa.Table:
    """One row per eligible profile of the scoring snapshot: profile_id, task, model_version, score, ..."""
    count = len(eligible)
    return pa.table(
        {
            "profile_id": eligible["profile_id"].astype(str).tolist(),
            "task": [task] * count,
            "model_version": [version] * count,
            "score": np.clip(scores, 0.0, 1.0),
            "as_of_date": eligible["as_of_date"].tolist(),
            "scored_at": [scored_at] * count,
        },
        schema=SCHEMA,
    )


def _why_baseline(registry: ModelRegistry, task: TaskName) -> str:
    """Why the rules score a task: nothing trained yet, or no trained model beat them on the holdout."""
    versions = registry.versions(task)
    if not versions:
        return "no trained model yet: too few labels (ml.model_runs says why)"
    latest = versions[-1]
    return f"no trained model beat the baseline yet ({latest.version}: {latest.card.get('promotion_reason')})"


def write_predictions(tables: list[pa.Table], warehouse: Path) -> None:
    """Merge the rows into ml.predictions: a rescoring with the same model version replaces its rows."""
    resource = dlt.resource(
        tables,
        name=TABLE_NAME,
        write_disposition="merge",
        primary_key=list(PRIMARY_KEY),
    )
    make_pipeline(PIPELINE_NAME, DATASET_NAME, warehouse).run(resource)


def score_profiles(
    warehouse: Path | None = None,
    config: ModelsConfig | None = None,
    registry: ModelRegistry | None = None,
    tasks: tuple[TaskName, ...] = TASKS,
    scored_at: datetime | None = None,
) -> ScoringReport:
    """Score every profile of the scoring snapshot with each task's current model, or the baseline rules
    while a task has none, and write ml.predictions. Models score the snapshot in Arrow batches of
    BATCH_ROWS; the rules read only their few columns (their base rate needs the whole snapshot)."""
    warehouse = Path(warehouse or warehouse_path())
    config = config or load_models_config()
    registry = registry or ModelRegistry(warehouse=warehouse)
    scored_at = scored_at or datetime.now(UTC)
    current = {task: registry.current(task) for task in tasks}
    tables = []
    with open_features(warehouse) as con, threadpool_limits(limits=config.training.threads):
        as_of_date = con.execute(
            f"select min(as_of_date) from {FEATURES} where is_scoring_snapshot"
        ).fetchone()[0]
        report = ScoringReport(scored_at, as_of_date)
        columns = {column[0] for column in con.execute(f"select * from {FEATURES} limit 0").description}
        for task in (t for t in tasks if current[t] is None):
            needed = ["profile_id", "as_of_date", *(c for c in baseline_columns(task) if c in columns)]
            frame = read_frame(
                con,
                f"select {', '.join(needed)} from {FEATURES} where is_scoring_snapshot order by profile_id",
            )
            rate = base_rate(task, frame, config)
            card = baseline_card(task, rate, _why_baseline(registry, task))
            registry.save_baseline_card(task, card)
            report.baselines[task] = card
            eligible = frame[eligible_for_scoring(task, frame)]
            tables.append(
                prediction_rows(
                    task, BASELINE_VERSION, rule_scores(task, eligible, rate), eligible, scored_at
                )
            )
            report.rows[task] = len(eligible)
        models = {task: (version, version.load()) for task, version in current.items() if version is not None}
        if models:
            sql = (
                f"select {narrow_columns(con)} from {FEATURES} where is_scoring_snapshot order by profile_id"
            )
            for batch in read_batches(con, sql):
                for task, (version, model) in models.items():
                    eligible = batch[eligible_for_scoring(task, batch)]
                    scores = predict(version, model, eligible)
                    tables.append(prediction_rows(task, version.version, scores, eligible, scored_at))
                    report.rows[task] = report.rows.get(task, 0) + len(eligible)
    for task in tasks:
        report.rows.setdefault(task, 0)
        report.model_versions[task] = current[task].version if current[task] else BASELINE_VERSION
    tables = [table for table in tables if table.num_rows]
    if tables:
        write_predictions(tables, warehouse)
    return report
