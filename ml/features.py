"""The feature table marts.ml_features, read from the warehouse, and which of its columns are features."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from revloop.warehouse import Connection, connect_warehouse, table_exists, warehouse_path

FEATURES_SCHEMA, FEATURES_TABLE = "marts", "ml_features"
KEY_COLUMNS = ("profile_id", "as_of_date", "snapshot_index", "is_scoring_snapshot")
LABEL_PREFIX = "label_"
BUILD_HINT = "build it first: python -m revloop.dbt build --select +ml_features"


class FeaturesMissing(RuntimeError):
    """The warehouse has no marts.ml_features table (dbt has not built it)."""


@dataclass(frozen=True)
class FeatureSet:
    """The feature columns of a feature table: numbers, and text categories."""

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]

    @property
    def columns(self) -> list[str]:
        return [*self.numeric, *self.categorical]


# rows per Arrow batch read from the warehouse: a batch of 60 float32 features is ~25 MB
BATCH_ROWS = 100_000
# DuckDB column types read as numbers (float32 once read); every other type is a text category
NUMERIC_TYPES = (
    "BOOLEAN",
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "FLOAT",
    "DOUBLE",
    "DECIMAL",
)


def open_features(warehouse: Path | None = None) -> Connection:
    """A read-only connection to the warehouse, which must hold marts.ml_features (FeaturesMissing)."""
    path = Path(warehouse or warehouse_path())
    if not path.exists():
        raise FeaturesMissing(f"{path}: no warehouse file; {BUILD_HINT}")
    con = connect_warehouse(path, read_only=True)
    con.execute("set enable_progress_bar = false")  # long reads would draw a bar on the caller's terminal
    if not table_exists(con, f"{FEATURES_SCHEMA}.{FEATURES_TABLE}"):
        con.close()
        raise FeaturesMissing(f"{path}: no table {FEATURES_SCHEMA}.{FEATURES_TABLE}; {BUILD_HINT}")
    return con


def narrow_columns(con: Connection, alias: str = "") -> str:
    """The select list of marts.ml_features with every number (booleans included) as float32, keys and
    labels as they are: a million rows of 60 features take 240 MB instead of twice that or more."""
    rows = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [FEATURES_SCHEMA, FEATURES_TABLE],
    ).fetchall()
    prefix = f"{alias}." if alias else ""
    columns = []
    for name, data_type in rows:
        quoted = f'{prefix}"{name}"'
        numeric = data_type.split("(")[0].upper() in NUMERIC_TYPES
        if name in KEY_COLUMNS or name.startswith(LABEL_PREFIX) or not numeric:
            columns.append(quoted)
        else:
            columns.append(f'cast({quoted} as float) as "{name}"')
    return ", ".join(columns)


def read_frame(con: Connection, sql: str) -> pd.DataFrame:
    """The rows of a query, read in Arrow batches of BATCH_ROWS (as_of_date as datetime.date)."""
    return pd.concat(list(read_batches(con, sql)), ignore_index=True)


def read_batches(con: Connection, sql: str) -> Iterator[pd.DataFrame]:
    """The rows of a query as DataFrames of at most BATCH_ROWS rows; an empty result yields one empty frame
    with the query's columns."""
    reader = con.sql(sql).to_arrow_reader(BATCH_ROWS)
    empty = True
    for batch in reader:
        empty = False
        yield batch.to_pandas()
    if empty:
        yield reader.schema.empty_table().to_pandas()


def read_features(warehouse: Path | None = None, scoring_only: bool = False) -> pd.DataFrame:
    """The rows of marts.ml_features (only the scoring snapshot's with scoring_only), numbers as float32,
    in a stable order so that training is reproducible. Whole: for tests and small warehouses."""
    with open_features(warehouse) as con:
        where = "where is_scoring_snapshot" if scoring_only else ""
        return read_frame(
            con,
            f"select {narrow_columns(con)} from {FEATURES_SCHEMA}.{FEATURES_TABLE} {where} "
            "order by as_of_date, profile_id",
        )


def feature_set(frame: pd.DataFrame) -> FeatureSet:
    """Every column that is neither a key nor a label, split by type: new dbt columns become features."""
    numeric, categorical = [], []
    for column in frame.columns:
        if column in KEY_COLUMNS or column.startswith(LABEL_PREFIX):
            continue
        if pd.api.types.is_bool_dtype(frame[column]) or pd.api.types.is_numeric_dtype(frame[column]):
            numeric.append(column)
        else:
            categorical.append(column)
    return FeatureSet(tuple(numeric), tuple(categorical))


def feature_matrix(frame: pd.DataFrame, features: FeatureSet) -> pd.DataFrame:
    """The feature columns in model order: numbers as floats, categories as text; missing values are NaN."""
    missing = [column for column in features.columns if column not in frame.columns]
    if missing:
        raise KeyError(f"the feature table lacks columns the model needs: {', '.join(missing)}")
    matrix = pd.DataFrame(index=frame.index)
    for column in features.numeric:
        matrix[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    for column in features.categorical:
        values = frame[column].astype("object")
        # NaN, not None, marks a missing category: scikit-learn's encoders treat it as missing
        matrix[column] = values.map(lambda v: v if pd.isna(v) else str(v)).where(values.notna(), np.nan)
    return matrix


# Fewer values than this and a column can be empty in one of the calibration folds, which the gradient
# boosting's binning refuses (a warehouse without events leaves engagement columns all but empty).
MIN_FEATURE_VALUES = 30


def present_features(features: FeatureSet, frame: pd.DataFrame) -> FeatureSet:
    """The features with at least MIN_FEATURE_VALUES values in `frame`: a warehouse without a source (no CRM,
    no events) leaves some columns empty, and a model cannot learn from a column hardly ever set."""
    present = frame.notna().sum()
    return FeatureSet(
        tuple(c for c in features.numeric if present[c] >= MIN_FEATURE_VALUES),
        tuple(c for c in features.categorical if present[c] >= MIN_FEATURE_VALUES),
    )


# How each group of marts.ml_features columns is read as of a snapshot's date (the model card repeats it).
AS_OF_RULES: dict[str, str] = {
    "engagement (interactions, channels, pricing views, demo requests, ...)": (
        "touchpoints on days before the as-of date"
    ),
    "purchases (purchase_count, days_since_*_purchase, amounts)": (
        "Order Completed events and won deals the profile is a buyer of (Salesforce primary contact role, "
        "HubSpot associated contact), closed before the as-of date"
    ),
    "deals (open_deal_count, lost_deal_count)": (
        "the profile's own deals created before the as-of date, its contact role (HubSpot: association) "
        "existing before it, open or closed as of it"
    ),
    "account (account_open_deal_count, account_won_deal_count, days_since_account_win)": (
        "deals created (and won) before the as-of date of the accounts the profile was at before it: from "
        "its contact's creation there (HubSpot: once contact and company existed). A colleague's win is this "
        "feature, never the profile's purchase label. The account is the contact's account today: the CRMs "
        "keep no history of a contact moving, nor dates of HubSpot associations"
    ),
    "lifecycle_stage, has_crm_lead, has_crm_contact": (
        "rebuilt from purchases, deals and CRM records created before the as-of date: customer exactly when "
        "the profile is in the churn population (it bought, or its account won a deal, before the date), "
        "else opportunity (own open deal), lead (a CRM record) or visitor"
    ),
    "firmographics (industry, country, job_seniority, employee_count)": (
        "the latest value the profile's own events stated before the as-of date"
    ),
    "labels (label_*)": "only the days from the as-of date on; null until the whole horizon has passed",
    "churn population and label (label_churn)": (
        "customers are people who bought or whose account won a deal before the as-of date (the relationship "
        "is the account's); not churned when they or their account buy (a deal of the account won in the "
        "label window, whenever created) or they engage in the window. Account wins from the as-of date on "
        "reach only this label, never a feature; purchase labels stay the buyers' own"
    ),
}

# Columns the warehouse has no history of: not in marts.ml_features, so no model reads them as of a date.
NO_HISTORY: dict[str, str] = {
    "CRM firmographics (industry, country, job title, employees, annual revenue) and the company match": (
        "the CRM tables keep only today's values (dlt merges each change over the last): read as of an "
        "older date they would leak what happened after it"
    ),
    "CRM-stated lifecycle stage and lead status (HubSpot lifecyclestage, hs_lead_status; Salesforce Lead "
    "Status, IsConverted)": (
        "today's values only (a contact becomes 'customer' when it buys): lifecycle_stage is rebuilt from "
        "dated deals and records instead"
    ),
    "stage, probability, amount and expected close date of open deals": (
        "today's values only: an open deal counts as of a date only by its creation and close dates"
    ),
}


def left_out_features(available: FeatureSet, used: FeatureSet) -> dict[str, str]:
    """Why each feature the model does not use is left out: no history in the warehouse, or too rarely set
    in the training rows (a source this warehouse lacks)."""
    reasons = dict(NO_HISTORY)
    for column in available.columns:
        if column not in used.columns:
            reasons[column] = (
                f"set in fewer than {MIN_FEATURE_VALUES} training rows: no source of this warehouse "
                "states it as of the training snapshots"
            )
    return reasons
