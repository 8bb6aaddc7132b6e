"""Predictive models (churn risk, purchase likelihood, engagement potential): train, register, score.

Runs without Dagster: `train_models()` then `score_profiles()`. Imports of scikit-learn wait for first use.
"""

from importlib import import_module

_EXPORTS = {
    "train_models": "ml.training",
    "TrainingReport": "ml.training",
    "score_profiles": "ml.scoring",
    "ScoringReport": "ml.scoring",
    "ModelRegistry": "ml.registry",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'ml' has no attribute {name!r}")
