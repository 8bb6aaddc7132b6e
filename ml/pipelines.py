"""scikit-learn pipelines per estimator: preprocessing, a classifier, probability calibration."""

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler

from ml.features import FeatureSet
from revloop.config.models import Estimator

# isotonic calibration overfits small samples; below this many examples of the rarer class, Platt scaling
MIN_CLASS_FOR_ISOTONIC = 200
CALIBRATION_FOLDS = 3


def signed_log1p(values: np.ndarray) -> np.ndarray:
    """log(1 + |x|) with the sign of x: compresses counts, amounts and (negative) trends alike."""
    return np.sign(values) * np.log1p(np.abs(values))


def _gradient_boosting(features: FeatureSet, seed: int) -> Pipeline:
    encode = ColumnTransformer(
        [
            (
                "categories",
                OrdinalEncoder(
                    handle_unknown="use_encoded_value",
                    unknown_value=np.nan,
                    encoded_missing_value=np.nan,
                    max_categories=60,
                ),
                list(features.categorical),
            ),
            ("numbers", "passthrough", list(features.numeric)),
        ],
        verbose_feature_names_out=False,
    )
    categorical = [True] * len(features.categorical) + [False] * len(features.numeric)
    model = HistGradientBoostingClassifier(
        learning_rate=0.06,
        max_iter=250,
        max_leaf_nodes=15,
        min_samples_leaf=20,
        l2_regularization=1.0,
        categorical_features=categorical if any(categorical) else None,
        early_stopping=False,
        random_state=seed,
    )
    return Pipeline([("encode", encode), ("model", model)])


def _logistic_regression(features: FeatureSet, seed: int) -> Pipeline:
    encode = ColumnTransformer(
        [
            (
                "categories",
                Pipeline(
                    [
                        ("fill", SimpleImputer(strategy="constant", fill_value="missing")),
                        ("one_hot", OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=10)),
                    ]
                ),
                list(features.categorical),
            ),
            (
                "numbers",
                Pipeline(
                    [
                        (
                            "fill",
                            SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
                        ),
                        # counts and amounts are heavy-tailed: a log keeps a few big accounts from dominating
                        ("log", FunctionTransformer(signed_log1p, feature_names_out="one-to-one")),
                        ("scale", StandardScaler()),
                    ]
                ),
                list(features.numeric),
            ),
        ],
        verbose_feature_names_out=False,
    )
    model = LogisticRegression(C=0.5, max_iter=2000, random_state=seed)
    return Pipeline([("encode", encode), ("model", model)])


BUILDERS = {"hist_gradient_boosting": _gradient_boosting, "logistic_regression": _logistic_regression}


def calibration_method(configured: str, y: np.ndarray) -> str:
    """The configured method, or sigmoid when the rarer class is too small for isotonic regression."""
    rarer = min(int(y.sum()), len(y) - int(y.sum()))
    return configured if configured == "sigmoid" or rarer >= MIN_CLASS_FOR_ISOTONIC else "sigmoid"


def build_classifier(
    estimator: Estimator, features: FeatureSet, method: str, seed: int
) -> CalibratedClassifierCV:
    """An unfitted, calibrated classifier over the feature columns of `features`."""
    # ensemble=False: calibrate on out-of-fold predictions, then keep one model fitted on all rows (3x faster
    # to score than averaging the fold models)
    return CalibratedClassifierCV(
        BUILDERS[estimator](features, seed), method=method, cv=CALIBRATION_FOLDS, ensemble=False
    )
