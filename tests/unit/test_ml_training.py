"""Training, promotion and the registry on synthetic feature tables with planted signal (no warehouse)."""

import json
from datetime import date

import numpy as np
import pytest

from ml.registry import ModelRegistry
from ml.synthetic import synthetic_features
from ml.training import train_task
from revloop.config.models import ModelsConfig

CONFIG = ModelsConfig.model_validate(
    {
        "snapshots": {"spacing_days": 30, "count": 8},
        "tasks": {
            "churn": {"horizon_days": 60, "estimator": "logistic_regression"},
            "purchase": {"horizon_days": 60},
            "engagement": {"horizon_days": 30},
        },
        "training": {"calibration": "isotonic", "top_features": 3},
    }
)


@pytest.fixture(scope="module")
def frame():
    return synthetic_features(800, CONFIG, anchor=date(2026, 6, 1))


def _shuffled(frame, column: str, seed: int = 3):
    shuffled = frame.copy()
    rng = np.random.default_rng(seed)
    shuffled[column] = shuffled.groupby("as_of_date")[column].transform(
        lambda v: rng.permutation(v.to_numpy())
    )
    return shuffled


@pytest.mark.parametrize("task", ["churn", "purchase", "engagement"])
def test_a_model_learns_the_planted_signal_and_is_calibrated(frame, tmp_path, task):
    report = train_task(task, frame, CONFIG, ModelRegistry(tmp_path))
    assert report.status == "promoted" and report.reason.startswith("first model"), report.reason
    # the baselines stand beside the model: the rules it had to beat and the RFM logistic regression
    assert report.metrics["auc"] > report.metrics["rules_auc"]
    assert 0.0 <= report.metrics["baseline_auc"] <= 1.0
    assert report.metrics["auc"] >= 0.7, report.metrics
    # calibrated: the Brier score beats always predicting the base rate
    base = report.metrics["holdout_positive_rate"]
    assert report.metrics["brier"] < base * (1 - base)
    assert len(report.top_features) == 3
    assert {p.name for p in report.plots.values()} == {"roc.png", "calibration.png"}


def test_shuffled_labels_give_chance_auc(frame, tmp_path):
    report = train_task("purchase", _shuffled(frame, "label_purchase"), CONFIG, ModelRegistry(tmp_path))
    assert 0.4 <= report.metrics["auc"] <= 0.6


def test_promotion_refuses_a_worse_model(frame, tmp_path):
    registry = ModelRegistry(tmp_path)
    good = train_task("purchase", frame, CONFIG, registry)
    # the worse model learns from shuffled labels but is judged on the real holdout, like the current one
    worse_frame = _shuffled(frame, "label_purchase")
    holdout = worse_frame["as_of_date"] == date.fromisoformat(
        registry.current("purchase").card["holdout_as_of_dates"][0]
    )
    worse_frame.loc[holdout, "label_purchase"] = frame.loc[holdout, "label_purchase"]
    worse = train_task("purchase", worse_frame, CONFIG, registry)
    assert worse.status == "kept", worse.reason
    assert worse.current_version == good.version == registry.current("purchase").version
    assert worse.current_model_auc == pytest.approx(good.metrics["auc"])
    assert "does not beat" in worse.reason
    card = json.loads((registry.get("purchase", worse.version).folder / "card.json").read_text())
    assert card["promoted"] is False
    # a retrain on the same data is no better either: the current model stays
    again = train_task("purchase", frame, CONFIG, registry)
    assert again.status == "kept" and registry.current("purchase").version == good.version
    assert len(registry.versions("purchase")) == 3


def test_the_card_records_window_features_metrics_and_code_version(frame, tmp_path):
    registry = ModelRegistry(tmp_path)
    report = train_task("churn", frame, CONFIG, registry)
    card = registry.current("churn").card
    assert card["version"] == report.version and card["task"] == "churn"
    assert card["label"] == {"column": "label_churn", "horizon_days": 60}
    assert card["training_window"]["last_as_of_date"] < card["holdout_as_of_dates"][0]
    assert "days_since_last_purchase" in card["features"]["numeric"]
    assert "country" in card["features"]["categorical"]
    assert card["metrics"]["auc"] == report.metrics["auc"]
    assert card["code_version"] and card["created_at"] and card["estimator"] == "logistic_regression"


def test_too_little_data_skips_with_a_reason(tmp_path):
    small = synthetic_features(20, CONFIG, anchor=date(2026, 6, 1))
    report = train_task("churn", small, CONFIG, ModelRegistry(tmp_path))
    assert report.status == "skipped" and "training set has" in report.reason
    assert report.version is None and not (tmp_path / "churn").exists()
