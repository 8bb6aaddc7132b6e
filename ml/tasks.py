"""The three prediction tasks: which rows of the feature table each one learns from, its label, its split."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from revloop.config.models import ModelsConfig, TaskName

# the feature-table column each task's label comes from, and the profile column its score fills
LABEL_COLUMNS: dict[TaskName, str] = {
    "churn": "label_churn",
    "purchase": "label_purchase",
    "engagement": "label_engagement_count",
}
PROFILE_COLUMNS: dict[TaskName, str] = {
    "churn": "churn_risk",
    "purchase": "purchase_likelihood",
    "engagement": "engagement_potential",
}
# the 0/1 label computed where rows were sampled (the warehouse sees every row of a snapshot; the engagement
# median must be the snapshot's, not the sample's)
BINARY_LABEL = "label_binary"
# a holdout larger than this is sampled down (stratified on the label): its AUC is then known to +-0.002
MAX_HOLDOUT_ROWS = 200_000


class NotEnoughData(ValueError):
    """The feature table cannot train or evaluate this task (too few snapshots, rows or examples)."""


@dataclass(frozen=True)
class TaskSplit:
    """Rows and binary labels of one task, split by time into training and holdout snapshots."""

    task: TaskName
    train: pd.DataFrame
    y_train: np.ndarray
    holdout: pd.DataFrame
    y_holdout: np.ndarray
    train_dates: tuple[date, ...]
    holdout_dates: tuple[date, ...]
    population: dict[str, int]  # labelled rows of the training and holdout snapshots before sampling


# who churn is about: in B2B the customer relationship is the account's, so a person is a customer when they
# bought before the as-of date or their account won a deal before it (marts.ml_features' label_churn)
CHURN_POPULATION_COLUMNS = ("purchase_count", "account_won_deal_count")


def eligible_for_scoring(task: TaskName, frame: pd.DataFrame) -> pd.Series:
    """Rows a task predicts for: churn only for customers (who bought, or whose account won a deal, before
    the as-of date), the others for everyone."""
    if task == "churn":
        customer = pd.Series(False, index=frame.index)
        for column in CHURN_POPULATION_COLUMNS:
            if column in frame.columns:
                customer |= frame[column].fillna(0) > 0
        return customer
    return pd.Series(True, index=frame.index)


def binary_labels(task: TaskName, labelled: pd.DataFrame) -> np.ndarray:
    """The 0/1 label of labelled rows; engagement: more future interactions than the snapshot's median (of
    every row of the snapshot: the BINARY_LABEL column where the warehouse sampled the rows)."""
    if BINARY_LABEL in labelled.columns:
        return labelled[BINARY_LABEL].to_numpy(dtype=np.int64)
    values = labelled[LABEL_COLUMNS[task]].astype("float64")
    if task != "engagement":
        return values.to_numpy(dtype=np.int64)
    median = values.groupby(labelled["as_of_date"]).transform("median")
    return (values > median).to_numpy(dtype=np.int64)


def task_dates(
    task: TaskName, labelled_dates: Iterable[date], config: ModelsConfig, as_of: date | None = None
) -> tuple[tuple[date, ...], tuple[date, ...]]:
    """(training dates, holdout dates) of a task among the as-of dates that carry its label: the newest
    labelled snapshot(s) are the holdout; training keeps only the snapshots whose label window ends before
    the holdout's first as-of date, so no training label sees holdout time. `as_of`: train as if today were
    that date (only labels whose whole window lies before it)."""
    horizon = timedelta(days=config.tasks.of(task).horizon_days)
    dates = sorted(set(labelled_dates))
    if as_of is not None:
        dates = [d for d in dates if d + horizon <= as_of]
    count = config.snapshots.holdout_snapshots
    if len(dates) <= count:
        raise NotEnoughData(f"{task}: {len(dates)} labelled snapshot(s), need more than {count}")
    holdout_dates = tuple(dates[-count:])
    train_dates = tuple(d for d in dates if d + horizon <= holdout_dates[0])
    if not train_dates:
        raise NotEnoughData(
            f"{task}: no snapshot ends its {horizon.days}-day label window before the holdout "
            f"({holdout_dates[0]}); add snapshots or shorten the horizon"
        )
    return train_dates, holdout_dates


def stratified_positions(y: np.ndarray, limit: int, seed: int) -> np.ndarray:
    """Positions of at most about `limit` rows, each label value keeping its share (seeded), in order."""
    if len(y) <= limit:
        return np.arange(len(y))
    rng = np.random.default_rng(seed)
    kept = []
    for value in np.unique(y):
        positions = np.flatnonzero(y == value)
        take = min(len(positions), int(np.ceil(len(positions) * limit / len(y))))
        kept.append(rng.choice(positions, take, replace=False))
    return np.sort(np.concatenate(kept))


def split(task: TaskName, frame: pd.DataFrame, config: ModelsConfig, as_of: date | None = None) -> TaskSplit:
    """Time-based split (task_dates) of the labelled rows a task learns from; training beyond
    max_training_rows and a holdout beyond MAX_HOLDOUT_ROWS are sampled down, stratified on the label."""
    labelled = frame[frame[LABEL_COLUMNS[task]].notna() & eligible_for_scoring(task, frame)]
    train_dates, holdout_dates = task_dates(task, labelled["as_of_date"], config, as_of)
    seed = config.training.random_seed
    parts, population = [], {}
    for part, dates, limit in (
        ("training", train_dates, config.training.max_training_rows),
        ("holdout", holdout_dates, MAX_HOLDOUT_ROWS),
    ):
        rows = labelled[labelled["as_of_date"].isin(dates)]
        y = binary_labels(task, rows)
        kept = stratified_positions(y, limit, seed)
        parts += [rows.iloc[kept], y[kept]]
        population[part] = len(rows)
    train, y_train, holdout, y_holdout = parts
    _check_examples(
        task, "training", y_train, config.training.min_training_rows, config.training.min_class_examples
    )
    _check_examples(task, "holdout", y_holdout, 1, 1)
    return TaskSplit(task, train, y_train, holdout, y_holdout, train_dates, holdout_dates, population)


def _check_examples(task: str, part: str, y: np.ndarray, min_rows: int, min_class: int) -> None:
    positives = int(y.sum())
    negatives = len(y) - positives
    if len(y) < min_rows or positives < min_class or negatives < min_class:
        raise NotEnoughData(
            f"{task}: {part} set has {len(y)} rows ({positives} positive, {negatives} negative); "
            f"needs {min_rows} rows and {min_class} of each class"
        )
