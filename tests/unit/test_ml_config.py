"""config/models.yml: the shipped file validates, typos and impossible snapshot plans are errors."""

import pytest
import yaml

from revloop.config import ConfigError, load
from revloop.config.models import ModelsConfig


def _write(tmp_path, data: dict):
    (tmp_path / "models.yml").write_text(yaml.safe_dump(data))
    return tmp_path


def test_the_shipped_config_loads():
    config = load("models", ModelsConfig)
    assert config.tasks.churn.horizon_days > 0
    assert config.snapshots.count >= 2
    assert config.training.calibration in {"sigmoid", "isotonic"}


def test_a_misspelt_key_names_the_file_and_the_key(tmp_path):
    folder = _write(tmp_path, {"tasks": {"churn": {"horizon_day": 30}}})
    with pytest.raises(ConfigError, match=r"models\.yml.*tasks\.churn\.horizon_day"):
        load("models", ModelsConfig, folder)


def test_an_unknown_estimator_is_an_error(tmp_path):
    folder = _write(tmp_path, {"tasks": {"purchase": {"estimator": "random_forest"}}})
    with pytest.raises(ConfigError, match="tasks.purchase.estimator"):
        load("models", ModelsConfig, folder)


def test_too_few_snapshots_for_the_horizon_and_a_holdout_is_an_error(tmp_path):
    folder = _write(
        tmp_path, {"snapshots": {"spacing_days": 30, "count": 4}, "tasks": {"churn": {"horizon_days": 90}}}
    )
    with pytest.raises(ConfigError, match="snapshots.count must be at least 7 for the 90-day churn"):
        load("models", ModelsConfig, folder)


def test_the_trend_needs_two_recent_windows_of_history(tmp_path):
    folder = _write(tmp_path, {"engagement": {"recent_days": 30, "history_days": 45}})
    with pytest.raises(ConfigError, match="history_days"):
        load("models", ModelsConfig, folder)
