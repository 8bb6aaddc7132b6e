"""Each task's rows sampled in the warehouse (stratified on the label, capped, Arrow batches) and scoring in
batches, against the same rules applied to the whole feature table in pandas."""

from datetime import date

import duckdb
import numpy as np
import pytest

import ml.features
from ml.features import read_features
from ml.registry import ModelRegistry
from ml.sampling import task_rows
from ml.scoring import score_profiles
from ml.synthetic import synthetic_features
from ml.tasks import BINARY_LABEL, binary_labels, split
from ml.training import train_models
from revloop.config.models import ModelsConfig

CAP = 1000
CONFIG = ModelsConfig.model_validate(
    {
        "snapshots": {"spacing_days": 30, "count": 8},
        "tasks": {
            "churn": {"horizon_days": 60, "estimator": "logistic_regression"},
            "purchase": {"horizon_days": 60, "estimator": "logistic_regression"},
            "engagement": {"horizon_days": 30, "estimator": "logistic_regression"},
        },
        "training": {"calibration": "sigmoid", "max_training_rows": CAP, "top_features": 3},
    }
)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    """marts.ml_features of 1000 synthetic profiles on 8 snapshots (4000+ labelled rows per task)."""
    path = tmp_path_factory.mktemp("ml_sampling") / "warehouse.duckdb"
    frame = synthetic_features(1000, CONFIG, anchor=date(2026, 6, 1))
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.register("frame", frame)
        con.execute("create table marts.ml_features as select * from frame")
    return path


@pytest.mark.parametrize("task", ["churn", "purchase", "engagement"])
def test_a_task_reads_only_its_snapshots_capped_and_stratified_on_the_label(warehouse, task):
    uncapped = CONFIG.model_copy(
        update={"training": CONFIG.training.model_copy(update={"max_training_rows": 10**6})}
    )
    whole = split(task, read_features(warehouse), uncapped)
    rows = task_rows(warehouse, task, CONFIG)
    sampled = split(task, rows.frame, CONFIG)
    # the same snapshots as the split of the whole table: the holdout, and training ending before it
    assert (sampled.train_dates, sampled.holdout_dates) == (whole.train_dates, whole.holdout_dates)
    assert set(rows.frame["as_of_date"]) == set(whole.train_dates) | set(whole.holdout_dates)
    assert rows.population == {"training": len(whole.y_train), "holdout": len(whole.y_holdout)}
    # training is capped (the ceiling of each label's share may add one row per label value) and keeps the
    # positive rate of its population; the holdout is under MAX_HOLDOUT_ROWS and read whole
    assert len(whole.y_train) > CAP >= len(sampled.y_train) - 2
    assert sampled.y_train.mean() == pytest.approx(whole.y_train.mean(), abs=0.002)
    assert np.array_equal(sampled.y_holdout, whole.y_holdout)
    # the label is the warehouse's: for engagement, above the median of the whole snapshot, not the sample's
    keys = ["profile_id", "as_of_date"]
    truth = whole.train.assign(y=whole.y_train)[[*keys, "y"]]
    merged = sampled.train.assign(y=sampled.y_train)[[*keys, "y"]].merge(
        truth, on=keys, suffixes=("", "_whole")
    )
    assert len(merged) == len(sampled.y_train) and (merged["y"] == merged["y_whole"]).all()
    # numbers are read narrow
    assert rows.frame["purchase_count"].dtype == np.float32
    # the sample is reproducible
    assert task_rows(warehouse, task, CONFIG).frame[keys].equals(rows.frame[keys])


def test_the_engagement_label_of_a_sample_is_not_the_samples_own_median(warehouse):
    frame = task_rows(warehouse, "engagement", CONFIG).frame
    # recomputed on the sample alone, the median would move; the warehouse's label is kept
    assert (
        BINARY_LABEL in frame and binary_labels("engagement", frame).tolist() == frame[BINARY_LABEL].tolist()
    )


def test_too_few_labelled_snapshots_is_a_skip_with_the_reason(warehouse, tmp_path):
    reports = train_models(
        warehouse, as_of=date(2025, 12, 1), config=CONFIG, registry=ModelRegistry(tmp_path)
    )
    for task in ("churn", "purchase", "engagement"):
        assert reports[task].status == "skipped" and "0 labelled snapshot" in reports[task].reason, reports[
            task
        ]


def test_scoring_in_small_batches_gives_the_scores_of_one_batch(warehouse, tmp_path, monkeypatch):
    registry = ModelRegistry(tmp_path / "models")
    reports = train_models(warehouse, config=CONFIG, registry=registry)
    assert {r.status for r in reports.values()} == {"promoted"}
    card = registry.current("purchase").card
    assert card["sample"]["training_population_rows"] > card["sample"]["training_rows"]
    assert card["as_of_rules"] and card["left_out_features"]

    def scores() -> list[tuple]:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            return con.execute("select task, profile_id, score from ml.predictions order by 1, 2").fetchall()

    whole = score_profiles(warehouse, config=CONFIG, registry=registry)
    before = scores()
    monkeypatch.setattr(ml.features, "BATCH_ROWS", 97)
    batched = score_profiles(warehouse, config=CONFIG, registry=registry)
    assert batched.rows == whole.rows and batched.rows["purchase"] == 1000
    after = scores()
    assert len(after) == len(before) and all(
        a[:2] == b[:2] and a[2] == pytest.approx(b[2], abs=1e-9) for a, b in zip(after, before, strict=True)
    )
