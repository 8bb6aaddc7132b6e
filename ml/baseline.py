"""Baselines of the three tasks: rules that score without any label, and the plain RFM logistic regression.

Rules (version "baseline") score a task until a trained model beats them on the holdout: a young or small
installation has no label window behind it yet, and a score from recency, frequency, money and the
engagement trend beats a null. Each rule is a fixed logistic score over a few features of marts.ml_features,
shifted so that its mean equals the base rate observed in the warehouse (the prior below when none is seen):

- purchase: more orders, a recent order and recent meaningful engagement raise it;
- churn (customers: they or their account bought): a long time since the last order or interaction and
  fading engagement raise it;
- engagement: recent and rising meaningful engagement raise it.

The RFM logistic regression is the yardstick of every training run: fitted on the same training snapshots
and evaluated on the same holdout as the model, its AUC stands beside the model's in the report.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit

from ml.features import FeatureSet, feature_matrix
from ml.pipelines import BUILDERS, signed_log1p
from ml.tasks import CHURN_POPULATION_COLUMNS, eligible_for_scoring
from revloop.config.models import ModelsConfig, TaskName

BASELINE_VERSION = "baseline"

# recency, frequency and monetary value of purchases; of interactions for engagement (it has no money)
RFM_FEATURES: dict[TaskName, tuple[str, ...]] = {
    "purchase": ("days_since_last_purchase", "purchase_count", "purchase_amount_total"),
    "churn": ("days_since_last_purchase", "purchase_count", "purchase_amount_total"),
    "engagement": ("days_since_last_interaction", "meaningful_recent", "meaningful_history"),
}

# rule weights on log(1 + feature) (signed for trends); a never-seen recency counts as NEVER_DAYS
RULES: dict[TaskName, dict[str, float]] = {
    "purchase": {
        "purchase_count": 1.0,
        "days_since_last_purchase": -0.6,
        "meaningful_recent": 0.5,
        "meaningful_trend": 0.2,
    },
    "churn": {
        "days_since_last_purchase": 0.6,
        "days_since_last_interaction": 0.4,
        "purchase_count": -0.4,
        "meaningful_recent": -0.5,
        "meaningful_trend": -0.3,
    },
    "engagement": {
        "meaningful_recent": 1.0,
        "meaningful_history": 0.4,
        "meaningful_trend": 0.3,
        "days_since_last_interaction": -0.4,
    },
}
NEVER_DAYS = 730.0
# base rates assumed while the warehouse shows none (no purchase yet, no customer old enough to churn)
PRIORS: dict[TaskName, float] = {"purchase": 0.05, "churn": 0.3, "engagement": 0.3}


@dataclass(frozen=True)
class BaseRate:
    """The share of profiles a rule's scores average to, and where it comes from."""

    value: float
    observed: bool
    rule: str


def baseline_columns(task: TaskName) -> tuple[str, ...]:
    """The feature columns the task's rules and base rate read (the scoring snapshot needs no more)."""
    base = ("days_known", "purchase_count", "days_since_last_purchase", "days_since_last_interaction")
    churn = (*CHURN_POPULATION_COLUMNS, "days_since_account_win") if task == "churn" else ()
    return tuple(dict.fromkeys((*base, *churn, "meaningful_recent", *RULES[task])))


def rule_logits(task: TaskName, frame: pd.DataFrame) -> np.ndarray:
    """The uncalibrated rule score of each row (higher: more likely); rows lacking a feature count it as 0."""
    total = np.zeros(len(frame))
    for column, weight in RULES[task].items():
        if column not in frame.columns:
            continue
        values = pd.to_numeric(frame[column], errors="coerce").astype("float64")
        if column.startswith("days_since"):
            values = values.fillna(NEVER_DAYS)
        total += weight * signed_log1p(values.fillna(0.0).to_numpy())
    return total


def base_rate(task: TaskName, frame: pd.DataFrame, config: ModelsConfig) -> BaseRate:
    """The task's base rate seen in the scoring snapshot `frame`, over min(horizon, days observed) days."""
    task_config = config.tasks.of(task)
    observed_days = float(frame["days_known"].max()) if len(frame) else 0.0
    window = min(task_config.horizon_days, observed_days)
    eligible = frame[eligible_for_scoring(task, frame)]
    since_purchase = eligible["days_since_last_purchase"].astype("float64")
    if task == "purchase":
        rule = f"profiles who bought in the last {window:.0f} days"
        share = float((since_purchase <= window).mean()) if len(eligible) and window > 0 else 0.0
    elif task == "churn":
        # customers known a whole horizon who neither bought (nor did their account) nor interacted in it
        old = eligible[eligible["days_known"] >= task_config.horizon_days]
        rule = (
            f"customers with no order, no account win and no interaction in the last "
            f"{task_config.horizon_days} days"
        )
        last_bought = old["days_since_last_purchase"].astype("float64").fillna(NEVER_DAYS)
        if "days_since_account_win" in old.columns:
            account_win = old["days_since_account_win"].astype("float64").fillna(NEVER_DAYS)
            last_bought = last_bought.clip(upper=account_win)
        quiet = (last_bought > task_config.horizon_days) & (
            old["days_since_last_interaction"].fillna(NEVER_DAYS) > task_config.horizon_days
        )
        share = float(quiet.mean()) if len(old) else 0.0
    else:
        recent = eligible["meaningful_recent"].astype("float64")
        rule = "profiles with more recent meaningful interactions than the median profile"
        share = float((recent > recent.median()).mean()) if len(eligible) else 0.0
    if 0.0 < share < 1.0:
        return BaseRate(share, True, rule)
    return BaseRate(PRIORS[task], False, f"prior (none observed: {rule})")


def calibrate(logits: np.ndarray, rate: float) -> np.ndarray:
    """sigmoid(logits + shift), with the shift that makes the mean score equal `rate`."""
    if len(logits) == 0:
        return np.empty(0)
    shift = brentq(lambda s: float(expit(logits + s).mean()) - rate, -60.0, 60.0)
    return expit(logits + shift)


def rule_scores(task: TaskName, frame: pd.DataFrame, rate: BaseRate) -> np.ndarray:
    """Calibrated rule scores of every row of `frame` (the caller keeps the eligible rows)."""
    return calibrate(rule_logits(task, frame), rate.value)


def rfm_baseline_scores(
    task: TaskName, train: pd.DataFrame, y_train: np.ndarray, holdout: pd.DataFrame, seed: int
) -> np.ndarray:
    """Holdout probabilities of the logistic regression on the task's RFM features (median-filled, with a
    missing-value indicator, log-scaled), fitted on the training rows; constant without any RFM feature."""
    features = FeatureSet(tuple(c for c in RFM_FEATURES[task] if c in train and train[c].notna().any()), ())
    if not features.numeric:
        return np.zeros(len(holdout))
    model = BUILDERS["logistic_regression"](features, seed)
    model.fit(feature_matrix(train, features), y_train)
    return model.predict_proba(feature_matrix(holdout, features))[:, 1]


def baseline_card(task: TaskName, rate: BaseRate, reason: str) -> dict:
    """What the baseline of a task is, for its card beside the registry's versions."""
    return {
        "task": task,
        "version": BASELINE_VERSION,
        "kind": "rules",
        "why": reason,
        "weights_on_log1p": RULES[task],
        "never_days": NEVER_DAYS,
        "base_rate": rate.value,
        "base_rate_observed": rate.observed,
        "base_rate_rule": rate.rule,
        "eligible": "customers (they or their account bought before)" if task == "churn" else "every profile",
    }
