"""Metadata as the Dagster UI shows it: floats rounded to what a person reads (auc 0.811, not 0.81104894...).

Every asset and check of orchestration/ passes its metadata through `rounded_metadata` before emitting it.
"""

import math
from collections.abc import Mapping
from typing import Any

from dagster import FloatMetadataValue, JsonMetadataValue, MetadataValue

DECIMALS = 3


def round_float(value: float, decimals: int = DECIMALS) -> float:
    """`decimals` places, or as many significant digits for a value below 0.1 (a share of 0.0177 stays)."""
    if not math.isfinite(value) or value == 0:
        return value
    magnitude = math.floor(math.log10(abs(value)))
    return round(value, max(decimals, decimals - magnitude - 1))


def _rounded(value: Any) -> Any:
    """A metadata value with every float in it rounded (plain numbers, float and JSON values, containers)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return round_float(value)
    if isinstance(value, FloatMetadataValue):
        return MetadataValue.float(round_float(value.value)) if value.value is not None else value
    if isinstance(value, JsonMetadataValue):
        return MetadataValue.json(_rounded(value.data))
    # only plain containers: Dagster's metadata records (tables, schemas...) are tuples too
    if type(value) is dict:
        return {key: _rounded(item) for key, item in value.items()}
    if type(value) in (list, tuple):
        return type(value)(_rounded(item) for item in value)
    return value


def rounded_metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """The metadata with its floats rounded; every other value as it was."""
    return {key: _rounded(value) for key, value in (metadata or {}).items()}
