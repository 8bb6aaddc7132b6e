"""The CRM search API's matching and ordering: filterGroups, sorts and the free-text query."""

import fnmatch
import re
from collections.abc import Callable
from typing import Any

from sandbox.hubspot.errors import validation_error
from sandbox.hubspot.schema import HsProperty
from sandbox.hubspot.store import StoredRecord
from sandbox.hubspot.timestamps import epoch_ms

OPERATORS = {
    "EQ",
    "NEQ",
    "LT",
    "LTE",
    "GT",
    "GTE",
    "BETWEEN",
    "IN",
    "NOT_IN",
    "HAS_PROPERTY",
    "NOT_HAS_PROPERTY",
    "CONTAINS_TOKEN",
    "NOT_CONTAINS_TOKEN",
}
# HubSpot's limits since August 2024.
MAX_FILTER_GROUPS, MAX_FILTERS_PER_GROUP, MAX_FILTERS = 5, 10, 25

# Properties the free-text `query` looks in, per object type.
QUERY_PROPERTIES = {
    "contacts": ("firstname", "lastname", "email", "phone", "mobilephone", "company", "hs_object_id"),
    "companies": ("name", "domain", "website", "phone", "hs_object_id"),
    "deals": ("dealname", "pipeline", "dealstage", "hs_object_id"),
    "tasks": ("hs_task_subject", "hs_task_body", "hs_object_id"),
}

Lookup = Callable[[str], HsProperty | None]
_TOKEN = re.compile(r"[\w]+", re.UNICODE)


def comparable(prop: HsProperty, value: Any) -> Any:
    """A value in the order HubSpot compares that property's values: numbers and times numerically."""
    if value is None:
        return None
    kind = prop.type
    try:
        if kind == "number":
            return float(value)
        if kind in ("datetime", "date"):
            return epoch_ms(value)
    except (TypeError, ValueError):
        raise validation_error(f"Value {value!r} of {prop.name} could not be compared as {kind}.") from None
    return str(value).lower()


def _compile_filter(spec: dict[str, Any], lookup: Lookup) -> Callable[[StoredRecord], bool]:
    name, operator = spec.get("propertyName"), spec.get("operator", "EQ")
    if not name:
        raise validation_error("Every filter needs a propertyName.")
    if operator not in OPERATORS:
        raise validation_error(f"Unknown filter operator {operator!r}; expected one of {sorted(OPERATORS)}.")
    prop = _known(lookup, name)

    def current(record: StoredRecord) -> Any:
        raw = record.value(name)
        return None if raw in (None, "") else comparable(prop, raw)

    if operator == "HAS_PROPERTY":
        return lambda r: current(r) is not None
    if operator == "NOT_HAS_PROPERTY":
        return lambda r: current(r) is None
    if operator in ("IN", "NOT_IN"):
        values = spec.get("values")
        if not isinstance(values, list) or not values:
            raise validation_error(f"Operator {operator} needs a non-empty 'values' list.")
        wanted = {comparable(prop, v) for v in values}
        if operator == "IN":
            return lambda r: current(r) in wanted
        return lambda r: current(r) not in wanted
    if "value" not in spec or spec["value"] is None:
        raise validation_error(f"Operator {operator} on {name} needs a 'value'.")
    if operator in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        matcher = _token_matcher(str(spec["value"]))
        if operator == "CONTAINS_TOKEN":
            return lambda r: matcher(r.value(name))
        return lambda r: not matcher(r.value(name))
    target = comparable(prop, spec["value"])
    if operator == "EQ":
        return lambda r: current(r) == target
    if operator == "NEQ":
        return lambda r: current(r) != target
    if operator == "BETWEEN":
        if spec.get("highValue") is None:
            raise validation_error(f"Operator BETWEEN on {name} needs a 'highValue'.")
        high = comparable(prop, spec["highValue"])
        return lambda r: (v := current(r)) is not None and target <= v <= high
    compare = {
        "LT": lambda v: v < target,
        "LTE": lambda v: v <= target,
        "GT": lambda v: v > target,
        "GTE": lambda v: v >= target,
    }[operator]
    return lambda r: (v := current(r)) is not None and compare(v)


def _known(lookup: Lookup, name: str) -> HsProperty:
    prop = lookup(name)
    if prop is None:
        raise validation_error(f"Property {name!r} does not exist; it cannot be used to filter or sort.")
    return prop


def _token_matcher(pattern: str) -> Callable[[str | None], bool]:
    pattern = pattern.lower()
    if "*" in pattern:
        return lambda value: value is not None and fnmatch.fnmatchcase(value.lower(), pattern)
    return lambda value: (
        value is not None and (pattern == value.lower() or pattern in _TOKEN.findall(value.lower()))
    )


def compile_filter_groups(groups: list[dict[str, Any]], lookup: Lookup) -> Callable[[StoredRecord], bool]:
    """A predicate: any group matches when all of its filters match."""
    if not isinstance(groups, list):
        raise validation_error("filterGroups must be a list.")
    if len(groups) > MAX_FILTER_GROUPS:
        raise validation_error(f"Too many filter groups: {len(groups)} (maximum {MAX_FILTER_GROUPS}).")
    if sum(len(g.get("filters") or []) for g in groups) > MAX_FILTERS:
        raise validation_error(f"Too many filters in total (maximum {MAX_FILTERS}).")
    compiled = []
    for group in groups:
        filters = group.get("filters") or []
        if len(filters) > MAX_FILTERS_PER_GROUP:
            raise validation_error(
                f"Too many filters in one group: {len(filters)} (maximum {MAX_FILTERS_PER_GROUP})."
            )
        compiled.append([_compile_filter(f, lookup) for f in filters])
    compiled = [g for g in compiled if g]
    if not compiled:
        return lambda record: True
    return lambda record: any(all(f(record) for f in group) for group in compiled)


def query_matcher(object_type: str, query: str | None) -> Callable[[StoredRecord], bool]:
    """The free-text query: every word must prefix-match a token of one of the type's text properties."""
    words = _TOKEN.findall((query or "").lower())
    if not words:
        return lambda record: True
    names = QUERY_PROPERTIES[object_type]

    def matches(record: StoredRecord) -> bool:
        tokens = [t for n in names if (v := record.value(n)) for t in _TOKEN.findall(v.lower())]
        return all(any(t.startswith(w) for t in tokens) for w in words)

    return matches


def sort_records(records: list[StoredRecord], sorts: list[Any], lookup: Lookup) -> list[StoredRecord]:
    """Records in the requested order (stable, id as the final tie-break); missing values sort last."""
    ordered = sorted(records, key=lambda r: int(r.id) if r.id.isdigit() else r.id)
    for spec in reversed(sorts or []):
        if isinstance(spec, str):  # HubSpot also takes "propertyName" or "-propertyName"
            spec = {
                "propertyName": spec.lstrip("-"),
                "direction": "DESCENDING" if spec.startswith("-") else "ASCENDING",
            }
        name, direction = spec.get("propertyName"), spec.get("direction", "ASCENDING")
        if direction not in ("ASCENDING", "DESCENDING"):
            raise validation_error(f"Sort direction must be ASCENDING or DESCENDING, not {direction!r}.")
        prop = _known(lookup, name)
        descending = direction == "DESCENDING"
        present = [(comparable(prop, r.value(name)), r) for r in ordered if r.value(name) not in (None, "")]
        absent = [r for r in ordered if r.value(name) in (None, "")]
        present.sort(key=lambda pair: pair[0], reverse=descending)
        ordered = [r for _, r in present] + absent
    return ordered
