"""Evaluate segments into segments.segment_memberships; log size, entries, exits in segments.segment_history.

These are the step's own tables (its memory between runs); dbt builds marts.segment_memberships and
marts.segment_history over them for analysts. Written with SQL directly in one transaction rather than
through dlt: the new memberships, the diff against the previous ones and the history row must commit
together (a failed run leaves both tables as they were), and the diff is a set operation the warehouse does
in place without moving rows through Python.
The SQL is the subset DuckDB and PostgreSQL share, so the same code writes either (segments.connection).
"""

import datetime as dt
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from revloop.warehouse import connect_warehouse, warehouse_path
from segments.compiler import PROFILES, CompiledSegment, compile_segment, profile_columns, table_columns
from segments.connection import PostgresConnection, in_list
from segments.conversions import KINDS, OutcomeQuery, outcome_queries
from segments.definitions import SegmentError, SegmentFile, load_segments

# a DuckDB connection, or a PostgresConnection that answers the same calls
Connection = duckdb.DuckDBPyConnection | PostgresConnection
SCHEMA = "segments"
MEMBERSHIPS = f"{SCHEMA}.segment_memberships"
HISTORY = f"{SCHEMA}.segment_history"
# where older versions wrote these tables themselves (now dbt's marts over the tables above)
LEGACY_SCHEMA = "marts"

_CREATE = (
    f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}",
    f"CREATE TABLE IF NOT EXISTS {MEMBERSHIPS} (segment_name VARCHAR NOT NULL, "
    "segment_type VARCHAR NOT NULL, "
    "profile_id VARCHAR NOT NULL, evaluated_at TIMESTAMPTZ NOT NULL)",
    f"CREATE TABLE IF NOT EXISTS {HISTORY} (run_at TIMESTAMPTZ NOT NULL, segment_name VARCHAR NOT NULL, "
    "segment_type VARCHAR NOT NULL, size BIGINT NOT NULL, entries BIGINT NOT NULL, exits BIGINT NOT NULL)",
)
# per kind of conversion: how many members converted and their share (null when the kind is unavailable)
CONVERSION_COLUMNS = (
    *(
        (column, sql_type)
        for kind in KINDS
        for column, sql_type in ((f"{kind}_count", "BIGINT"), (f"{kind}_rate", "DOUBLE PRECISION"))
    ),
    ("conversion_notes", "VARCHAR"),
)
# history tables of older versions measured one conversion (customer stage) as converted / conversion_rate
_RENAMED = {"converted": "customer_count", "conversion_rate": "customer_rate"}


@dataclass(frozen=True)
class Conversion:
    """Members of a segment that converted one way; count and rate are None when it cannot be measured."""

    kind: str
    count: int | None
    rate: float | None
    reason: str | None = None


@dataclass(frozen=True)
class SegmentRun:
    """One segment's outcome in a run."""

    segment_name: str
    segment_type: str
    size: int
    entries: int
    exits: int
    conversions: tuple[Conversion, ...] = ()

    def conversion(self, kind: str) -> Conversion:
        """The conversion of one kind (see segments.conversions.KINDS)."""
        return next(c for c in self.conversions if c.kind == kind)


@dataclass
class SegmentReport:
    """What a materialisation did: per-segment results, definitions that failed, warnings."""

    run_at: dt.datetime
    segments: list[SegmentRun] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every definition compiled and evaluated."""
        return not self.errors

    def metadata(self) -> dict[str, int | float]:
        """Plain numbers for run metadata (the Dagster UI plots them across runs): the run's counts and, per
        segment, size, entries, exits and every conversion rate that could be measured."""
        values: dict[str, int | float] = {
            "segments": len(self.segments),
            "memberships": sum(run.size for run in self.segments),
            "failed_definitions": len(self.errors),
            "warnings": len(self.warnings),
        }
        for run in self.segments:
            name = run.segment_name
            values |= {f"size {name}": run.size, f"entries {name}": run.entries, f"exits {name}": run.exits}
            for conversion in run.conversions:
                if conversion.rate is not None:
                    values[f"{conversion.kind} rate {name}"] = conversion.rate
        return values


def unmatched_members(con: Connection, item: SegmentFile) -> list[str]:
    """Entries of a static list that are neither a profile id nor a profile e-mail."""
    entries = ", ".join(["(?)"] * len(item.members))
    rows = con.execute(
        f"SELECT m.entry FROM (VALUES {entries}) AS m(entry) WHERE NOT EXISTS ("
        f"SELECT 1 FROM {PROFILES} AS p WHERE p.profile_id = m.entry OR lower(p.email) = lower(m.entry)) "
        "ORDER BY m.entry",
        list(item.members),
    ).fetchall()
    return [row[0] for row in rows]


def static_warnings(con: Connection, item: SegmentFile, today: dt.date) -> list[str]:
    """Overdue review and members that match no profile."""
    found = []
    overdue = item.review_warning(today)
    if overdue:
        found.append(overdue)
    missing = unmatched_members(con, item)
    if missing:
        # Only entries written in the YAML itself are quoted: a members_file is named by line numbers.
        lines = {m: item.members_file_line(m) for m in missing}
        quoted = [m for m in missing if lines[m] is None]
        numbers = sorted(n for n in lines.values() if n is not None)
        parts = []
        if quoted:
            parts.append(", ".join(quoted[:5]) + (" ..." if len(quoted) > 5 else ""))
        if numbers:
            shown = ", ".join(map(str, numbers[:10])) + (" ..." if len(numbers) > 10 else "")
            parts.append(f"members_file {item.segment.members_file!r} line(s) {shown}")
        found.append(
            f"{item.path}: {len(missing)} of {len(item.members)} listed members match no profile: "
            + "; ".join(parts)
        )
    return found


def materialize_segments(
    warehouse: Path | None = None,
    config_dir: Path | None = None,
    as_of: dt.datetime | None = None,
    connection: Connection | None = None,
) -> SegmentReport:
    """Recompute every segment of config/segments in the warehouse; broken ones keep their old members.

    The warehouse is the DuckDB file, or `connection` (a DuckDB or PostgresConnection the caller closes).
    """
    run_at = as_of or dt.datetime.now(dt.UTC)
    items, errors = load_segments(config_dir)
    report = SegmentReport(run_at=run_at, errors=list(errors))
    con = connection or connect_warehouse(warehouse or warehouse_path())
    try:
        columns = profile_columns(con)
        compiled: list[CompiledSegment] = []
        for item in items:
            try:
                compiled.append(compile_segment(item, columns, run_at))
            except SegmentError as exc:
                report.errors.append(str(exc))
                continue
            if item.segment.type == "static":
                report.warnings.extend(static_warnings(con, item, run_at.date()))
        outcomes = outcome_queries(con, columns, run_at)
        report.unavailable = {o.kind: o.reason for o in outcomes if o.reason}
        _write(con, compiled, _kept_names(errors, items, compiled), outcomes, report)
    finally:
        if connection is None:
            con.close()
    for message in report.warnings:
        warnings.warn(message, stacklevel=2)
    return report


def _kept_names(
    load_errors: list[str], items: list[SegmentFile], compiled: list[CompiledSegment]
) -> set[str]:
    """Segments whose definition broke: they keep their previous members instead of counting as removed."""
    evaluated = {c.name for c in compiled}
    kept = {i.segment.name for i in items if i.segment.name not in evaluated}
    if load_errors:
        # a file that failed to load may hold any segment (renamed or broken): then no old segment is removed
        kept.add("*")
    return kept


def adopt_legacy_tables(con: Connection) -> None:
    """Copy the memberships and history an older version kept in marts into this step's schema, once.

    Runs before dbt first replaces them with its marts: only while the step's own table does not exist yet.
    """
    for table in ("segment_memberships", "segment_history"):
        if not table_columns(con, SCHEMA, table) and table_columns(con, LEGACY_SCHEMA, table):
            con.execute(f"CREATE TABLE {SCHEMA}.{table} AS SELECT * FROM {LEGACY_SCHEMA}.{table}")


def migrate_history(con: Connection) -> None:
    """Bring a history table of an older version up to date without losing its rows."""
    columns = table_columns(con, SCHEMA, "segment_history")
    for old, new in _RENAMED.items():
        if old in columns and new not in columns:
            con.execute(f"ALTER TABLE {HISTORY} RENAME COLUMN {old} TO {new}")
            # the old table required a count; now a kind that cannot be measured records null
            con.execute(f"ALTER TABLE {HISTORY} ALTER COLUMN {new} DROP NOT NULL")
    for column, sql_type in CONVERSION_COLUMNS:
        con.execute(f"ALTER TABLE {HISTORY} ADD COLUMN IF NOT EXISTS {column} {sql_type}")


def _write(
    con: Connection,
    compiled: list[CompiledSegment],
    kept: set[str],
    outcomes: list[OutcomeQuery],
    report: SegmentReport,
) -> None:
    con.begin()
    try:
        con.execute(_CREATE[0])
        adopt_legacy_tables(con)
        for statement in _CREATE[1:]:
            con.execute(statement)
        migrate_history(con)
        for name, columns in (
            ("segment_run", "segment_name VARCHAR, segment_type VARCHAR, profile_id VARCHAR"),
            ("segment_outcomes", "kind VARCHAR, profile_id VARCHAR"),
        ):
            con.execute(f"DROP TABLE IF EXISTS {name}")
            con.execute(f"CREATE TEMP TABLE {name} ({columns})")
        for segment in compiled:
            con.execute(
                "INSERT INTO segment_run "
                "SELECT DISTINCT CAST(? AS VARCHAR), CAST(? AS VARCHAR), p.profile_id "
                f"FROM {PROFILES} AS p WHERE {segment.where}",
                [segment.name, segment.segment_type, *segment.params],
            )
        for outcome in outcomes:
            if outcome.sql is not None:
                con.execute(
                    "INSERT INTO segment_outcomes SELECT DISTINCT CAST(? AS VARCHAR), o.profile_id "
                    f"FROM ({outcome.sql}) AS o",
                    [outcome.kind, *outcome.params],
                )
        names = [s.name for s in compiled]
        types = {s.name: s.segment_type for s in compiled}
        removed_types: dict[str, str] = {}
        if "*" not in kept:
            other, params = in_list("segment_name", names + sorted(kept), negate=True)
            removed_types = dict(
                con.execute(
                    f"SELECT segment_name, min(segment_type) FROM {MEMBERSHIPS} "
                    f"WHERE {other} GROUP BY 1 ORDER BY 1",
                    params,
                ).fetchall()
            )
        removed = sorted(removed_types)
        touched, touched_params = in_list("segment_name", names + removed)
        evaluated = ", ".join(["(?)"] * len(names + removed)) or "(NULL)"
        stats = con.execute(
            f"""
            WITH evaluated AS (SELECT e.segment_name FROM (VALUES {evaluated}) AS e(segment_name)
                               WHERE e.segment_name IS NOT NULL),
            new AS (SELECT segment_name, profile_id FROM segment_run),
            old AS (SELECT segment_name, profile_id FROM {MEMBERSHIPS} WHERE {touched})
            SELECT e.segment_name,
                (SELECT count(*) FROM new n WHERE n.segment_name = e.segment_name),
                (SELECT count(*) FROM new n WHERE n.segment_name = e.segment_name AND NOT EXISTS (
                    SELECT 1 FROM old o
                    WHERE o.segment_name = n.segment_name AND o.profile_id = n.profile_id)),
                (SELECT count(*) FROM old o WHERE o.segment_name = e.segment_name AND NOT EXISTS (
                    SELECT 1 FROM new n
                    WHERE n.segment_name = o.segment_name AND n.profile_id = o.profile_id))
            FROM evaluated AS e ORDER BY e.segment_name
            """,
            [*(names + removed), *touched_params],
        ).fetchall()
        converted = {
            (name, kind): count
            for name, kind, count in con.execute(
                "SELECT n.segment_name, o.kind, count(DISTINCT n.profile_id) FROM segment_run AS n "
                "JOIN segment_outcomes AS o ON o.profile_id = n.profile_id GROUP BY 1, 2"
            ).fetchall()
        }
        con.execute(f"DELETE FROM {MEMBERSHIPS} WHERE {touched}", touched_params)
        con.execute(
            f"INSERT INTO {MEMBERSHIPS} "
            "SELECT segment_name, segment_type, profile_id, CAST(? AS TIMESTAMPTZ) FROM segment_run",
            [report.run_at],
        )
        notes = "; ".join(f"{kind}: {reason}" for kind, reason in report.unavailable.items()) or None
        history_columns = ", ".join(
            ["run_at", "segment_name", "segment_type", "size", "entries", "exits"]
            + [c for c, _ in CONVERSION_COLUMNS]
        )
        for name, size, entries, exits in stats:
            conversions = tuple(_conversion(o, converted.get((name, o.kind), 0), size) for o in outcomes)
            run = SegmentRun(name, types.get(name) or removed_types[name], size, entries, exits, conversions)
            values = [report.run_at, run.segment_name, run.segment_type, run.size, run.entries, run.exits]
            for conversion in conversions:
                values += [conversion.count, conversion.rate]
            values.append(notes)
            con.execute(
                f"INSERT INTO {HISTORY} ({history_columns}) VALUES ({', '.join(['?'] * len(values))})", values
            )
            if name in types:
                report.segments.append(run)
        report.removed = removed
        con.execute("DROP TABLE segment_run")
        con.execute("DROP TABLE segment_outcomes")
        con.commit()
    except Exception:
        con.rollback()
        raise


def _conversion(outcome: OutcomeQuery, count: int, size: int) -> Conversion:
    if outcome.sql is None:
        return Conversion(outcome.kind, None, None, outcome.reason)
    return Conversion(outcome.kind, count, count / size if size else None)
