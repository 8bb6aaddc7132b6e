"""Score the newest snapshot of marts.ml_features with each task's current model into ml.predictions."""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import dlt
import numpy as np
import pandas as pd
import pyarrow as pa
from threadpoolctl import threadpool_limits

from ingestion.warehouse import make_pipeline, warehouse_path
from ml.baseline import BASELINE_VERSION, base_rate, baseline_card, rule_scores
from ml.features import FeatureSet, feature_matrix, read_features
from ml.registry import ModelRegistry, ModelVersion
from ml.tasks import eligible_for_scoring
from revloop.config.models import TASKS, ModelsConfig, TaskName, load_models_config

PIPELINE_NAME, DATASET_NAME, TABLE_NAME = "ml_predictions", "ml", "predictions"
PRIMARY_KEY = ("profile_id", "task", "model_version")
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
    while a task has none, and write ml.predictions."""
    warehouse = Path(warehouse or warehouse_path())
    config = config or load_models_config()
    registry = registry or ModelRegistry(warehouse=warehouse)
    scored_at = scored_at or datetime.now(UTC)
    frame = read_features(warehouse, scoring_only=True)
    report = ScoringReport(scored_at, frame["as_of_date"].iloc[0] if len(frame) else None)
    tables = []
    with threadpool_limits(limits=config.training.threads):
        for task in tasks:
            eligible = frame[eligible_for_scoring(task, frame)]
            version = registry.current(task)
            if version is None:
                rate = base_rate(task, frame, config)
                card = baseline_card(task, rate, _why_baseline(registry, task))
                registry.save_baseline_card(task, card)
                report.baselines[task] = card
                table = prediction_rows(
                    task, BASELINE_VERSION, rule_scores(task, eligible, rate), eligible, scored_at
                )
            else:
                scores = predict(version, version.load(), eligible)
                table = prediction_rows(task, version.version, scores, eligible, scored_at)
            report.rows[task] = table.num_rows
            report.model_versions[task] = version.version if version else BASELINE_VERSION
            if table.num_rows:
                tables.append(table)
    if tables:
        write_predictions(tables, warehouse)
    return report
