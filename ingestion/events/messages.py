"""Validate Segment Spec messages and extract typed columns from JSON lines, in DuckDB over Arrow."""

import json
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.events.settings import BATCH_LINES, EVENT_COLUMNS, EVENT_SCHEMA, MESSAGE_TYPES

# Top-level keys of a message, parsed once per line; nested objects stay JSON text.
MESSAGE_STRUCTURE = json.dumps(
    {
        **dict.fromkeys(
            [
                "type",
                "messageId",
                "event",
                "name",
                "userId",
                "anonymousId",
                "groupId",
                "previousId",
                "timestamp",
                "sentAt",
                "receivedAt",
            ],
            "VARCHAR",
        ),
        **dict.fromkeys(["properties", "traits", "context"], "JSON"),
    }
)

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

# Each rule is checked in order; the first that fails names the reason. Blank lines are skipped.
MESSAGES_SQL = f"""
WITH parsed AS (
    SELECT line_no, line, try(json_transform(line, $structure)) AS m
    FROM lines
    WHERE ltrim(line, e' \\t\\r\\n') <> ''
), fields AS (
    SELECT
        line_no, line, m,
        nullif(m.type, '') AS type,
        nullif(m.messageId, '') AS message_id,
        nullif(m.event, '') AS event,
        m.name AS name,
        nullif(m.userId, '') AS user_id,
        nullif(m.anonymousId, '') AS anonymous_id,
        nullif(m.groupId, '') AS group_id,
        nullif(m.previousId, '') AS previous_id,
        m.timestamp AS timestamp_text,
        try_cast(m.timestamp AS TIMESTAMPTZ) AS timestamp,
        try_cast(m.sentAt AS TIMESTAMPTZ) AS sent_at,
        try_cast(m.receivedAt AS TIMESTAMPTZ) AS received_at,
        json_extract_string(m.traits, ['$.email', '$.phone']) AS own_traits,
        json_extract_string(
            m.context, ['$.traits.email', '$.traits.phone', '$.ip', '$.userAgent', '$.device.id']
        ) AS ctx,
        m.properties AS properties,
        m.traits AS traits,
        m.context AS context
    FROM parsed
), checked AS (
    SELECT *, CASE
        WHEN m IS NULL OR NOT starts_with(ltrim(line, e' \\t'), '{{')
            THEN CASE WHEN NOT json_valid(line) THEN 'invalid JSON'
                ELSE 'not a JSON object but a JSON ' || CASE json_type(line)
                    WHEN 'ARRAY' THEN 'array' WHEN 'VARCHAR' THEN 'string' WHEN 'BOOLEAN' THEN 'boolean'
                    WHEN 'NULL' THEN 'null' ELSE 'number' END
            END
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


@dataclass(frozen=True)
class RejectedLine:
    """A line refused, with its number and why."""

    line_no: int
    reason: str
    line: str


@dataclass(frozen=True)
class ParsedLines:
    """Valid messages as an Arrow table of EVENT_COLUMNS, and the lines refused."""

    messages: pa.Table
    rejected: list[RejectedLine]


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB for one run: reads offset-less timestamps as UTC, remembers message ids seen."""
    con = duckdb.connect()
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
        result = con.sql(MESSAGES_SQL, params=params).to_arrow_table()
    finally:
        con.unregister("lines")
    reasons = result.column("reason")
    event_columns = list(EVENT_COLUMNS)
    if reasons.null_count == len(reasons):
        messages, rejected = result.select(event_columns), []
    else:
        is_rejected = pc.is_valid(reasons)
        bad = result.filter(is_rejected).select(["source_line", "reason", "rejected_line"]).to_pylist()
        rejected = [
            RejectedLine(r["source_line"], r["reason"], r["rejected_line"].rstrip("\r\n")) for r in bad
        ]
        messages = result.filter(pc.invert(is_rejected)).select(event_columns)
    return ParsedLines(drop_repeats(con, messages).cast(EVENT_SCHEMA), rejected)


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
