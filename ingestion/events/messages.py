"""Validate Segment Spec messages and extract typed columns from JSON lines, in DuckDB over Arrow."""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.events.settings import (
    BATCH_LINES,
    BATCH_ROWS,
    EVENT_COLUMNS,
    EVENT_SCHEMA,
    MAX_LINE_BYTES,
    MESSAGE_TYPES,
)
from revloop.warehouse import connect_warehouse

# Segment Spec fields with a type (Spec "Common fields" and the per-call pages): those sent as strings
# (ids, names, ISO 8601 timestamps) and those sent as objects. JSON null counts as absent.
STRING_FIELDS = (
    "type", "messageId", "event", "name", "userId", "anonymousId", "groupId", "previousId",
    "timestamp", "originalTimestamp", "sentAt", "receivedAt",
)
OBJECT_FIELDS = ("properties", "traits", "context", "integrations")
# Typed fields inside those objects that revloop reads (Spec context fields and reserved traits):
# (object field, path in it, expected JSON type).
NESTED_FIELDS = (
    ("context", "ip", "string"),
    ("context", "userAgent", "string"),
    ("context", "traits", "object"),
    ("context", "traits.email", "string"),
    ("context", "traits.phone", "string"),
    ("context", "device", "object"),
    ("context", "device.id", "string"),
    ("traits", "email", "string"),
    ("traits", "phone", "string"),
)
# Optional timestamps: refused when present and unparseable (timestamp itself is required).
OPTIONAL_TIMESTAMPS = ("originalTimestamp", "sentAt", "receivedAt")

# Top-level keys of a message, each parsed as JSON once per line so that its JSON type can be checked.
MESSAGE_FIELDS = dict.fromkeys(STRING_FIELDS + OBJECT_FIELDS, "JSON")
MESSAGE_STRUCTURE = json.dumps(MESSAGE_FIELDS)

_KNOWN_TYPES_SQL = ", ".join(f"'{t}'" for t in MESSAGE_TYPES)
_KNOWN_TYPES_TEXT = ", ".join(MESSAGE_TYPES)

# Lines of valid messages whose id was seen before in the run or earlier in the same chunk.
REPEATS_SQL = """
SELECT source_line FROM (
    SELECT source_line, row_number() OVER (PARTITION BY message_id ORDER BY source_line) AS occurrence
    FROM new_message_ids
) WHERE occurrence > 1
UNION ALL
SELECT source_line FROM new_message_ids
WHERE message_id IN (SELECT message_id FROM seen_message_ids SEMI JOIN new_message_ids USING (message_id))
"""

# Lines as text, each parsed on its own: any line can be judged, also one that is no JSON object.
LINES_SOURCE = f"""
SELECT line_no, line, m IS NOT NULL AND starts_with(ltrim(line, e' \\t'), '{{') AS is_object,
    {", ".join(f'm."{key}" AS "m_{key}"' for key in MESSAGE_FIELDS)}
FROM (
    SELECT line_no, line, try(json_transform(line, $structure)) AS m
    FROM lines
    WHERE ltrim(line, e' \\t\\r\\n') <> ''
)
"""

# A whole file parsed by DuckDB's own reader, in file order (row n is line n when no line is blank). It
# stops with an error at the first line that is no JSON object; it has no line text (rejected_line null).
FILE_SOURCE = f"""
SELECT row_number() OVER () AS line_no, NULL::VARCHAR AS line, true AS is_object,
    {", ".join(f'"{key}" AS "m_{key}"' for key in MESSAGE_FIELDS)}
FROM read_json($path, format = 'newline_delimited', columns = $columns, maximum_object_size = $max_line_bytes)
"""

_JSON_TYPES = {"string": "VARCHAR", "object": "OBJECT"}
_ARTICLES = {"string": "a string", "object": "an object"}


def _kind_sql(value: str) -> str:
    """The JSON type of `value` in the words of a reason."""
    return (
        f"CASE json_type({value}) WHEN 'VARCHAR' THEN 'a string' WHEN 'OBJECT' THEN 'an object' "
        "WHEN 'ARRAY' THEN 'an array' WHEN 'BOOLEAN' THEN 'a boolean' ELSE 'a number' END"
    )


def _type_checks_sql() -> str:
    """WHEN clauses refusing a typed Spec field sent as another JSON type than the Spec gives it."""
    checks = [(f"m_{name}", name, "string") for name in STRING_FIELDS]
    checks += [(f"m_{name}", name, "object") for name in OBJECT_FIELDS]
    checks += [
        (f"json_extract(m_{top}, '$.{path}')", f"{top}.{path}", kind) for top, path, kind in NESTED_FIELDS
    ]
    return "\n        ".join(
        f"WHEN json_type({value}) NOT IN ('{_JSON_TYPES[kind]}', 'NULL') "
        f"THEN '{name} is ' || {_kind_sql(value)} || ', not {_ARTICLES[kind]}'"
        for value, name, kind in checks
    )


def _timestamp_checks_sql() -> str:
    """WHEN clauses refusing an optional Spec timestamp that is no ISO 8601 date-time."""
    return "\n        ".join(
        f"WHEN {_text_sql(name)} IS NOT NULL AND try_cast({_text_sql(name)} AS TIMESTAMPTZ) IS NULL "
        f"THEN 'unparseable {name} ''' || {_text_sql(name)} || ''''"
        for name in OPTIONAL_TIMESTAMPS
    )


def _text_sql(name: str) -> str:
    """A string field's text: NULL when absent, JSON null or not a string (the type checks refuse that)."""
    return f"CASE WHEN json_type(m_{name}) = 'VARCHAR' THEN m_{name} ->> '$' END"


# Each rule is checked in order; the first that fails names the reason. Blank lines are skipped.
_CHECKS_SQL = f"""
WITH parsed AS (SOURCE), fields AS (
    SELECT
        line_no, line, is_object,
        nullif(TEXT(type), '') AS type,
        nullif(TEXT(messageId), '') AS message_id,
        nullif(TEXT(event), '') AS event,
        TEXT(name) AS name,
        nullif(TEXT(userId), '') AS user_id,
        nullif(TEXT(anonymousId), '') AS anonymous_id,
        nullif(TEXT(groupId), '') AS group_id,
        nullif(TEXT(previousId), '') AS previous_id,
        TEXT(timestamp) AS timestamp_text,
        try_cast(TEXT(timestamp) AS TIMESTAMPTZ) AS timestamp,
        try_cast(TEXT(sentAt) AS TIMESTAMPTZ) AS sent_at,
        try_cast(TEXT(receivedAt) AS TIMESTAMPTZ) AS received_at,
        json_extract_string(m_traits, ['$.email', '$.phone']) AS own_traits,
        json_extract_string(
            m_context, ['$.traits.email', '$.traits.phone', '$.ip', '$.userAgent', '$.device.id']
        ) AS ctx,
        m_properties AS properties,
        m_traits AS traits,
        m_context AS context,
        MESSAGE_COLUMNS
    FROM parsed
), checked AS (
    SELECT *, CASE
        WHEN NOT is_object
            THEN CASE WHEN NOT json_valid(line) THEN 'invalid JSON'
                ELSE 'not a JSON object but a JSON ' || CASE json_type(line)
                    WHEN 'ARRAY' THEN 'array' WHEN 'VARCHAR' THEN 'string' WHEN 'BOOLEAN' THEN 'boolean'
                    WHEN 'NULL' THEN 'null' ELSE 'number' END
            END
        TYPE_CHECKS
        WHEN type IS NULL THEN 'missing type'
        WHEN type NOT IN ({_KNOWN_TYPES_SQL})
            THEN 'unknown type ''' || type || ''' (Segment Spec types: {_KNOWN_TYPES_TEXT})'
        WHEN message_id IS NULL THEN 'missing messageId'
        WHEN timestamp_text IS NULL THEN 'missing timestamp'
        WHEN timestamp IS NULL THEN 'unparseable timestamp ''' || timestamp_text || ''''
        WHEN type = 'alias' AND previous_id IS NULL THEN 'alias message without previousId'
        WHEN type = 'alias' AND user_id IS NULL THEN 'alias message without userId'
        WHEN user_id IS NULL AND anonymous_id IS NULL THEN type || ' message without userId or anonymousId'
        WHEN type = 'track' AND event IS NULL THEN 'track message without event'
        WHEN type = 'group' AND group_id IS NULL THEN 'group message without groupId'
        TIMESTAMP_CHECKS
    END AS reason
    FROM fields
)
SELECT
    message_id, type, event, name, user_id, anonymous_id, group_id, previous_id,
    timestamp, sent_at, received_at,
    $channel::VARCHAR AS channel,
    coalesce(own_traits[1], ctx[1]) AS email,
    coalesce(own_traits[2], ctx[2]) AS phone,
    ctx[3] AS ip,
    ctx[4] AS user_agent,
    ctx[5] AS device_id,
    properties::VARCHAR AS properties,
    traits::VARCHAR AS traits,
    context::VARCHAR AS context,
    $source_file::VARCHAR AS source_file,
    line_no AS source_line,
    reason,
    CASE WHEN reason IS NOT NULL THEN line END AS rejected_line
FROM checked
"""
for _name in STRING_FIELDS:
    _CHECKS_SQL = _CHECKS_SQL.replace(f"TEXT({_name})", _text_sql(_name))
_CHECKS_SQL = (
    _CHECKS_SQL.replace("MESSAGE_COLUMNS", ", ".join(f"m_{key}" for key in MESSAGE_FIELDS), 1)
    .replace("TYPE_CHECKS", _type_checks_sql(), 1)
    .replace("TIMESTAMP_CHECKS", _timestamp_checks_sql(), 1)
)
LINES_MESSAGES_SQL = _CHECKS_SQL.replace("SOURCE", LINES_SOURCE, 1)
FILE_MESSAGES_SQL = _CHECKS_SQL.replace("SOURCE", FILE_SOURCE, 1)


@dataclass(frozen=True)
class RejectedLine:
    """A line refused, with its number and why; `line` is None when the reader did not keep the text."""

    line_no: int
    reason: str
    line: str | None


@dataclass(frozen=True)
class ParsedLines:
    """Valid messages as an Arrow table of EVENT_COLUMNS, and the lines refused."""

    messages: pa.Table
    rejected: list[RejectedLine]
    # The highest line number judged (valid, rejected or repeat), None when there were no lines.
    last_line: int | None = None
    # Valid messages dropped as repeats of an id seen before.
    repeats: int = 0


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB for one run: reads offset-less timestamps as UTC, remembers message ids seen."""
    con = connect_warehouse(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE TABLE seen_message_ids (message_id VARCHAR)")
    return con


def lines_table(first_line: int, lines: pa.Array) -> pa.Table:
    """Numbered lines as a table cut into record batches, so DuckDB spreads them over its threads."""
    numbers = pa.array(np.arange(first_line, first_line + len(lines), dtype=np.int64))
    table = pa.table({"line_no": numbers, "line": lines})
    return pa.Table.from_batches(table.to_batches(max_chunksize=BATCH_LINES))


def parse_messages(
    con: duckdb.DuckDBPyConnection, lines: pa.Table, channel: str, source_file: str
) -> ParsedLines:
    """Check each line of `lines` (line_no, line: string) against the Segment Spec and extract its columns."""
    con.register("lines", lines)
    try:
        params = {"structure": MESSAGE_STRUCTURE, "channel": channel, "source_file": source_file}
        result = con.sql(LINES_MESSAGES_SQL, params=params).to_arrow_table()
    finally:
        con.unregister("lines")
    return split_checked(con, result)


def parse_file_messages(
    con: duckdb.DuckDBPyConnection, path: Path, channel: str, source_file: str, batch_rows: int = BATCH_ROWS
) -> Iterator[ParsedLines]:
    """Check every line of a file read whole by DuckDB's JSON reader, in order, about `batch_rows` at a time.

    Only for files whose every line starts with '{' (see `starts_every_line_with_brace`): the reader skips
    blank lines, which would shift line numbers. Raises FileReaderStopped at the first line that is no JSON
    object; the batches before it are complete and in line order. Rejected lines come without their text.
    """
    params = {
        "path": str(path),
        "columns": MESSAGE_FIELDS,
        "max_line_bytes": MAX_LINE_BYTES,
        "channel": channel,
        "source_file": source_file,
    }
    # A separate cursor: drop_repeats queries the connection while this result is still streaming.
    with con.cursor() as reader:
        reader.execute("SET TimeZone = 'UTC'")
        pending: list[pa.RecordBatch] = []
        pending_rows = 0
        for batch in record_batches(reader, FILE_MESSAGES_SQL, params, batch_rows):
            pending.append(batch)
            pending_rows += batch.num_rows
            if pending_rows >= batch_rows:
                yield split_checked(con, pa.Table.from_batches(pending))
                pending, pending_rows = [], 0
        if pending:
            yield split_checked(con, pa.Table.from_batches(pending))


class FileReaderStopped(Exception):
    """DuckDB's JSON reader could not go on through a file (a line that is no JSON object, a read error)."""


def record_batches(
    con: duckdb.DuckDBPyConnection, sql: str, params: dict, batch_rows: int
) -> Iterator[pa.RecordBatch]:
    """The query's result as a stream of Arrow record batches; its errors raised as FileReaderStopped."""
    try:
        # Errors found while streaming come through Arrow's reader as OSError or ArrowException.
        yield from con.sql(sql, params=params).to_arrow_reader(batch_rows)
    except (duckdb.Error, OSError, pa.ArrowException) as error:
        raise FileReaderStopped(str(error)) from error


def split_checked(con: duckdb.DuckDBPyConnection, result: pa.Table) -> ParsedLines:
    """Checked lines split into new valid messages (repeats dropped) and rejected lines."""
    reasons = result.column("reason")
    event_columns = list(EVENT_COLUMNS)
    if reasons.null_count == len(reasons):
        messages, rejected = result.select(event_columns), []
    else:
        is_rejected = pc.is_valid(reasons)
        bad = result.filter(is_rejected).select(["source_line", "reason", "rejected_line"]).to_pylist()
        rejected = [
            RejectedLine(
                r["source_line"], r["reason"], r["rejected_line"] and r["rejected_line"].rstrip("\r\n")
            )
            for r in bad
        ]
        messages = result.filter(pc.invert(is_rejected)).select(event_columns)
    last_line = pc.max(result.column("source_line")).as_py()
    new = drop_repeats(con, messages)
    return ParsedLines(new.cast(EVENT_SCHEMA), rejected, last_line, messages.num_rows - new.num_rows)


def drop_repeats(con: duckdb.DuckDBPyConnection, messages: pa.Table) -> pa.Table:
    """The messages minus repeats of an id already seen (keeping its first line), then remembers their ids."""
    con.register("new_message_ids", messages.select(["message_id", "source_line"]))
    try:
        repeats = con.sql(REPEATS_SQL).to_arrow_table().column("source_line")
        if len(repeats):
            messages = messages.filter(pc.invert(pc.is_in(messages.column("source_line"), repeats)))
        con.register("new_message_ids", messages.select(["message_id"]))
        con.execute("INSERT INTO seen_message_ids SELECT message_id FROM new_message_ids")
    finally:
        con.unregister("new_message_ids")
    return messages


def remember_message_ids(con: duckdb.DuckDBPyConnection, message_ids: pa.Table) -> None:
    """Note ids (e.g. those already in the warehouse) so that messages with them are dropped as repeats."""
    con.register("known_message_ids", message_ids)
    try:
        con.execute("INSERT INTO seen_message_ids SELECT message_id FROM known_message_ids")
    finally:
        con.unregister("known_message_ids")
