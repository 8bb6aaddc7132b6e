"""What a data-quality check found, apart from Dagster: passed or not, one line why, rounded figures."""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

DIGITS = 4


def rounded(value: float, digits: int = DIGITS) -> float:
    """A float as shown in check metadata (auc 0.811, not 0.8110489483965181)."""
    return round(float(value), digits)


def env_share(variable: str, default: float, env: Mapping[str, str] | None = None) -> float:
    """A threshold between 0 and 1 from an environment variable, or `default` when it is unset."""
    text = (os.environ if env is None else env).get(variable, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{variable}={text!r} is not a number: give a share between 0 and 1") from None
    if not 0 <= value <= 1:
        raise ValueError(f"{variable}={text!r} is not a share between 0 and 1")
    return value


@dataclass(frozen=True)
class CheckOutcome:
    """The verdict of one check, a one-line summary and its figures (no personal data)."""

    passed: bool
    summary: str
    metadata: dict[str, float | int | str] = field(default_factory=dict)
