"""What revloop sent: activation.sync_log for analysts, and the values it wrote (for echo checks)."""

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from activation.associations import AssociationResult
from activation.plan import RecordWrite, RefusedWrites, Rejection, Written, WrittenState, as_utc
from activation.results import WriteResult
from revloop.warehouse import FETCH_BATCH_ROWS, WarehouseLocked, column_names, connect_warehouse

_SCHEMA = """
create schema if not exists activation;
create table if not exists activation.sync_log (
    run_id varchar, object varchar, crm varchar, crm_object varchar, record_id varchar, revloop_id varchar,
    operation varchar, fields varchar, status varchar, error varchar, logged_at timestamptz,
    first_seen_at timestamptz, last_seen_at timestamptz, seen_count integer,
    payload_sha varchar, record_modified_at timestamptz
);
create table if not exists activation.written_values (
    crm varchar, record_id varchar, field varchar, value_json varchar, run_id varchar, written_at timestamptz,
    primary key (crm, record_id, field)
);
create table if not exists activation.sync_watermarks (
    crm varchar primary key, load_id varchar, run_id varchar, planned_at timestamptz
);
create table if not exists activation.written_associations (
    from_type varchar, from_id varchar, to_type varchar, to_id varchar,
    run_id varchar, written_at timestamptz,
    primary key (from_type, from_id, to_type, to_id)
);
"""


LOG_COLUMNS = (
    "run_id",
    "object",
    "crm",
    "crm_object",
    "record_id",
    "revloop_id",
    "operation",
    "fields",
    "status",
    "error",
    "logged_at",
    "first_seen_at",
    "last_seen_at",
    "seen_count",
    "payload_sha",  # RecordWrite.fingerprint() of what was sent
    "record_modified_at",  # the target record's modification time the write was planned from
)
# Outcomes that repeat unchanged run after run until someone fixes the record or the setup: one row each,
# counted.
REFUSALS = ("rejected", "refused", "failed", "skipped")
# What makes two refusals the same: the record, what was sent (names and values), and the reason.
_SAME_KEY = ("crm", "crm_object", "record_id", "revloop_id", "operation", "fields", "status", "error")
_SAME_REFUSAL = " and ".join(f"l.{c} is not distinct from r.{c}" for c in (*_SAME_KEY, "payload_sha"))
_MIGRATION = """
alter table activation.sync_log add column if not exists first_seen_at timestamptz;
alter table activation.sync_log add column if not exists last_seen_at timestamptz;
alter table activation.sync_log add column if not exists seen_count integer;
update activation.sync_log set first_seen_at = logged_at, last_seen_at = logged_at, seen_count = 1
where seen_count is null;
"""
# Since refused writes are held back (ActivationStore.refused): what was sent, and the record's state then.
_PAYLOAD_COLUMNS = """
alter table activation.sync_log add column if not exists payload_sha varchar;
alter table activation.sync_log add column if not exists record_modified_at timestamptz;
"""
# A refusal seen before gets its last_seen_at and count moved on; anything else is a new row.
_LOG = f"""
update activation.sync_log l set last_seen_at = r.last_seen_at, seen_count = l.seen_count + 1,
    record_modified_at = r.record_modified_at
from rows r where r.status in {REFUSALS} and {_SAME_REFUSAL};
insert into activation.sync_log select * from rows r
where not (r.status in {REFUSALS} and exists (select 1 from activation.sync_log l where {_SAME_REFUSAL}));
"""
# Old warehouses logged a repeated refusal once per run: keep the first row of each, counting the others.
_COLLAPSE = f"""
create temp table collapsed as
select arg_min(run_id, logged_at) as run_id, object, crm, crm_object, record_id, revloop_id, operation,
    fields, status, error, min(logged_at) as logged_at, min(first_seen_at) as first_seen_at,
    max(last_seen_at) as last_seen_at, sum(seen_count)::integer as seen_count
from activation.sync_log
where status in {REFUSALS}
group by all;
delete from activation.sync_log where status in {REFUSALS};
insert into activation.sync_log select * from collapsed;
drop table collapsed;
"""
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_UNDECODED = object()
VALUE_COLUMNS = ("crm", "record_id", "field", "value_json", "run_id", "written_at")
ASSOCIATION_COLUMNS = ("from_type", "from_id", "to_type", "to_id", "run_id", "written_at")


def last_written_at(warehouse: Path, crm: str, record_ids: Sequence[str]) -> dict[str, datetime] | None:
    """When revloop last wrote each of record_ids in crm (those it never wrote are absent), read from
    activation.written_values; None when the warehouse cannot be read now (a run holds its lock)."""
    if not warehouse.exists():
        return {}
    try:
        # a sensor answers at once: it does not wait for a run that holds the file
        with connect_warehouse(warehouse, read_only=True, lock_wait=0) as connection:
            known = connection.execute(
                "select count(*) from information_schema.tables "
                "where table_schema = 'activation' and table_name = 'written_values'"
            ).fetchall()
            if not known[0][0]:
                return {}
            ids = pa.table({"record_id": [str(i) for i in record_ids]})
            connection.register("ids", ids)
            rows = connection.execute(
                "select record_id, max(written_at) from activation.written_values "
                "where crm = ? and record_id in (select record_id from ids) group by 1",
                [crm],
            ).fetchall()
    except (duckdb.Error, WarehouseLocked):
        return None
    return dict(rows)


class ActivationStore:
    """The activation schema of one warehouse connection; each record() call is one committed transaction."""

    def __init__(self, connection: duckdb.DuckDBPyConnection):
        self.connection = connection
        self.connection.execute(_SCHEMA)
        self._migrate()
        self._written: dict[tuple[str, str, str], Written] | None = None

    def _migrate(self) -> None:
        """Bring a sync_log from before refusals were counted up to date (columns, one row per refusal)."""
        columns = set(column_names(self.connection, "activation", "sync_log"))
        if "payload_sha" in columns:
            return
        self.connection.execute("begin")
        try:
            if "seen_count" not in columns:
                self.connection.execute(_MIGRATION)
                self.connection.execute(_COLLAPSE)
            self.connection.execute(_PAYLOAD_COLUMNS)
            self.connection.execute("commit")
        except Exception:
            self.connection.execute("rollback")
            raise

    def written(self) -> WrittenState:
        """What revloop last wrote, per (crm, record id, field): read from activation.written_values once per
        store, then kept up to date by record() (a sync asks for it once per object)."""
        if self._written is None:
            self._written = self._read_written()
        return self._written

    def _read_written(self) -> dict[tuple[str, str, str], Written]:
        """activation.written_values. Millions of values share a few hundred write times and far fewer
        distinct values: each time and each text or number is decoded once (times read as epoch
        microseconds, exact, in UTC)."""
        rows = self.connection.execute(
            "select crm, record_id, field, value_json, epoch_us(written_at) from activation.written_values"
        )
        moments: dict[int | None, datetime | None] = {None: None}
        values: dict[str, Any] = {}
        state = {}
        while batch := rows.fetchmany(FETCH_BATCH_ROWS):
            for crm, record_id, name, text, micros in batch:
                if micros not in moments:
                    moments[micros] = EPOCH + timedelta(microseconds=micros)
                value = values.get(text, _UNDECODED)
                if value is _UNDECODED:
                    value = json.loads(text)
                    if not isinstance(value, (list, dict)):  # shared only when immutable
                        values[text] = value
                state[(crm, record_id, name)] = Written(value, moments[micros])
        return state

    def watermarks(self) -> dict[str, str]:
        """Per CRM, the newest raw load whose records a finished sync planned (all of them or, changed_only,
        those loaded since the previous watermark)."""
        return dict(self.connection.execute("select crm, load_id from activation.sync_watermarks").fetchall())

    def set_watermarks(self, run_id: str, loads: dict[str, str]) -> None:
        """Remember the newest raw load of each CRM a finished sync planned."""
        now = datetime.now(UTC)
        for crm, load_id in loads.items():
            self.connection.execute(
                "insert or replace into activation.sync_watermarks values (?, ?, ?, ?)",
                [crm, load_id, run_id, now],
            )

    def refused(self) -> RefusedWrites:
        """Writes a CRM refused, with the target record's modification time they were planned from."""
        rows = self.connection.execute(
            "select distinct payload_sha, record_modified_at from activation.sync_log "
            "where status = 'refused' and payload_sha is not null"
        )
        return {(sha, as_utc(at)) for sha, at in rows.fetchall()}

    def record_held(self, writes: Sequence[RecordWrite]) -> None:
        """Writes held back as refused before: their refusals are seen again (last_seen_at, seen_count)."""
        if not writes:
            return
        now = datetime.now(UTC)
        self.connection.register("held", pa.table({"payload_sha": [w.fingerprint() for w in writes]}))
        try:
            self.connection.execute(
                "update activation.sync_log set last_seen_at = ?, seen_count = seen_count + 1 "
                "where status = 'refused' and payload_sha in (select payload_sha from held)",
                [now],
            )
        finally:
            self.connection.unregister("held")

    def associations(self, from_type: str, to_type: str) -> set[tuple[str, str]]:
        """(from id, to id) of the associations revloop created between two HubSpot object types."""
        rows = self.connection.execute(
            "select from_id, to_id from activation.written_associations where from_type = ? and to_type = ?",
            [from_type, to_type],
        )
        return set(rows.fetchall())

    def _insert(self, sql: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        rows_table = pa.table({name: [row[i] for row in rows] for i, name in enumerate(columns)})
        self.connection.register("rows", rows_table)
        try:
            self.connection.execute(sql)
        finally:
            self.connection.unregister("rows")

    def record(
        self,
        run_id: str,
        object_key: str,
        results: Sequence[WriteResult],
        rejections: Sequence[Rejection] = (),
    ) -> None:
        """Log results and rejections and remember the values written, all in one transaction."""
        now = datetime.now(UTC)
        log: list[tuple[Any, ...]] = [
            (
                run_id,
                object_key,
                r.write.crm,
                r.write.object_name,
                r.record_id,
                r.write.key,
                r.write.operation,
                ",".join(r.write.fields),
                r.status,
                r.error,
                now,
                now,
                now,
                1,
                r.write.fingerprint(),
                r.write.based_on,
            )
            for r in results
        ] + [
            (
                run_id,
                object_key,
                j.crm,
                j.object_name,
                j.record_id,
                j.key,
                "reject",
                j.field,
                "rejected",
                f"{j.reason} (value {j.value!r})",
                now,
                now,
                now,
                1,
                None,
                None,
            )
            for j in rejections
        ]
        # one row per record field: a later write in the batch (a partner link after a create) wins
        values = list(
            {
                (r.write.crm, r.record_id, name): (
                    r.write.crm,
                    r.record_id,
                    name,
                    json.dumps(value),
                    run_id,
                    now,
                )
                for r in results
                if r.status in ("created", "updated") and r.record_id
                for name, value in r.write.canonical.items()
            }.values()
        )
        self._commit(log, ("written_values", VALUE_COLUMNS, values))
        if self._written is not None:
            # as read back: the stored JSON decoded, at the stored time
            self._written.update(
                ((crm, record_id, name), Written(json.loads(text), at))
                for crm, record_id, name, text, _, at in values
            )

    def record_associations(self, run_id: str, object_key: str, results: Sequence[AssociationResult]) -> None:
        """Log association results (operation 'associate') and remember those created, in one transaction."""
        now = datetime.now(UTC)
        log: list[tuple[Any, ...]] = [
            (
                run_id,
                object_key,
                r.association.crm,
                r.association.from_type,
                r.association.from_id,
                r.association.key,
                "associate",
                f"{r.association.to_type}:{r.association.to_id}",
                r.status,
                r.error,
                now,
                now,
                now,
                1,
                None,
                None,
            )
            for r in results
        ]
        created = [
            (a.from_type, a.from_id, a.to_type, a.to_id, run_id, now)
            for a in (r.association for r in results if r.status == "associated")
        ]
        self._commit(log, ("written_associations", ASSOCIATION_COLUMNS, created))

    def _commit(
        self, log: list[tuple[Any, ...]], remembered: tuple[str, Sequence[str], list[tuple[Any, ...]]]
    ) -> None:
        """sync_log rows and the rows of one remembered-state table, inserted in one transaction."""
        table, columns, rows = remembered
        # a refusal listed twice in one call (same record, same payload, same reason) is still one refusal
        status = LOG_COLUMNS.index("status")
        same = [LOG_COLUMNS.index(c) for c in (*_SAME_KEY, "payload_sha")]
        unique = {tuple(row[i] for i in same) if row[status] in REFUSALS else (id(row),): row for row in log}
        log = list(unique.values())
        self.connection.execute("begin")
        try:
            # Arrow tables, not executemany: DuckDB inserts row-bound parameters one statement at a time.
            if log:
                self._insert(_LOG, LOG_COLUMNS, log)
            if rows:
                self._insert(f"insert or replace into activation.{table} select * from rows", columns, rows)
            self.connection.execute("commit")
        except Exception:
            self.connection.execute("rollback")
            raise
