"""What revloop sent: activation.sync_log for analysts, and the values it wrote (for echo checks)."""

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa

from activation.associations import AssociationResult
from activation.plan import Rejection, Written, WrittenState
from activation.results import WriteResult

_SCHEMA = """
create schema if not exists activation;
create table if not exists activation.sync_log (
    run_id varchar, object varchar, crm varchar, crm_object varchar, record_id varchar, revloop_id varchar,
    operation varchar, fields varchar, status varchar, error varchar, logged_at timestamptz
);
create table if not exists activation.written_values (
    crm varchar, record_id varchar, field varchar, value_json varchar, run_id varchar, written_at timestamptz,
    primary key (crm, record_id, field)
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
)
VALUE_COLUMNS = ("crm", "record_id", "field", "value_json", "run_id", "written_at")
ASSOCIATION_COLUMNS = ("from_type", "from_id", "to_type", "to_id", "run_id", "written_at")


class ActivationStore:
    """The activation schema of one warehouse connection; each record() call is one committed transaction."""

    def __init__(self, connection: duckdb.DuckDBPyConnection):
        self.connection = connection
        self.connection.execute(_SCHEMA)

    def written(self) -> WrittenState:
        """What revloop last wrote, per (crm, record id, field)."""
        rows = self.connection.execute(
            "select crm, record_id, field, value_json, written_at from activation.written_values"
        )
        return {
            (crm, record_id, name): Written(json.loads(value), at)
            for crm, record_id, name, value, at in rows.fetchall()
        }

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

    def record_associations(self, run_id: str, object_key: str, results: Sequence[AssociationResult]) -> None:
        """Log association results (operation 'associate') and remember those created, in one transaction."""
        now = datetime.now(UTC)
        log: list[tuple[Any, ...]] = [
            (
                run_id,
                object_key,
                "hubspot",
                r.association.from_type,
                r.association.from_id,
                r.association.key,
                "associate",
                f"{r.association.to_type}:{r.association.to_id}",
                r.status,
                r.error,
                now,
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
        self.connection.execute("begin")
        try:
            # Arrow tables, not executemany: DuckDB inserts row-bound parameters one statement at a time.
            if log:
                self._insert("insert into activation.sync_log select * from rows", LOG_COLUMNS, log)
            if rows:
                self._insert(f"insert or replace into activation.{table} select * from rows", columns, rows)
            self.connection.execute("commit")
        except Exception:
            self.connection.execute("rollback")
            raise
