"""The three prediction tasks: which rows of the feature table each one learns from, its label, its split."""

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


def eligible_for_scoring(task: TaskName, frame: pd.DataFrame) -> pd.Series:
    """Rows a task predicts for: churn only for customers (who bought before), the others for everyone."""
    if task == "churn":
        return frame["purchase_count"].fillna(0) > 0
    return pd.Series(True, index=frame.index)


def binary_labels(task: TaskName, labelled: pd.DataFrame) -> np.ndarray:
    """The 0/1 label of labelled rows; engagement: more future interactions than the snapshot's median."""
    values = labelled[LABEL_COLUMNS[task]].astype("float64")
    if task != "engagement":
        return values.to_numpy(dtype=np.int64)
    median = values.groupby(labelled["as_of_date"]).transform("median")
    return (values > median).to_numpy(dtype=np.int64)


def split(task: TaskName, frame: pd.DataFrame, config: ModelsConfig, as_of: date | None = None) -> TaskSplit:
    """Time-based split: the newest labelled snapshot(s) are the holdout; training keeps only the snapshots
    whose label window ends before the holdout's first as-of date, so no training label sees holdout time."""
    horizon = timedelta(days=config.tasks.of(task).horizon_days)
    labelled = frame[frame[LABEL_COLUMNS[task]].notna() & eligible_for_scoring(task, frame)]
    if as_of is not None:
        # train as if today were as_of: only labels whose whole window lies before it
        labelled = labelled[labelled["as_of_date"].map(lambda d: d + horizon <= as_of)]
    dates = sorted(set(labelled["as_of_date"]))
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
    train = labelled[labelled["as_of_date"].isin(train_dates)]
    if len(train) > config.training.max_training_rows:
        train = train.sample(config.training.max_training_rows, random_state=config.training.random_seed)
        train = train.sort_index()
    holdout = labelled[labelled["as_of_date"].isin(holdout_dates)]
    y_train, y_holdout = binary_labels(task, train), binary_labels(task, holdout)
    _check_examples(
        task, "training", y_train, config.training.min_training_rows, config.training.min_class_examples
    )
    _check_examples(task, "holdout", y_holdout, 1, 1)
    return TaskSplit(task, train, y_train, holdout, y_holdout, train_dates, holdout_dates)


def _check_examples(task: str, part: str, y: np.ndarray, min_rows: int, min_class: int) -> None:
    positives = int(y.sum())
    negatives = len(y) - positives
    if len(y) < min_rows or positives < min_class or negatives < min_class:
        raise NotEnoughData(
            f"{task}: {part} set has {len(y)} rows ({positives} positive, {negatives} negative); "
            f"needs {min_rows} rows and {min_class} of each class"
        )
