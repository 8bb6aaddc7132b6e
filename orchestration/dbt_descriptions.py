"""What the Dagster UI says of dbt nodes: a model's yml description (never its SQL), a test in one sentence.

A dbt test's name is cut in the UI's check lists (they run to 200 characters): its description says in full
what it asserts, on which relation and column, and ends with the test's name for `dbt test --select`.
"""

from collections.abc import Mapping
from typing import Any

WHAT_A_TEST_ASSERTS = {
    "not_null": "{column} is never null",
    "unique": "{column} is unique",
    "accepted_values": "{column} is one of {values}",
    "relationships": "every {column} exists in {to}.{field}",
    "expression_is_true": "every row satisfies `{expression}`",
    "unique_combination_of_columns": "no two rows share ({combination_of_columns})",
}
MAX_VALUES = 8


def node_description(props: Mapping[str, Any]) -> str:
    """A model's, seed's or source's yml description; its kind and name when it has none."""
    return (props.get("description") or "").strip() or f"dbt {props['resource_type']} {props['name']}."


def relation_name(props: Mapping[str, Any]) -> str:
    """schema.table of a dbt model, seed, snapshot or source, as analysts query it."""
    return f"{props['schema']}.{props.get('alias') or props.get('identifier') or props['name']}"


def _listed(values: Any) -> str:
    items = [str(value) for value in (values if isinstance(values, list | tuple) else [values])]
    shown = ", ".join(items[:MAX_VALUES])
    return shown + (f" (+{len(items) - MAX_VALUES} more)" if len(items) > MAX_VALUES else "")


def _range(kwargs: Mapping[str, Any]) -> str:
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    if low is not None and high is not None:
        return f"between {low} and {high}"
    return f"at least {low}" if low is not None else f"at most {high}"


def _referenced(text: Any) -> str:
    """`ref('int_profiles_enriched')` -> int_profiles_enriched."""
    return str(text).split("'")[1] if "'" in str(text) else str(text)


def _columns(names: list[str]) -> str:
    return ", ".join(f"`{name}`" for name in names)


def _row_rules(kwargs: Mapping[str, Any]) -> str:
    """What a row_rules test asserts, rule kind by rule kind (macros/tests/row_rules.sql)."""
    rules = []
    if kwargs.get("not_null"):
        rules.append(f"{_columns(kwargs['not_null'])} never null")
    if kwargs.get("unique"):
        rules.append(f"{_columns(kwargs['unique'])} unique")
    rules += [f"({_columns(columns)}) unique together" for columns in kwargs.get("unique_combinations") or []]
    ranges, values = kwargs.get("accepted_range") or {}, kwargs.get("accepted_values") or {}
    rules += [f"`{column}` {_range(bounds)}" for column, bounds in ranges.items()]
    rules += [f"`{column}` one of {_listed(accepted)}" for column, accepted in values.items()]
    if kwargs.get("is_trimmed"):
        rules.append(f"{_columns(kwargs['is_trimmed'])} without leading or trailing spaces")
    if kwargs.get("not_empty_string"):
        rules.append(f"{_columns(kwargs['not_empty_string'])} never an empty string")
    for rule in kwargs.get("expressions") or []:
        if isinstance(rule, str):
            rules.append(f"`{rule}` true")
        else:
            rules.append(f"`{rule['expression']}` true where `{rule['column']}` is set")
    return "every row has " + "; ".join(rules)


def dbt_test_description(test: Mapping[str, Any], tested: Mapping[str, Any] | None) -> str:
    """One sentence saying what a dbt data test asserts, on which relation, and the test's full name."""
    own = (test.get("description") or "").strip()
    metadata = test.get("test_metadata") or {}
    kwargs = metadata.get("kwargs") or {}
    template = WHAT_A_TEST_ASSERTS.get(metadata.get("name", ""))
    where = (test.get("config") or {}).get("where")
    if own:
        sentence = own
    elif metadata.get("name") == "row_rules":
        sentence = _row_rules(kwargs)
        sentence = sentence[0].upper() + sentence[1:]
    elif template:
        sentence = template.format_map(
            {
                "column": f"`{test.get('column_name') or kwargs.get('column_name')}`",
                "values": _listed(kwargs.get("values", [])),
                "to": _referenced(kwargs.get("to")),
                "field": kwargs.get("field"),
                "expression": kwargs.get("expression"),
                "combination_of_columns": _listed(kwargs.get("combination_of_columns", [])),
            }
        )
        sentence = sentence[0].upper() + sentence[1:]
    else:
        sentence = f"dbt test {metadata.get('name') or test['name']}"
    on = f" in {relation_name(tested)}" if tested and not own else ""
    rows = f" (rows where {where})" if where else ""
    return f"{sentence.rstrip('.')}{on}{rows}. dbt test: {test['name']}"
