"""The baselines: rules that score without labels (calibrated to the observed base rate), the RFM logistic
regression beside every model, the first promotion against the rules, and ml.model_runs rows."""

from datetime import UTC, date, datetime

import duckdb
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from ml.baseline import BASELINE_VERSION, PRIORS, base_rate, calibrate, rfm_baseline_scores, rule_logits
from ml.registry import ModelRegistry
from ml.runs import run_rows
from ml.scoring import score_profiles
from ml.synthetic import synthetic_features
from ml.training import TrainingReport, train_task
from revloop.config.models import ModelsConfig

CONFIG = ModelsConfig.model_validate(
    {
        "snapshots": {"spacing_days": 30, "count": 8},
        "tasks": {
            "churn": {"horizon_days": 60},
            "purchase": {"horizon_days": 60},
            "engagement": {"horizon_days": 30},
        },
    }
)


def _people(**columns) -> pd.DataFrame:
    base = {
        "days_known": [400.0, 400.0],
        "days_since_last_purchase": [np.nan, np.nan],
        "days_since_last_interaction": [np.nan, np.nan],
        "purchase_count": [0, 0],
        "purchase_amount_total": [0.0, 0.0],
        "meaningful_recent": [0, 0],
        "meaningful_history": [0, 0],
        "meaningful_trend": [0, 0],
    }
    return pd.DataFrame({**base, **columns})


def test_rules_rank_the_obvious_cases():
    # a loyal, recently active buyer against someone who bought once long ago and went quiet
    people = _people(
        days_since_last_purchase=[12.0, 500.0],
        days_since_last_interaction=[2.0, 480.0],
        purchase_count=[6, 1],
        meaningful_recent=[9, 0],
        meaningful_history=[20, 0],
        meaningful_trend=[3, -1],
    )
    loyal, lapsed = 0, 1
    purchase, churn, engagement = (rule_logits(task, people) for task in ("purchase", "churn", "engagement"))
    assert purchase[loyal] > purchase[lapsed]
    assert churn[lapsed] > churn[loyal]
    assert engagement[loyal] > engagement[lapsed]


def test_rules_work_without_columns_a_source_does_not_fill():
    frame = pd.DataFrame({"purchase_count": [0, 3]})
    logits = rule_logits("purchase", frame)
    assert logits[1] > logits[0] and np.isfinite(logits).all()


@pytest.mark.parametrize("rate", [0.01, 0.2, 0.7])
def test_calibration_matches_the_base_rate_and_keeps_the_order(rate):
    logits = np.random.default_rng(3).normal(0, 2, 500)
    scores = calibrate(logits, rate)
    assert scores.mean() == pytest.approx(rate, abs=1e-6)
    assert (np.argsort(scores) == np.argsort(logits)).all() and ((scores > 0) & (scores < 1)).all()


def test_base_rate_is_observed_when_purchases_exist_and_a_prior_otherwise():
    bought = _people(days_known=[10.0, 14.0], days_since_last_purchase=[3.0, np.nan], purchase_count=[1, 0])
    observed = base_rate("purchase", bought, CONFIG)
    # two weeks of data: the share who bought in the 14 days seen, not in the 60-day horizon
    assert observed.observed and observed.value == 0.5 and "14 days" in observed.rule
    nobody = _people(days_known=[10.0, 14.0])
    prior = base_rate("purchase", nobody, CONFIG)
    assert not prior.observed and prior.value == PRIORS["purchase"] and "prior" in prior.rule
    # churn needs customers known for a whole horizon: a young shop has none
    young_customers = _people(
        days_known=[10.0, 14.0], days_since_last_purchase=[3.0, 9.0], purchase_count=[1, 1]
    )
    assert base_rate("churn", young_customers, CONFIG).observed is False
    # a colleague's recent win keeps a quiet person of the account from the churn base rate
    at_accounts = _people(
        days_known=[200.0, 200.0],
        days_since_last_purchase=[np.nan, np.nan],
        purchase_count=[0, 0],
        account_won_deal_count=[1, 1],
        days_since_account_win=[10.0, 150.0],
        days_since_last_interaction=[120.0, 120.0],
    )
    churn = base_rate("churn", at_accounts, CONFIG)
    assert churn.observed and churn.value == 0.5 and "account win" in churn.rule


@pytest.fixture(scope="module")
def frame():
    return synthetic_features(800, CONFIG, anchor=date(2026, 6, 1))


def test_the_rfm_baseline_learns_from_recency_frequency_and_money(frame):
    labelled = frame[frame["label_purchase"].notna()]
    dates = sorted(set(labelled["as_of_date"]))
    train, holdout = (
        labelled[labelled["as_of_date"] < dates[-1]],
        labelled[labelled["as_of_date"] == dates[-1]],
    )
    scores = rfm_baseline_scores("purchase", train, train["label_purchase"].to_numpy(int), holdout, seed=7)
    # the planted purchase signal includes being a customer, which purchase_count reveals
    assert roc_auc_score(holdout["label_purchase"].to_numpy(int), scores) > 0.55
    # without any RFM column the baseline is a constant: AUC 0.5, never an error
    bare = train.drop(columns=["days_since_last_purchase", "purchase_count"])
    constant = rfm_baseline_scores("purchase", bare, train["label_purchase"].to_numpy(int), holdout, seed=7)
    assert len(set(constant)) == 1


def test_a_first_model_that_does_not_beat_the_rules_leaves_the_baseline_scoring(frame, tmp_path):
    # labels that only the rules' features explain: days since the last purchase
    frame = frame.copy()
    frame["label_purchase"] = np.where(
        frame["label_purchase"].notna(),
        (frame["days_since_last_purchase"].fillna(999) < 40).astype(float),
        np.nan,
    )
    registry = ModelRegistry(tmp_path)
    shuffled = frame.copy()
    rng = np.random.default_rng(5)
    labelled = shuffled["label_purchase"].notna()
    holdout = shuffled["as_of_date"] == max(shuffled.loc[labelled, "as_of_date"])
    training = labelled & ~holdout
    shuffled.loc[training, "label_purchase"] = rng.permutation(
        shuffled.loc[training, "label_purchase"].to_numpy()
    )
    report = train_task("purchase", shuffled, CONFIG, registry)
    assert report.status == "kept", report.reason
    assert report.metrics["auc"] < report.metrics["rules_auc"]
    assert "does not beat the baseline rules" in report.reason and report.current_version == BASELINE_VERSION
    assert registry.current("purchase") is None
    assert registry.get("purchase", report.version).card["promoted"] is False


def test_model_runs_rows_keep_refusals_and_metrics():
    at = datetime(2026, 12, 6, tzinfo=UTC)
    skipped = TrainingReport("churn", "skipped", "churn: 0 labelled snapshot(s)", current_version="baseline")
    promoted = TrainingReport(
        "purchase",
        "promoted",
        "first model",
        version="v1",
        current_version="v1",
        metrics={
            "auc": 0.8,
            "pr_auc": 0.3,
            "brier": 0.05,
            "baseline_auc": 0.7,
            "rules_auc": 0.72,
            "training_rows": 900,
            "holdout_rows": 300,
            "holdout_positive_rate": 0.05,
        },
    )
    rows = run_rows([skipped, promoted], at).to_pylist()
    assert rows[0]["promoted"] is False and rows[0]["version"] is None and rows[0]["auc"] is None
    assert rows[0]["reason"] == "churn: 0 labelled snapshot(s)" and rows[0]["current_version"] == "baseline"
    assert rows[1]["promoted"] is True and (rows[1]["auc"], rows[1]["baseline_auc"]) == (0.8, 0.7)
    assert rows[1]["training_rows"] == 900 and rows[1]["trained_at"] == at


def test_scoring_without_models_writes_baseline_scores_for_everyone(frame, tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    features = frame.assign(
        days_known=400.0, days_since_last_interaction=5.0, meaningful_history=frame["meaningful_recent"]
    )
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts")
        con.register("features", features)
        con.execute("create table marts.ml_features as select * from features")
    registry = ModelRegistry(tmp_path / "models")
    report = score_profiles(warehouse, config=CONFIG, registry=registry)
    scoring = features[features["is_scoring_snapshot"]]
    customers = int((scoring["purchase_count"] > 0).sum())
    assert report.rows == {"churn": customers, "purchase": len(scoring), "engagement": len(scoring)}
    assert report.model_versions == dict.fromkeys(("churn", "purchase", "engagement"), BASELINE_VERSION)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select task, count(*), avg(score), min(score), max(score), count(distinct model_version) "
            "from ml.predictions group by task order by task"
        ).fetchall()
    by_task = {task: rest for task, *rest in rows}
    for task, (count, mean, low, high, versions) in by_task.items():
        assert count == report.rows[task]
        card = registry.baseline_card(task)
        assert card["version"] == BASELINE_VERSION and "no trained model yet" in card["why"]
        assert mean == pytest.approx(card["base_rate"], abs=1e-6) and 0 < low <= high < 1 and versions == 1
    assert report.metadata()["purchase_model_version"] == BASELINE_VERSION
