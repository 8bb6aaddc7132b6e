"""Train, evaluate and (maybe) promote one model per task from marts.ml_features."""

import base64
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from ml.baseline import BASELINE_VERSION, rfm_baseline_scores, rule_logits
from ml.evaluation import calibration_plot, holdout_metrics, roc_plot, top_features
from ml.features import (
    AS_OF_RULES,
    FeatureSet,
    feature_matrix,
    feature_set,
    left_out_features,
    present_features,
)
from ml.pipelines import build_classifier, calibration_method
from ml.registry import ModelRegistry, ModelVersion, update_card
from ml.runs import run_rows, write_runs
from ml.sampling import task_rows
from ml.tasks import LABEL_COLUMNS, NotEnoughData, TaskSplit, split
from revloop.config.models import TASKS, ModelsConfig, TaskName, load_models_config
from revloop.warehouse import warehouse_path

Status = Literal["promoted", "kept", "skipped"]


@dataclass
class TrainingReport:
    """What one task's training run did: its new version, holdout metrics and the promotion decision."""

    task: str
    status: Status
    reason: str
    version: str | None = None  # the version trained by this run (None when skipped)
    current_version: str | None = None  # the version that scores profiles after this run ("baseline": rules)
    metrics: dict = field(default_factory=dict)
    current_model_auc: float | None = None  # the previous current model's AUC on the same holdout
    top_features: list[dict] = field(default_factory=list)
    plots: dict[str, Path] = field(default_factory=dict)

    def metadata(self) -> dict[str, object]:
        """Plain values for run metadata (numbers, text): status, versions, metrics, top features."""
        values: dict[str, object] = {"status": self.status, "reason": self.reason}
        if self.version:
            values["version"] = self.version
        if self.current_version:
            values["current_version"] = self.current_version
        values.update(self.metrics)
        if self.current_model_auc is not None:
            values["current_model_auc"] = self.current_model_auc
        if self.top_features:
            values["top_features"] = ", ".join(
                f"{f['feature']} ({f['importance']:.3f})" for f in self.top_features
            )
        return values

    def markdown(self) -> str:
        """A Markdown summary with the ROC and calibration plots inline (base64 PNG data URIs)."""
        lines = [f"**{self.task}**: {self.status} ({self.reason})", ""]
        if "auc" in self.metrics:
            auc, rfm, rules = (self.metrics[k] for k in ("auc", "baseline_auc", "rules_auc"))
            lines += [f"Holdout AUC: model {auc:.4f}, RFM baseline {rfm:.4f}, baseline rules {rules:.4f}", ""]
        lines += ["| metric | value |", "|---|---|"]
        for key, value in self.metrics.items():
            lines.append(f"| {key} | {value:.4f} |" if isinstance(value, float) else f"| {key} | {value} |")
        if self.top_features:
            lines += ["", "| feature | permutation importance (AUC) |", "|---|---|"]
            lines += [f"| {f['feature']} | {f['importance']:.4f} |" for f in self.top_features]
        for name, path in self.plots.items():
            encoded = base64.b64encode(path.read_bytes()).decode()
            lines += ["", f"![{name}](data:image/png;base64,{encoded})"]
        return "\n".join(lines)


def code_version() -> str:
    """The package version, plus `git describe` when the code runs from a git checkout."""
    try:
        described = package_version("revloop")
    except PackageNotFoundError:
        described = "unknown"
    try:
        git = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--tags"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        git = ""
    return f"{described} ({git})" if git else described


def _as_date(value: date | datetime | str | None) -> date | None:
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(UTC).date() if value.tzinfo else value.date()


def _auc_of(version: ModelVersion, holdout: pd.DataFrame, y: np.ndarray) -> float:
    """A saved model's AUC on a holdout (KeyError when the feature table lacks one of its features)."""
    card = version.card
    features = FeatureSet(tuple(card["features"]["numeric"]), tuple(card["features"]["categorical"]))
    scores = version.load().predict_proba(feature_matrix(holdout, features))[:, 1]
    return float(roc_auc_score(y, scores))


def _decide(
    registry: ModelRegistry, task: str, metrics: dict, data: TaskSplit, min_gain: float
) -> tuple[bool, str, float | None]:
    """Promote the new model if it beats what scores today on this holdout: the current model, or before
    the first promotion the baseline rules."""
    new_auc, current = metrics["auc"], registry.current(task)
    if current is None:
        rules, rfm = metrics["rules_auc"], metrics["baseline_auc"]
        versus = f"the baseline rules' {rules:.4f} (RFM baseline {rfm:.4f})"
        if new_auc > rules + min_gain:
            return True, f"first model: holdout AUC {new_auc:.4f} beats {versus}", None
        return False, f"holdout AUC {new_auc:.4f} does not beat {versus}; the baseline keeps scoring", None
    try:
        current_auc = _auc_of(current, data.holdout, data.y_holdout)
    except KeyError as exc:
        return True, f"current model {current.version} cannot score today's features ({exc})", None
    if new_auc > current_auc + min_gain:
        return True, f"holdout AUC {new_auc:.4f} beats current {current_auc:.4f}", current_auc
    return False, f"holdout AUC {new_auc:.4f} does not beat current {current_auc:.4f}", current_auc


def train_task(
    task: TaskName,
    frame: pd.DataFrame,
    config: ModelsConfig,
    registry: ModelRegistry,
    as_of: date | None = None,
    population: dict[str, int] | None = None,
) -> TrainingReport:
    """Train one task on the training snapshots, evaluate it on the holdout, save it, promote it or not.
    `population`: the rows of each part before the warehouse sampled `frame` (for the model card)."""
    with threadpool_limits(limits=config.training.threads):
        return _train_task(task, frame, config, registry, as_of, population)


def _skipped(task: TaskName, registry: ModelRegistry, reason: str) -> TrainingReport:
    current = registry.current(task)
    return TrainingReport(
        task, "skipped", reason, current_version=current.version if current else BASELINE_VERSION
    )


def sample_sizes(data: TaskSplit, population: dict[str, int] | None) -> dict[str, object]:
    """Rows and positives of the training and holdout sets, and the rows they were sampled from."""
    population = population or data.population
    return {
        "training_rows": int(len(data.y_train)),
        "training_positives": int(data.y_train.sum()),
        "training_population_rows": int(population["training"]),
        "holdout_rows": int(len(data.y_holdout)),
        "holdout_positives": int(data.y_holdout.sum()),
        "holdout_population_rows": int(population["holdout"]),
        "sampling": "seeded, stratified on the label: each label value keeps its share of the rows",
    }


def _train_task(
    task: TaskName,
    frame: pd.DataFrame,
    config: ModelsConfig,
    registry: ModelRegistry,
    as_of: date | None,
    population: dict[str, int] | None,
) -> TrainingReport:
    current = registry.current(task)
    try:
        data = split(task, frame, config, as_of)
    except NotEnoughData as exc:
        return _skipped(task, registry, str(exc))
    available = feature_set(frame)
    features = present_features(available, data.train)
    task_config = config.tasks.of(task)
    seed = config.training.random_seed
    method = calibration_method(config.training.calibration, data.y_train)
    model = build_classifier(task_config.estimator, features, method, seed)
    model.fit(feature_matrix(data.train, features), data.y_train)
    x_holdout = feature_matrix(data.holdout, features)
    scores = model.predict_proba(x_holdout)[:, 1]
    baseline = rfm_baseline_scores(task, data.train, data.y_train, data.holdout, seed)
    metrics = {
        **holdout_metrics(data.y_holdout, scores),
        "baseline_auc": float(roc_auc_score(data.y_holdout, baseline)),
        "rules_auc": float(roc_auc_score(data.y_holdout, rule_logits(task, data.holdout))),
        "training_rows": int(len(data.y_train)),
        "training_positive_rate": float(np.mean(data.y_train)),
    }
    ranked = top_features(model, x_holdout, data.y_holdout, config.training.top_features, seed)
    title = f"{task} (holdout {data.holdout_dates[-1]})"
    plots = {
        "roc": roc_plot(data.y_holdout, scores, title),
        "calibration": calibration_plot(data.y_holdout, scores, title),
    }
    card = {
        "label": {"column": LABEL_COLUMNS[task], "horizon_days": task_config.horizon_days},
        "training_window": {
            "first_as_of_date": data.train_dates[0],
            "last_as_of_date": data.train_dates[-1],
            "snapshots": len(data.train_dates),
        },
        "holdout_as_of_dates": list(data.holdout_dates),
        "features": {"numeric": list(features.numeric), "categorical": list(features.categorical)},
        "as_of_rules": AS_OF_RULES,
        "left_out_features": left_out_features(available, features),
        "sample": sample_sizes(data, population),
        "estimator": task_config.estimator,
        "calibration": method,
        "random_seed": seed,
        "metrics": metrics,
        "top_features": ranked,
        "code_version": code_version(),
    }
    saved = registry.save(task, model, card, plots)
    promote, reason, current_auc = _decide(registry, task, metrics, data, config.promotion.min_auc_gain)
    if promote:
        registry.promote(task, saved.version, reason)
    update_card(saved, promoted=promote, promotion_reason=reason, current_model_auc=current_auc)
    return TrainingReport(
        task=task,
        status="promoted" if promote else "kept",
        reason=reason,
        version=saved.version,
        current_version=saved.version if promote else (current.version if current else BASELINE_VERSION),
        metrics=metrics,
        current_model_auc=current_auc,
        top_features=ranked,
        plots=saved.plots(),
    )


def train_models(
    warehouse: Path | None = None,
    as_of: date | datetime | str | None = None,
    config: ModelsConfig | None = None,
    registry: ModelRegistry | None = None,
    tasks: tuple[TaskName, ...] = TASKS,
) -> dict[str, TrainingReport]:
    """Train every task from marts.ml_features of the warehouse (`as_of`: as if today were that date) and
    append one row per task to ml.model_runs, refusals included."""
    warehouse = Path(warehouse or warehouse_path())
    config = config or load_models_config()
    registry = registry or ModelRegistry(warehouse=warehouse)
    as_of = _as_date(as_of)
    reports = {}
    for task in tasks:
        # each task reads only its own snapshots, sampled in the warehouse: never the whole feature table
        try:
            rows = task_rows(warehouse, task, config, as_of)
        except NotEnoughData as exc:
            reports[task] = _skipped(task, registry, str(exc))
            continue
        reports[task] = train_task(task, rows.frame, config, registry, as_of, rows.population)
    write_runs(run_rows(reports.values(), datetime.now(UTC)), warehouse)
    return reports
