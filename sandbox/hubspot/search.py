"""The CRM search API's matching and ordering: filterGroups, sorts and the free-text query."""

import bisect
import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.hubspot.errors import validation_error
from sandbox.hubspot.schema import HsProperty
from sandbox.hubspot.store import ObjectStore, StoredRecord
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
    ordered = sorted(records, key=_id_key)
    for prop, descending in reversed(_sort_specs(sorts, lookup)):
        present = [(comparable(prop, r.value(prop.name)), r) for r in ordered if _has(r, prop.name)]
        absent = [r for r in ordered if not _has(r, prop.name)]
        present.sort(key=lambda pair: pair[0], reverse=descending)
        ordered = [r for _, r in present] + absent
    return ordered


def _sort_specs(sorts: list[Any], lookup: Lookup) -> list[tuple[HsProperty, bool]]:
    """(property, descending) per requested sort, validated."""
    specs = []
    for spec in sorts or []:
        if isinstance(spec, str):  # HubSpot also takes "propertyName" or "-propertyName"
            spec = {
                "propertyName": spec.lstrip("-"),
                "direction": "DESCENDING" if spec.startswith("-") else "ASCENDING",
            }
        name, direction = spec.get("propertyName"), spec.get("direction", "ASCENDING")
        if direction not in ("ASCENDING", "DESCENDING"):
            raise validation_error(f"Sort direction must be ASCENDING or DESCENDING, not {direction!r}.")
        specs.append((_known(lookup, name), direction == "DESCENDING"))
    return specs


def _id_key(record: StoredRecord) -> int | str:
    return int(record.id) if record.id.isdigit() else record.id


def _has(record: StoredRecord, name: str) -> bool:
    return record.value(name) not in (None, "")


# Searching through sorted columns -------------------------------------------------------------------------
# Clients page a search by re-querying with a moving bound on a sorted property (keyset paging), so each
# query must cost O(log n + result) rather than a filter and sort of the whole store.
_BOUND_OPERATORS = frozenset({"EQ", "GT", "GTE", "LT", "LTE", "BETWEEN"})
ID_PROPERTY = "hs_object_id"


@dataclass(frozen=True)
class SortedColumn:
    """The live records holding a property in (value, id) order with their comparable values; the rest."""

    values: list[Any]
    records: list[StoredRecord]
    absent: list[StoredRecord]  # in id order

    def bounded(self, bounds: list[tuple[str, Any, Any]]) -> list[StoredRecord]:
        """The records whose value passes every (operator, value, high value) bound, found by bisection."""
        low, high = 0, len(self.values)
        for operator, target, upper in bounds:
            if operator in ("EQ", "GTE", "BETWEEN"):
                low = max(low, bisect.bisect_left(self.values, target))
            elif operator == "GT":
                low = max(low, bisect.bisect_right(self.values, target))
            if operator in ("EQ", "LTE"):
                high = min(high, bisect.bisect_right(self.values, target))
            elif operator == "LT":
                high = min(high, bisect.bisect_left(self.values, target))
            elif operator == "BETWEEN":
                high = min(high, bisect.bisect_right(self.values, upper))
        return self.records[low:high]


def sorted_column(store: ObjectStore, prop: HsProperty) -> SortedColumn:
    """The store's live records sorted on prop, built once per store version."""

    def build() -> SortedColumn:
        present, absent = [], []
        for record in store.live():
            if _has(record, prop.name):
                present.append((comparable(prop, record.value(prop.name)), _id_key(record), record))
            else:
                absent.append(record)
        present.sort(key=lambda entry: entry[:2])
        absent.sort(key=_id_key)
        return SortedColumn([e[0] for e in present], [e[2] for e in present], absent)

    return store.memo(("sorted", prop.name), build)


def find_matches(store: ObjectStore, payload: dict[str, Any], lookup: Lookup) -> list[StoredRecord]:
    """The live records a search payload matches, in result order.

    One filter group and at most one sort run through a sorted column: bisection on the bounded property,
    the remaining filters on that range only. Anything else (OR groups, free text, several sorts) scans.
    """
    groups = payload.get("filterGroups") or []
    wanted = compile_filter_groups(groups, lookup)
    text = query_matcher(store.object_type, payload.get("query"))
    specs = _sort_specs(payload.get("sorts") or [], lookup)
    filters = [f for g in groups for f in (g.get("filters") or [])]
    single_group = sum(1 for g in groups if g.get("filters")) <= 1
    if single_group and len(specs) <= 1 and not _TOKEN.findall(str(payload.get("query") or "")):
        return _indexed_matches(store, filters, specs, lookup)
    matches = [r for r in store.live() if wanted(r) and text(r)]
    return sort_records(matches, payload.get("sorts") or [], lookup)


def _indexed_matches(
    store: ObjectStore, filters: list[dict[str, Any]], specs: list[tuple[HsProperty, bool]], lookup: Lookup
) -> list[StoredRecord]:
    sort_prop, descending = specs[0] if specs else (_known(lookup, ID_PROPERTY), False)
    bounded = [f for f in filters if f.get("operator", "EQ") in _BOUND_OPERATORS]
    bounded_names = {f["propertyName"] for f in bounded}
    column_name = sort_prop.name
    if column_name not in bounded_names and sort_prop.name == ID_PROPERTY:
        # Records equal on one property lie in id order within its column: the id sort comes for free.
        column_name = next(
            (f["propertyName"] for f in bounded if f.get("operator", "EQ") == "EQ"), column_name
        )
    prop = _known(lookup, column_name)
    column = sorted_column(store, prop)
    used = [f for f in bounded if f["propertyName"] == column_name]
    if used:
        bounds = [
            (
                f.get("operator", "EQ"),
                comparable(prop, f["value"]),
                comparable(prop, f["highValue"]) if f.get("operator") == "BETWEEN" else None,
            )
            for f in used
        ]
        candidates = column.bounded(bounds)
    else:
        candidates = column.records + column.absent
    rest = [f for f in filters if not any(f is u for u in used)]
    if rest:
        keep = compile_filter_groups([{"filters": rest}], lookup)
        candidates = [r for r in candidates if keep(r)]
    if not descending and (column_name == sort_prop.name or sort_prop.name == ID_PROPERTY):
        return candidates
    direction = "DESCENDING" if descending else "ASCENDING"
    return sort_records(candidates, [{"propertyName": sort_prop.name, "direction": direction}], lookup)
