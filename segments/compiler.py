"""Compile segment rules to a parameterised SQL filter over marts.customer_profiles (alias p).

Fields are checked against the profile table's real columns and each operator against the column's type;
every value is a bound parameter, so text like "x' OR 1=1 --" can only ever match literally.
Text comparisons (eq, ne, in, not_in, contains, starts_with) ignore case; ne / not_in never match nulls.
The SQL uses only functions DuckDB and PostgreSQL share (strpos, lower, IN lists), so the same filter runs on
both; `select(paramstyle="format")` gives psycopg2's %s placeholders.
"""

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import duckdb

from revloop.config.segments import (
    COMPARISONS,
    LIST_OPERATORS,
    NULL_CHECKS,
    OPERATORS,
    TEXT_MATCHES,
    AllRule,
    AnyRule,
    Condition,
    EventRule,
    NotRule,
    Rule,
    ScoreRule,
)
from segments.definitions import FAMILIES, SegmentError, SegmentFile

PROFILES = "marts.customer_profiles"
TOUCHPOINTS = "marts.touchpoints"
_SQL_OPERATORS = {"eq": "=", "ne": "<>", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}
# DuckDB's and PostgreSQL's spellings of the column types (information_schema.columns.data_type)
_NUMERIC = re.compile(
    r"^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|U\w*INT|FLOAT|DOUBLE( PRECISION)?|REAL|DECIMAL.*|NUMERIC.*)$"
)
_TEXT = re.compile(r"^(VARCHAR|TEXT|CHARACTER VARYING.*)$")
_TEMPORAL = re.compile(r"^(DATE|TIMESTAMP.*)$")
_SINGLE_PRECISION = ("FLOAT", "REAL")


@dataclass(frozen=True)
class CompiledSegment:
    """A segment as `SELECT ... FROM marts.customer_profiles AS p WHERE <where>` plus its parameters."""

    name: str
    segment_type: str
    where: str
    params: tuple[Any, ...]

    def select(self, columns: str = "p.profile_id", paramstyle: str = "qmark") -> str:
        """The SELECT of the matching profiles, with ? (DuckDB) or %s (paramstyle format, psycopg2)."""
        sql = f"SELECT {columns} FROM {PROFILES} AS p WHERE {self.where}"
        # safe: values are never in the SQL text, so every ? is a placeholder
        return sql.replace("?", "%s") if paramstyle == "format" else sql


def table_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict[str, str]:
    """Column name -> upper-case type of a warehouse table; empty when the table does not exist."""
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [schema, table],
    ).fetchall()
    return {name: data_type.upper() for name, data_type in rows}


def profile_columns(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Column name -> type of marts.customer_profiles, as the warehouse has it now."""
    columns = table_columns(con, "marts", "customer_profiles")
    if not columns:
        raise SegmentError(
            f"{PROFILES} does not exist in this warehouse: build the profiles first (make demo)"
        )
    return columns


def column_kind(data_type: str) -> str:
    """numeric, text, temporal, boolean or other."""
    if _NUMERIC.match(data_type):
        return "numeric"
    if _TEXT.match(data_type):
        return "text"
    if _TEMPORAL.match(data_type):
        return "temporal"
    if data_type == "BOOLEAN":
        return "boolean"
    return "other"


def operators_for(kind: str) -> tuple[str, ...]:
    """The operators a column of this kind accepts."""
    return {
        "numeric": COMPARISONS + LIST_OPERATORS + NULL_CHECKS,
        "text": COMPARISONS + TEXT_MATCHES + LIST_OPERATORS + NULL_CHECKS,
        "temporal": COMPARISONS + NULL_CHECKS + ("within_days",),
        "boolean": ("eq", "ne") + NULL_CHECKS,
    }.get(kind, NULL_CHECKS)


def criteria_catalogue(columns: dict[str, str]) -> list[dict[str, Any]]:
    """Every family's criteria this warehouse offers: its profile columns that exist, with their kind and
    operators, and its rule kinds that are no column (event, page_path_prefix, score)."""
    return [
        {
            "family": family.name,
            "description": family.description,
            "fields": [
                {"field": name, "kind": column_kind(columns[name]),
                 "operators": list(operators_for(column_kind(columns[name])))}
                for name in family.fields
                if name in columns
            ],
            "rule_kinds": list(family.rule_kinds),
        }
        for family in FAMILIES
    ]


def compile_segment(
    item: SegmentFile, columns: dict[str, str], as_of: dt.datetime | None = None
) -> CompiledSegment:
    """The SQL filter of one segment; a SegmentError names the file, the rule path and the allowed choices."""
    as_of = as_of or dt.datetime.now(dt.UTC)
    segment = item.segment
    if segment.type == "static":
        if "email" not in columns:
            raise SegmentError(f"{item.path}: {PROFILES} has no email column to match static members with")
        members = list(item.members)
        marks = ", ".join(["?"] * len(members))
        where = f"(p.profile_id IN ({marks}) OR lower(p.email) IN ({marks}))"
        return CompiledSegment(segment.name, segment.type, where, (*members, *(m.lower() for m in members)))
    compiler = _RuleCompiler(item, columns, as_of)
    where = compiler.compile(segment.rules, "rules")
    return CompiledSegment(segment.name, segment.type, where, tuple(compiler.params))


class _RuleCompiler:
    def __init__(self, item: SegmentFile, columns: dict[str, str], as_of: dt.datetime):
        self.item = item
        self.columns = columns
        self.as_of = as_of
        self.params: list[Any] = []

    def fail(self, path: str, message: str) -> SegmentError:
        return SegmentError(f"{self.item.path}: {path}: {message}")

    def compile(self, rule: Rule, path: str) -> str:
        if isinstance(rule, AllRule):
            return (
                "(" + " AND ".join(self.compile(r, f"{path}.all[{i}]") for i, r in enumerate(rule.all)) + ")"
            )
        if isinstance(rule, AnyRule):
            return (
                "(" + " OR ".join(self.compile(r, f"{path}.any[{i}]") for i, r in enumerate(rule.any)) + ")"
            )
        if isinstance(rule, NotRule):
            # a rule on a null column is unknown, not false: NOT must still exclude such profiles consistently
            return f"(NOT coalesce({self.compile(rule.not_, f'{path}.not')}, false))"
        if isinstance(rule, ScoreRule):
            return self.score(rule, path)
        if isinstance(rule, EventRule):
            return self.event(rule, path)
        return self.condition(rule, path)

    def column(self, field: str, path: str) -> tuple[str, str]:
        if field not in self.columns:
            raise self.fail(path, f"unknown field {field!r}; allowed: {', '.join(self.columns)}")
        return '"' + field.replace('"', '""') + '"', column_kind(self.columns[field])

    def bind(self, value: Any, data_type: str | None = None) -> str:
        self.params.append(value)
        # 0.65 stored as FLOAT is below 0.65 as DOUBLE: compare single-precision columns in their own type
        return "CAST(? AS REAL)" if data_type in _SINGLE_PRECISION else "?"

    def condition(self, rule: Condition, path: str) -> str:
        column, kind = self.column(rule.field, path)
        data_type = self.columns[rule.field]
        allowed = operators_for(kind)
        if rule.op not in allowed:
            raise self.fail(
                path,
                f"operator {rule.op!r} does not apply to {rule.field} ({kind}); "
                f"allowed: {', '.join(allowed)} (all operators: {', '.join(OPERATORS)})",
            )
        ref = f"p.{column}"
        if rule.op == "is_null":
            return f"({ref} IS NULL)"
        if rule.op == "not_null":
            return f"({ref} IS NOT NULL)"
        if rule.op == "within_days":
            return f"({ref} > {self.bind(self.as_of - dt.timedelta(days=rule.value))})"
        values = rule.value if rule.op in LIST_OPERATORS else [rule.value]
        values = [self.coerce(v, kind, rule.field, path) for v in values]
        if kind == "text" and rule.op not in ("lt", "lte", "gt", "gte"):
            ref = f"lower({ref})"
            values = [v.lower() for v in values]
        if rule.op in TEXT_MATCHES:
            # strpos is literal (no LIKE wildcards) in both DuckDB and PostgreSQL
            test = "> 0" if rule.op == "contains" else "= 1"
            return f"(strpos({ref}, {self.bind(values[0])}) {test})"
        if rule.op in LIST_OPERATORS:
            negate = "NOT " if rule.op == "not_in" else ""
            return f"({ref} {negate}IN ({', '.join(self.bind(v, data_type) for v in values)}))"
        return f"({ref} {_SQL_OPERATORS[rule.op]} {self.bind(values[0], data_type)})"

    def coerce(self, value: Any, kind: str, field: str, path: str) -> Any:
        if kind == "numeric" and isinstance(value, int | float) and not isinstance(value, bool):
            return value
        if kind == "text" and isinstance(value, str):
            return value
        if kind == "boolean" and isinstance(value, bool):
            return value
        if kind == "temporal":
            if isinstance(value, dt.datetime):
                return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
            if isinstance(value, dt.date):
                return dt.datetime.combine(value, dt.time(), dt.UTC)
            if isinstance(value, str):
                try:
                    return self.coerce(dt.datetime.fromisoformat(value), kind, field, path)
                except ValueError:
                    pass
        raise self.fail(path, f"value {value!r} does not fit {field} ({kind})")

    def score(self, rule: ScoreRule, path: str) -> str:
        column, kind = self.column(rule.score, path)
        if kind != "numeric":
            raise self.fail(path, f"score {rule.score} is not numeric in {PROFILES}")
        bounds = []
        if rule.min is not None:
            bounds.append(f"p.{column} >= {self.bind(rule.min, self.columns[rule.score])}")
        if rule.max is not None:
            bounds.append(f"p.{column} <= {self.bind(rule.max, self.columns[rule.score])}")
        return "(" + " AND ".join(bounds) + ")"

    def event(self, rule: EventRule, path: str) -> str:
        if rule.event is not None:
            target = f"t.event_name = {self.bind(rule.event)}"
        else:
            target = f"strpos(t.page_path, {self.bind(rule.page_path_prefix)}) = 1"
        since = self.bind(self.as_of - dt.timedelta(days=rule.within_days))
        until = self.bind(self.as_of)
        at_least = self.bind(rule.at_least)
        return (
            f"(p.profile_id IN (SELECT t.profile_id FROM {TOUCHPOINTS} AS t WHERE {target} "
            f"AND t.occurred_at > {since} AND t.occurred_at <= {until} "
            f"GROUP BY t.profile_id HAVING count(*) >= {at_least}))"
        )
