"""Permutation importance on rows encoded once, scored in batches, equals scikit-learn's on the raw rows."""

from datetime import date

import pytest
from sklearn.inspection import permutation_importance

import ml.evaluation
from ml.evaluation import IMPORTANCE_REPEATS, encoded_once, permutation_importances, top_features
from ml.features import FeatureSet, feature_matrix, feature_set
from ml.pipelines import build_classifier
from ml.synthetic import synthetic_features
from revloop.config.models import ModelsConfig

CONFIG = ModelsConfig.model_validate(
    {
        "snapshots": {"spacing_days": 30, "count": 5},
        "tasks": {
            "churn": {"horizon_days": 60},
            "purchase": {"horizon_days": 60},
            "engagement": {"horizon_days": 30},
        },
    }
)


def _fitted(estimator: str):
    frame = synthetic_features(100, CONFIG, anchor=date(2026, 6, 1))
    frame = frame[frame["label_purchase"].notna()]
    every = feature_set(frame)  # a few columns of each kind keep the raw permutations cheap
    features = FeatureSet(numeric=every.numeric[:4], categorical=every.categorical[:3])
    x, y = feature_matrix(frame, features), frame["label_purchase"].to_numpy().astype(int)
    return build_classifier(estimator, features, "sigmoid", seed=5).fit(x, y), x, y


def test_gradient_boosting_importances_from_rows_encoded_once_equal_the_raw_rows_permutation():
    model, x, y = _fitted("hist_gradient_boosting")
    scored, matrix, names = encoded_once(model, x)
    assert scored is not model and sorted(names) == sorted(x.columns)

    raw = permutation_importance(model, x, y, scoring="roc_auc", n_repeats=IMPORTANCE_REPEATS, random_state=5)
    expected = dict(zip(x.columns, raw.importances_mean, strict=True))
    ranked = top_features(model, x, y, count=len(names), seed=5)
    assert {f["feature"] for f in ranked} == set(x.columns)
    for feature in ranked:
        assert feature["importance"] == round(float(expected[feature["feature"]]), 5), feature
    assert any(f["importance"] > 0 for f in ranked)


def test_one_hot_encoding_keeps_the_raw_rows():
    model, x, _ = _fitted("logistic_regression")
    scored, matrix, names = encoded_once(model, x)
    assert scored is model and matrix is x and names == list(x.columns)


def test_batched_importances_of_raw_rows_equal_scikit_learns_whatever_the_batch(monkeypatch):
    """The one-hot pipeline permutes the raw rows (text and numbers): stacked, the scores are scikit-learn's,
    in one batch or in batches of a single shuffled copy."""
    model, x, y = _fitted("logistic_regression")
    raw = permutation_importance(model, x, y, scoring="roc_auc", n_repeats=3, random_state=11)
    assert permutation_importances(model, x, y, repeats=3, seed=11) == pytest.approx(raw.importances_mean)
    monkeypatch.setattr(ml.evaluation, "IMPORTANCE_BATCH_CELLS", 1)
    assert permutation_importances(model, x, y, repeats=3, seed=11) == pytest.approx(raw.importances_mean)
    assert any(raw.importances_mean > 0)
