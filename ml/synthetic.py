"""Synthetic feature tables shaped like marts.ml_features, with planted signal: for tests and benchmarks."""

from collections.abc import Iterator
from datetime import date, timedelta

import numpy as np
import pandas as pd

from revloop.config.models import ModelsConfig

COUNTRIES = np.array(
    ["United States", "Germany", "France", "United Kingdom", "Spain", "Brazil"], dtype=object
)


def synthetic_features(
    profiles: int, config: ModelsConfig, anchor: date = date(2026, 6, 1), seed: int = 7
) -> pd.DataFrame:
    """`profiles` profiles on every snapshot of `config` (synthetic_snapshots, in one frame)."""
    return pd.concat(list(synthetic_snapshots(profiles, config, anchor, seed)), ignore_index=True)


def synthetic_snapshots(
    profiles: int, config: ModelsConfig, anchor: date = date(2026, 6, 1), seed: int = 7
) -> Iterator[pd.DataFrame]:
    """`profiles` profiles, one frame per snapshot of `config`, newest first; labels drawn from features
    through a logistic link.

    Churn depends on recency and the engagement trend, purchase on pricing views, demo requests and
    customer status, engagement on recent engagement; each with noise, so a good model reaches an AUC
    around 0.8 to 0.9 and a model on shuffled labels 0.5.
    """
    rng = np.random.default_rng(seed)
    snapshots = config.snapshots
    activity = rng.lognormal(0.0, 0.7, profiles)
    intent = rng.normal(0.0, 1.0, profiles)
    customer = rng.random(profiles) < 0.35
    country = COUNTRIES[rng.integers(0, len(COUNTRIES), profiles)]
    employees = np.round(rng.lognormal(4.8, 1.4, profiles))
    ids = np.char.add("p", np.arange(profiles).astype(str)).astype(object)
    for index in range(snapshots.count):
        as_of = anchor - timedelta(days=snapshots.spacing_days * index)
        drift = rng.normal(0.0, 0.5, profiles)
        recent = rng.poisson(activity * np.exp(drift) * 3)
        previous = rng.poisson(activity * 3)
        pricing = rng.poisson(np.exp(0.9 * intent + drift * 0.3 - 0.5))
        demo = rng.poisson(np.exp(0.7 * intent - 1.5))
        purchases = np.where(customer, rng.poisson(3, profiles) + 1, 0)
        last_purchase = np.where(customer, rng.exponential(60, profiles), np.nan)
        frame = pd.DataFrame(
            {
                "profile_id": ids,
                "as_of_date": as_of,
                "snapshot_index": index,
                "is_scoring_snapshot": index == 0,
                "days_since_last_purchase": np.round(last_purchase),
                "purchase_count": purchases,
                "account_won_deal_count": customer.astype(int),  # every customer's account won a deal
                "meaningful_recent": recent,
                "meaningful_previous": previous,
                "meaningful_trend": recent - previous,
                "pricing_views_history": pricing,
                "demo_requests_history": demo,
                "employee_count": employees,
                "country": country,
                "lifecycle_stage": np.where(customer, "customer", "lead").astype(object),
            }
        )
        churn_logit = 0.02 * np.nan_to_num(last_purchase, nan=0) - 0.35 * (recent - previous) - 1.8
        purchase_logit = 0.8 * pricing + 1.2 * demo + 0.8 * customer - 3.0
        frame["label_churn"] = np.where(customer, rng.random(profiles) < _sigmoid(churn_logit), np.nan)
        frame["label_purchase"] = (rng.random(profiles) < _sigmoid(purchase_logit)).astype(float)
        frame["label_engagement_count"] = rng.poisson(activity * np.exp(0.8 * drift) * 2).astype(float)
        for task, column in (
            ("churn", "label_churn"),
            ("purchase", "label_purchase"),
            ("engagement", "label_engagement_count"),
        ):
            if as_of + timedelta(days=config.tasks.of(task).horizon_days) > anchor:
                frame[column] = np.nan
        yield frame


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))
