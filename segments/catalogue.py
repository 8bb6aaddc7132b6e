"""What the segment DSL can express, for the builder: criteria families, fields with their operators and value
types, scores and rule kinds, all read from the DSL (revloop.config.segments, segments.definitions.FAMILIES),
the compiler and the profile model's docs, so that a new column or family shows up without touching the page.

A column's family is the one segments.definitions.FAMILIES files it under; a column no family lists yet falls
under the word its description starts with ("Firmographic: ..."), a score under predictive, else "profile".
"""

import functools
import re
import typing
from typing import Any

import yaml

from revloop.config.segments import (
    LIST_OPERATORS,
    NULL_CHECKS,
    RECENCY,
    RULE_KINDS,
    TEXT_MATCHES,
    ScoreRule,
)
from revloop.profiles import PROFILES_YML
from segments.compiler import column_kind, operators_for
from segments.definitions import FAMILIES, FAMILY_OF_FIELD

# words for each operator, as the page and the suggestions show them
OPERATOR_WORDS = {
    "eq": "is",
    "ne": "is not",
    "lt": "is below",
    "lte": "is at most",
    "gt": "is above",
    "gte": "is at least",
    "contains": "contains",
    "starts_with": "starts with",
    "in": "is one of",
    "not_in": "is none of",
    "is_null": "is empty",
    "not_null": "is set",
    "within_days": "is within the last (days)",
}
_INTEGER = re.compile(r"^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|U\w*INT|INT\d?)$")
# the bucket of columns whose docs name no family
OTHER = "profile"


def is_integer(data_type: str) -> bool:
    """Whether a column type holds whole numbers only."""
    return _INTEGER.match(data_type) is not None


def families() -> list[dict[str, str]]:
    """The criteria families a segment may be labelled with, with what each covers."""
    return [{"name": f.name, "description": f.description} for f in FAMILIES]


def score_names() -> list[str]:
    """The model scores a score rule accepts."""
    return list(typing.get_args(ScoreRule.model_fields["score"].annotation))


def value_type(operator: str, kind: str, data_type: str) -> str:
    """What an operator wants as value: none, list, days, integer, number, text, boolean, date or any."""
    if operator in NULL_CHECKS:
        return "none"
    if operator in RECENCY:
        return "days"
    if operator in TEXT_MATCHES:
        return "text"
    single = {"numeric": "integer" if is_integer(data_type) else "number", "temporal": "date"}.get(kind, kind)
    return "list" if operator in LIST_OPERATORS else single if kind != "other" else "any"


@functools.cache
def column_docs() -> dict[str, dict[str, str]]:
    """Column -> {family, description} of marts.customer_profiles, from its dbt YAML."""
    models = yaml.safe_load(PROFILES_YML.read_text())["models"]
    [model] = [m for m in models if m["name"] == "customer_profiles"]
    known = {f.name for f in FAMILIES}
    docs = {}
    for column in model["columns"]:
        description = " ".join(str(column.get("description") or "").split())
        meta = (column.get("config") or {}).get("meta") or {}
        first = description.split(":", 1)[0].strip().lower() if ":" in description else ""
        family = FAMILY_OF_FIELD.get(column["name"]) or (first if first in known else None)
        docs[column["name"]] = {
            "family": family or ("predictive" if meta.get("contract") == "score" else OTHER),
            "description": description,
        }
    return docs


def field_catalogue(columns: dict[str, str]) -> list[dict[str, Any]]:
    """Every profile column as the builder offers it: kind, family, description, operators and value types."""
    docs = column_docs()
    catalogue = []
    for name, data_type in columns.items():
        kind = column_kind(data_type)
        doc = docs.get(name, {"family": OTHER, "description": ""})
        catalogue.append(
            {
                "name": name,
                "kind": kind,
                "integer": is_integer(data_type),
                "family": doc["family"],
                "description": doc["description"],
                "operators": [
                    {"op": op, "words": OPERATOR_WORDS.get(op, op), "value": value_type(op, kind, data_type)}
                    for op in operators_for(kind)
                ],
            }
        )
    return catalogue


def rule_kinds() -> list[str]:
    """The keys that start a rule (field, event, page_path_prefix, score, all, any, not)."""
    return list(RULE_KINDS)


def describe_rule(rule: dict[str, Any]) -> str:
    """A rule in words: 'industry is Finance', 'Demo Requested at least 1 time in the last 90 days'."""
    if "score" in rule:
        bounds = [f"at least {rule['min']:g}" if rule.get("min") is not None else ""]
        bounds.append(f"at most {rule['max']:g}" if rule.get("max") is not None else "")
        return f"{rule['score']} " + " and ".join(b for b in bounds if b)
    if "event" in rule or "page_path_prefix" in rule:
        what = rule.get("event") or f"viewed pages under {rule['page_path_prefix']}"
        times = rule.get("at_least", 1)
        return (
            f"{what} at least {times} time{'s' if times != 1 else ''} in the last {rule['within_days']} days"
        )
    words = OPERATOR_WORDS.get(rule["op"], rule["op"])
    if rule["op"] in NULL_CHECKS:
        return f"{rule['field']} {words}"
    if rule["op"] in RECENCY:
        return f"{rule['field']} is within the last {rule.get('value')} days"
    value = rule.get("value")
    shown = (
        ", ".join(map(str, value))
        if isinstance(value, list)
        else f"{value:g}"
        if isinstance(value, float)
        else str(value)
    )
    return f"{rule['field']} {words} {shown}"
