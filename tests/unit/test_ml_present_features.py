"""Which feature columns a model may use: only those set often enough to appear in every calibration fold."""

import numpy as np
import pandas as pd

from ml.features import MIN_FEATURE_VALUES, FeatureSet, present_features


def test_columns_hardly_ever_set_are_left_out():
    rows = 200
    frame = pd.DataFrame(
        {
            "orders": np.arange(rows, dtype=float),
            "email_opens": [1.0] * 5 + [np.nan] * (rows - 5),  # a warehouse without events
            "sessions": [1.0] * MIN_FEATURE_VALUES + [np.nan] * (rows - MIN_FEATURE_VALUES),
            "industry": ["Education"] * rows,
            "device": ["ios"] * 3 + [None] * (rows - 3),
            "never": [np.nan] * rows,
        }
    )
    features = FeatureSet(("orders", "email_opens", "sessions", "never"), ("industry", "device"))
    assert present_features(features, frame) == FeatureSet(("orders", "sessions"), ("industry",))
