"""The YAML files users edit in config/, loaded and validated with errors that name the file and the key."""

import os
from functools import cache
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

DEFAULT_CONFIG_DIR = "config"

Model = TypeVar("Model", bound=BaseModel)


class ConfigError(ValueError):
    """A config file that is missing, not YAML, or not what revloop expects."""


def config_dir() -> Path:
    """The folder of the YAML config files (REVLOOP_CONFIG_DIR, default ./config)."""
    return Path(os.environ.get("REVLOOP_CONFIG_DIR") or DEFAULT_CONFIG_DIR).resolve()


def load(name: str, model: type[Model], folder: Path | None = None) -> Model:
    """config/<name>.yml parsed into model; a ConfigError names the file and each offending key."""
    path = (folder or config_dir()) / f"{name}.yml"
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: missing (revloop expects it; see config/ in the repository)") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or '<top>'}: {error['msg']}" for error in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from exc


@cache
def _cached(name: str, model: type[Model], folder: Path) -> Model:
    return load(name, model, folder)


def cached(name: str, model: type[Model]) -> Model:
    """load(), once per process and config folder."""
    return _cached(name, model, config_dir())
