"""The rows one task learns from, sampled in the warehouse: its training and holdout snapshots only, each
stratified on the label and capped (max_training_rows, MAX_HOLDOUT_ROWS), read in Arrow batches.

A million profiles on twelve snapshots are twelve million rows; a task reads at most the cap of each part.
"""

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from ml.features import FEATURES_SCHEMA, FEATURES_TABLE, narrow_columns, open_features, read_frame
from ml.tasks import BINARY_LABEL, CHURN_POPULATION_COLUMNS, MAX_HOLDOUT_ROWS, task_dates
from revloop.config.models import ModelsConfig, TaskName

FEATURES = f"{FEATURES_SCHEMA}.{FEATURES_TABLE}"

# each task's 0/1 label and the rows that carry it, as SQL over marts.ml_features (alias f) joined to the
# snapshot's median future engagement (alias medians): the same rules as ml.tasks on a DataFrame
LABELS: dict[TaskName, tuple[str, str]] = {
    "churn": (
        "f.label_churn",
        "f.label_churn is not null and ("
        + " or ".join(f"coalesce(f.{column}, 0) > 0" for column in CHURN_POPULATION_COLUMNS)
        + ")",
    ),
    "purchase": ("f.label_purchase", "f.label_purchase is not null"),
    "engagement": (
        "case when f.label_engagement_count > medians.snapshot_median then 1 else 0 end",
        "f.label_engagement_count is not null",
    ),
}

MEDIANS = f"""
    select as_of_date, median(label_engagement_count) as snapshot_median
    from {FEATURES} where label_engagement_count is not null group by as_of_date
"""


@dataclass(frozen=True)
class TaskRows:
    """The sampled rows of one task (BINARY_LABEL holds the label) and how many rows each part had."""

    frame: pd.DataFrame
    population: dict[str, int]  # rows of the training and holdout snapshots before sampling


def _dates_sql(dates: tuple[date, ...]) -> str:
    return ", ".join(f"date '{d.isoformat()}'" for d in dates)


def labelled_dates(con: duckdb.DuckDBPyConnection, task: TaskName) -> list[date]:
    """The as-of dates on which the task has labelled rows."""
    _, where = LABELS[task]
    return [
        row[0]
        for row in con.execute(f"select distinct as_of_date from {FEATURES} as f where {where}").fetchall()
    ]


def sample_sql(
    con: duckdb.DuckDBPyConnection,
    task: TaskName,
    train: tuple[date, ...],
    holdout: tuple[date, ...],
    config: ModelsConfig,
) -> str:
    """A query for the task's training and holdout rows: per part and label value the same share of rows
    (ranked by a seeded hash of the key), at most max_training_rows and MAX_HOLDOUT_ROWS per part."""
    label, where = LABELS[task]
    seed = int(config.training.random_seed)
    return f"""
        with medians as ({MEDIANS}),
        labelled as (
            select
                f.profile_id,
                f.as_of_date,
                cast({label} as integer) as {BINARY_LABEL},
                f.as_of_date in ({_dates_sql(holdout)}) as is_holdout
            from {FEATURES} as f
            left join medians on medians.as_of_date = f.as_of_date
            where {where} and f.as_of_date in ({_dates_sql(train + holdout)})
        ),
        ranked as (
            select
                *,
                row_number() over (
                    partition by is_holdout, {BINARY_LABEL} order by hash(profile_id, as_of_date, {seed}),
                    profile_id, as_of_date
                ) as position,
                count(*) over (partition by is_holdout, {BINARY_LABEL}) as stratum_rows,
                count(*) over (partition by is_holdout) as part_rows
            from labelled
        )
        select {narrow_columns(con, "f")}, ranked.{BINARY_LABEL}, ranked.is_holdout, ranked.part_rows
        from ranked
        inner join {FEATURES} as f on f.profile_id = ranked.profile_id and f.as_of_date = ranked.as_of_date
        where ranked.position <= ceil(ranked.stratum_rows * least(
            1.0, (case when ranked.is_holdout then {MAX_HOLDOUT_ROWS} else {config.training.max_training_rows}
                end) / ranked.part_rows))
        order by f.as_of_date, f.profile_id
    """


def task_rows(warehouse: Path, task: TaskName, config: ModelsConfig, as_of: date | None = None) -> TaskRows:
    """The sampled training and holdout rows of a task (NotEnoughData without enough labelled snapshots)."""
    with open_features(warehouse) as con:
        train, holdout = task_dates(task, labelled_dates(con, task), config, as_of)
        frame = read_frame(con, sample_sql(con, task, train, holdout, config))
    population = {"training": 0, "holdout": 0}
    for is_holdout, rows in frame.groupby("is_holdout")["part_rows"].first().items():
        population["holdout" if is_holdout else "training"] = int(rows)
    return TaskRows(frame.drop(columns=["is_holdout", "part_rows"]), population)
