"""Labels and the time-based split: the holdout is the newest labelled snapshot, training ends before it."""

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from ml.features import feature_matrix, feature_set
from ml.synthetic import synthetic_features
from ml.tasks import NotEnoughData, binary_labels, eligible_for_scoring, split
from revloop.config.models import ModelsConfig

ANCHOR = date(2026, 6, 1)


def _config(**snapshots) -> ModelsConfig:
    return ModelsConfig.model_validate(
        {
            "snapshots": {"spacing_days": 30, "count": 10, **snapshots},
            "tasks": {
                "churn": {"horizon_days": 90},
                "purchase": {"horizon_days": 60},
                "engagement": {"horizon_days": 30},
            },
            "training": {"min_training_rows": 50, "min_class_examples": 5},
        }
    )


def test_holdout_is_the_newest_labelled_snapshot_and_training_ends_before_it():
    config = _config()
    frame = synthetic_features(300, config, anchor=ANCHOR)
    data = split("churn", frame, config)
    # labels exist from the snapshot 90 days back: that is the holdout
    assert data.holdout_dates == (ANCHOR - timedelta(days=90),)
    # purged: each training label window (90 days) ends by the holdout date
    assert all(d + timedelta(days=90) <= data.holdout_dates[0] for d in data.train_dates)
    assert max(data.train_dates) == ANCHOR - timedelta(days=180)
    assert set(data.train["as_of_date"]).isdisjoint(data.holdout_dates)


def test_churn_learns_and_scores_only_customers():
    config = _config()
    frame = synthetic_features(300, config, anchor=ANCHOR)
    data = split("churn", frame, config)
    assert (data.train["purchase_count"] > 0).all() and (data.holdout["purchase_count"] > 0).all()
    assert not eligible_for_scoring("churn", frame[frame["purchase_count"] == 0]).any()
    assert eligible_for_scoring("purchase", frame).all()


def test_churn_counts_everyone_at_a_customer_account_as_a_customer():
    # the relationship is the account's: a colleague of the buyer is a customer too, a prospect is not
    frame = pd.DataFrame(
        {
            "purchase_count": [2, 0, 0, np.nan],
            "account_won_deal_count": [1, 1, 0, 0],
        }
    )
    assert eligible_for_scoring("churn", frame).tolist() == [True, True, False, False]
    # a feature table without the account column (events only): buyers alone
    assert eligible_for_scoring("churn", frame[["purchase_count"]]).tolist() == [True, False, False, False]


def test_engagement_label_is_above_the_snapshot_median():
    frame = pd.DataFrame(
        {
            "as_of_date": [date(2026, 1, 1)] * 4 + [date(2026, 2, 1)] * 3,
            "label_engagement_count": [0, 1, 5, 9, 2, 2, 3],
        }
    )
    assert binary_labels("engagement", frame).tolist() == [0, 0, 1, 1, 0, 0, 1]


def test_as_of_keeps_only_labels_whose_window_ended():
    config = _config()
    frame = synthetic_features(300, config, anchor=ANCHOR)
    as_of = ANCHOR - timedelta(days=60)
    data = split("purchase", frame, config, as_of=as_of)
    assert data.holdout_dates[0] + timedelta(days=60) <= as_of


def test_too_little_data_is_a_clear_error():
    config = _config(count=7)
    frame = synthetic_features(30, config, anchor=ANCHOR)
    with pytest.raises(NotEnoughData, match="churn: training set has"):
        split("churn", frame, config)
    with pytest.raises(NotEnoughData, match="labelled snapshot"):
        split("churn", frame[frame["snapshot_index"] < 4], config)


def test_feature_columns_exclude_keys_and_labels_and_keep_types():
    frame = synthetic_features(50, _config(), anchor=ANCHOR)
    features = feature_set(frame)
    assert "label_churn" not in features.columns and "profile_id" not in features.columns
    assert "as_of_date" not in features.columns and "is_scoring_snapshot" not in features.columns
    assert set(features.categorical) == {"country", "lifecycle_stage"}
    matrix = feature_matrix(frame, features)
    assert matrix["purchase_count"].dtype == np.float64
    with pytest.raises(KeyError, match="purchase_count"):
        feature_matrix(frame.drop(columns=["purchase_count"]), features)
