"""activation.sync_conflicts: profiles whose CRM records disagree on an identifier, for an operator."""

import json
from collections.abc import Sequence
from datetime import UTC, datetime

import duckdb
import pyarrow as pa

from activation.plan import Conflict

_SCHEMA = """
create schema if not exists activation;
create table if not exists activation.sync_conflicts (
    object varchar, profile_id varchar, field varchar, records varchar, values_json varchar,
    first_seen_at timestamptz, last_seen_at timestamptz, seen_count integer,
    primary key (object, profile_id, field, records)
);
"""

_UPSERT = """
insert into activation.sync_conflicts
select object, profile_id, field, records, values_json, seen_at, seen_at, 1 from conflicts
on conflict (object, profile_id, field, records) do update set
    values_json = excluded.values_json,
    last_seen_at = excluded.last_seen_at,
    seen_count = seen_count + 1
"""


def record_conflicts(
    connection: duckdb.DuckDBPyConnection, object_key: str, conflicts: Sequence[Conflict]
) -> None:
    """One row per profile, field and set of records: first seen, last seen, how many runs met it."""
    connection.execute(_SCHEMA)
    if not conflicts:
        return
    now = datetime.now(UTC)
    rows = {
        (c.key, c.field, ",".join(record for record, _ in c.values)): json.dumps(dict(c.values), default=str)
        for c in conflicts
    }
    table = pa.table(
        {
            "object": [object_key] * len(rows),
            "profile_id": [key for key, _, _ in rows],
            "field": [name for _, name, _ in rows],
            "records": [records for _, _, records in rows],
            "values_json": list(rows.values()),
            "seen_at": pa.array([now] * len(rows), pa.timestamp("us", tz="UTC")),
        }
    )
    connection.register("conflicts", table)
    try:
        connection.execute(_UPSERT)
    finally:
        connection.unregister("conflicts")
