"""The feature table marts.ml_features, read from the warehouse, and which of its columns are features."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ingestion.warehouse import connect_warehouse, table_exists, warehouse_path

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


def read_features(warehouse: Path | None = None, scoring_only: bool = False) -> pd.DataFrame:
    """The rows of marts.ml_features (only the scoring snapshot's with scoring_only), in a stable order so
    that training is reproducible."""
    path = Path(warehouse or warehouse_path())
    if not path.exists():
        raise FeaturesMissing(f"{path}: no warehouse file; {BUILD_HINT}")
    with connect_warehouse(path, read_only=True) as con:
        if not table_exists(con, f"{FEATURES_SCHEMA}.{FEATURES_TABLE}"):
            raise FeaturesMissing(f"{path}: no table {FEATURES_SCHEMA}.{FEATURES_TABLE}; {BUILD_HINT}")
        where = "where is_scoring_snapshot" if scoring_only else ""
        frame = con.sql(
            f"select * from {FEATURES_SCHEMA}.{FEATURES_TABLE} {where} order by as_of_date, profile_id"
        ).df()
    frame["as_of_date"] = pd.to_datetime(frame["as_of_date"]).dt.date
    return frame


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
