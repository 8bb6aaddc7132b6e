"""Running parsed SOQL against the sandbox org, and the cursors behind nextRecordsUrl."""

import itertools
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sandbox.salesforce import soql
from sandbox.salesforce.errors import SalesforceError
from sandbox.salesforce.ids import make_id, normalize_id
from sandbox.salesforce.schema import SfField
from sandbox.salesforce.store import SandboxOrg, SObjectTable
from sandbox.salesforce.values import NUMBER_TYPES, TEXT_TYPES, to_json

MAX_OPEN_CURSORS = 10  # per user, as in a real org: opening an 11th drops the oldest
CURSOR_IDLE_S = 15 * 60
MAX_OFFSET = 2000
_ID_TYPES = frozenset({"id", "reference"})
_LITERAL_KINDS = {
    "number": ("double", {"number"}),
    "int": ("int", {"number"}),
    "boolean": ("boolean", {"boolean"}),
    "date": ("date", {"date", "date_literal"}),
    "datetime": ("dateTime", {"datetime", "date_literal"}),
}


@dataclass
class CompiledQuery:
    """A query resolved against the org's schema: what to read, filter, sort and return."""

    table: SObjectTable
    fields: list[str]
    count_only: bool
    predicate: Callable[[dict], bool]
    order_by: list[tuple[str, bool, bool]]  # field, descending, nulls_last
    limit: int | None
    offset: int | None


def _query_error(code: str, query: str, pos: int, detail: str) -> SalesforceError:
    """The message Salesforce gives for a bad query: the line, a caret under the culprit, row and column."""
    line_start = query.rfind("\n", 0, pos) + 1
    line_end = query.find("\n", pos)
    line = query[line_start : line_end if line_end >= 0 else len(query)]
    row = query.count("\n", 0, pos) + 1
    column = pos - line_start
    return SalesforceError(
        400, code, f"\n{line}\n{' ' * column}^\nERROR at Row:{row}:Column:{column + 1}\n{detail}"
    )


def compile_query(text: str, org: SandboxOrg, today: date) -> CompiledQuery:
    """Parse and resolve text; MALFORMED_QUERY, INVALID_TYPE or INVALID_FIELD as Salesforce would say."""
    try:
        query = soql.parse(text)
    except soql.SoqlSyntaxError as exc:
        raise _query_error("MALFORMED_QUERY", text, exc.pos, exc.message) from exc
    table = org.table(query.object_name)
    if table is None:
        raise _query_error(
            "INVALID_TYPE",
            text,
            query.object_pos,
            f"sObject type '{query.object_name}' is not supported. If you are attempting to use a custom "
            "object, be sure to append the '__c' after the entity name. Please reference your WSDL or the "
            "describe call for the appropriate names.",
        )
    resolver = _Resolver(table, text)
    fields: list[str] = []
    for name, pos in query.fields:
        if name.startswith("FIELDS("):
            expanded = _expand_fields(table, name[7:-1], query.limit, text, pos)
        else:
            expanded = [resolver.field(name, pos).name]
        for field_name in expanded:
            if field_name in fields and not name.startswith("FIELDS("):
                raise _query_error("MALFORMED_QUERY", text, pos, f"duplicate field selected: {field_name}")
            if field_name not in fields:
                fields.append(field_name)
    if query.offset is not None and query.offset > MAX_OFFSET:
        raise SalesforceError(
            400, "NUMBER_OUTSIDE_VALID_RANGE", f"Maximum SOQL offset allowed is {MAX_OFFSET}"
        )
    predicate = _predicate(query.where, resolver, today) if query.where is not None else (lambda record: True)
    order_by = [
        (resolver.field(item.field, item.pos).name, item.descending, item.nulls_last)
        for item in query.order_by
    ]
    return CompiledQuery(table, fields, query.count_only, predicate, order_by, query.limit, query.offset)


def _expand_fields(table: SObjectTable, which: str, limit: int | None, text: str, pos: int) -> list[str]:
    """The fields FIELDS(ALL|STANDARD|CUSTOM) stands for; ALL and CUSTOM need LIMIT <= 200."""
    if which != "STANDARD" and (limit is None or limit > 200):
        raise _query_error(
            "MALFORMED_QUERY", text, pos, "The SOQL FIELDS function must have a LIMIT of at most 200"
        )
    return [f.name for f in table.fields.values() if which == "ALL" or (which == "CUSTOM") == f.custom]


class _Resolver:
    def __init__(self, table: SObjectTable, text: str) -> None:
        self.table = table
        self.text = text

    def field(self, name: str, pos: int) -> SfField:
        if "." in name:
            raise _query_error(
                "INVALID_FIELD",
                self.text,
                pos,
                f"Didn't understand relationship '{name.split('.')[0]}' in field path. The sandbox answers "
                "queries on the fields of one object only.",
            )
        f = self.table.field(name)
        if f is None:
            raise _query_error(
                "INVALID_FIELD",
                self.text,
                pos,
                f"No such column '{name}' on entity '{self.table.name}'. If you are attempting to use a "
                "custom field, be sure to append the '__c' after the custom field name. Please reference "
                "your WSDL or the describe call for the appropriate names.",
            )
        return f


def _kind(f: SfField) -> str:
    if f.type in TEXT_TYPES:
        return "text"
    if f.type in NUMBER_TYPES:
        return "number"
    return f.type


def _literal_value(f: SfField, literal: soql.Literal, resolver: _Resolver, today: date) -> object:
    """The literal in the field's stored form; a date literal becomes a [start, end) range."""
    if literal.kind == "null":
        return None
    kind = _kind(f)
    if kind == "text":
        if literal.kind != "string":
            raise _query_error(
                "INVALID_FIELD",
                resolver.text,
                literal.pos,
                f"value of filter criterion for field '{f.name}' must be of type string and should be "
                "enclosed in quotes",
            )
        if f.type in _ID_TYPES:
            normalized = normalize_id(literal.value)
            if normalized is None:
                raise _query_error(
                    "INVALID_QUERY_FILTER_OPERATOR",
                    resolver.text,
                    literal.pos,
                    f"invalid ID field: {literal.value}",
                )
            return normalized
        return literal.value
    type_name, accepted = _LITERAL_KINDS[kind]
    if literal.kind not in accepted:
        raise _query_error(
            "INVALID_FIELD",
            resolver.text,
            literal.pos,
            f"value of filter criterion for field '{f.name}' must be of type {type_name} and should not be "
            "enclosed in quotes",
        )
    if literal.kind == "date_literal":
        first, last = soql.relative_date_range(literal.value, today)
        if kind == "date":
            return (first, last + timedelta(days=1))
        return (
            datetime(first.year, first.month, first.day, tzinfo=UTC),
            datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1),
        )
    return literal.value


def _like(pattern: str) -> re.Pattern:
    parts = re.split(r"(\\%|\\_|%|_)", pattern)
    regex = "".join({"%": ".*", "_": ".", "\\%": "%", "\\_": "_"}.get(p, re.escape(p)) for p in parts)
    return re.compile(regex, re.IGNORECASE | re.DOTALL)


def _predicate(node: object, resolver: _Resolver, today: date) -> Callable[[dict], bool]:
    if isinstance(node, soql.BoolOp):
        parts = [_predicate(operand, resolver, today) for operand in node.operands]
        if node.op == "AND":
            return lambda record: all(p(record) for p in parts)
        return lambda record: any(p(record) for p in parts)
    if isinstance(node, soql.Not):
        inner = _predicate(node.operand, resolver, today)
        return lambda record: not inner(record)
    return _comparison(node, resolver, today)


def _comparison(node: soql.Comparison, resolver: _Resolver, today: date) -> Callable[[dict], bool]:
    f = resolver.field(node.field, node.pos)
    name = f.name
    folds = _kind(f) == "text" and f.type not in _ID_TYPES  # text compares without case in SOQL

    def key(value: object) -> object:
        return value.lower() if folds and isinstance(value, str) else value

    if node.op in ("IN", "NOT IN"):
        wanted = {key(_literal_value(f, literal, resolver, today)) for literal in node.value}
        if node.op == "IN":
            return lambda record: key(record.get(name)) in wanted
        return lambda record: key(record.get(name)) not in wanted
    if node.op == "LIKE":
        if _kind(f) != "text":
            raise _query_error(
                "INVALID_QUERY_FILTER_OPERATOR",
                resolver.text,
                node.pos,
                f"invalid operator on {f.type} field: LIKE",
            )
        pattern = _like(node.value.value)
        return lambda record: record.get(name) is not None and pattern.fullmatch(record[name]) is not None
    target = _literal_value(f, node.value, resolver, today)
    op = node.op
    if isinstance(target, tuple):
        return _range_comparison(name, op, *target)
    target = key(target)
    if target is None:
        if op == "=":
            return lambda record: record.get(name) is None
        if op == "!=":
            return lambda record: record.get(name) is not None
        return lambda record: False
    compare = {
        "=": lambda v: v == target,
        "!=": lambda v: v != target,
        "<": lambda v: v < target,
        "<=": lambda v: v <= target,
        ">": lambda v: v > target,
        ">=": lambda v: v >= target,
    }[op]
    if op == "!=":
        return lambda record: record.get(name) is None or compare(key(record[name]))
    return lambda record: record.get(name) is not None and compare(key(record[name]))


def _range_comparison(name: str, op: str, start: object, end: object) -> Callable[[dict], bool]:
    inside = {
        "=": lambda v: start <= v < end,
        "!=": lambda v: not start <= v < end,
        "<": lambda v: v < start,
        "<=": lambda v: v < end,
        ">": lambda v: v >= end,
        ">=": lambda v: v >= start,
    }[op]
    return lambda record: record.get(name) is not None and inside(record[name])


def run(compiled: CompiledQuery, org: SandboxOrg, include_deleted: bool) -> list[dict]:
    """The matching records in result order, after ORDER BY, OFFSET and LIMIT."""
    rows = [record for record in org.rows(compiled.table, include_deleted) if compiled.predicate(record)]
    for name, descending, nulls_last in reversed(compiled.order_by):
        folds = compiled.table.fields[name].type in TEXT_TYPES - _ID_TYPES
        null_rank = 1 if nulls_last != descending else 0

        def sort_key(record: dict, name=name, folds=folds, null_rank=null_rank) -> tuple:
            value = record.get(name)
            if value is None:
                return (null_rank, None)
            return (1 - null_rank, value.lower() if folds else value)

        rows.sort(key=sort_key, reverse=descending)
    start = compiled.offset or 0
    end = None if compiled.limit is None else start + compiled.limit
    return rows[start:end]


def render(table: SObjectTable, record: dict, fields: list[str], version: str) -> dict:
    """A record as the REST API returns it: attributes first, then the selected fields."""
    rendered: dict = {
        "attributes": {
            "type": table.name,
            "url": f"/services/data/v{version}/sobjects/{table.name}/{record['Id']}",
        }
    }
    for name in fields:
        rendered[name] = to_json(record.get(name))
    return rendered


@dataclass
class Cursor:
    """The snapshot of a query's result ids that later pages are served from."""

    table: SObjectTable
    fields: list[str]
    ids: list[str]
    last_used: float


class Cursors:
    """Open query cursors, identified like Salesforce query locators (01g...)."""

    def __init__(self) -> None:
        self._open: OrderedDict[str, Cursor] = OrderedDict()
        self._numbers = itertools.count(1)

    def open(self, compiled: CompiledQuery, rows: list[dict]) -> str:
        cursor_id = make_id("01g", next(self._numbers))
        self._open[cursor_id] = Cursor(
            compiled.table, compiled.fields, [r["Id"] for r in rows], time.monotonic()
        )
        while len(self._open) > MAX_OPEN_CURSORS:
            self._open.popitem(last=False)
        return cursor_id

    def get(self, cursor_id: str) -> Cursor:
        cursor = self._open.get(cursor_id)
        if cursor is None or time.monotonic() - cursor.last_used > CURSOR_IDLE_S:
            self._open.pop(cursor_id, None)
            raise SalesforceError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        cursor.last_used = time.monotonic()
        self._open.move_to_end(cursor_id)
        return cursor

    def close(self, cursor_id: str) -> None:
        self._open.pop(cursor_id, None)
