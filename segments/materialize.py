"""Evaluate segments into marts.segment_memberships; log size, entries and exits in marts.segment_history.

Written with DuckDB directly in one transaction rather than through dlt: the new memberships, the diff
against the previous ones and the history row must commit together (a failed run leaves both tables as they
were), and the diff is a set operation the warehouse does in place without moving rows through Python.
"""

import datetime as dt
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from ingestion.warehouse import warehouse_path
from segments.compiler import (
    PROFILES,
    CompiledSegment,
    compile_segment,
    converted_expression,
    profile_columns,
)
from segments.definitions import SegmentError, SegmentFile, load_segments

MEMBERSHIPS = "marts.segment_memberships"
HISTORY = "marts.segment_history"

_CREATE = (
    "CREATE SCHEMA IF NOT EXISTS marts",
    f"CREATE TABLE IF NOT EXISTS {MEMBERSHIPS} (segment_name VARCHAR NOT NULL, "
    "segment_type VARCHAR NOT NULL, "
    "profile_id VARCHAR NOT NULL, evaluated_at TIMESTAMPTZ NOT NULL)",
    f"CREATE TABLE IF NOT EXISTS {HISTORY} (run_at TIMESTAMPTZ NOT NULL, segment_name VARCHAR NOT NULL, "
    "segment_type VARCHAR NOT NULL, size BIGINT NOT NULL, entries BIGINT NOT NULL, exits BIGINT NOT NULL, "
    "converted BIGINT NOT NULL, conversion_rate DOUBLE)",
)


@dataclass(frozen=True)
class SegmentRun:
    """One segment's outcome in a run."""

    segment_name: str
    segment_type: str
    size: int
    entries: int
    exits: int
    converted: int
    conversion_rate: float | None


@dataclass
class SegmentReport:
    """What a materialisation did: per-segment results, definitions that failed, warnings."""

    run_at: dt.datetime
    segments: list[SegmentRun] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every definition compiled and evaluated."""
        return not self.errors


def unmatched_members(con: duckdb.DuckDBPyConnection, item: SegmentFile) -> list[str]:
    """Entries of a static list that are neither a profile id nor a profile e-mail."""
    rows = con.execute(
        f"SELECT m.entry FROM unnest(CAST(? AS VARCHAR[])) AS m(entry) WHERE NOT EXISTS ("
        f"SELECT 1 FROM {PROFILES} AS p WHERE p.profile_id = m.entry OR lower(p.email) = lower(m.entry)) "
        "ORDER BY m.entry",
        [list(item.members)],
    ).fetchall()
    return [row[0] for row in rows]


def static_warnings(con: duckdb.DuckDBPyConnection, item: SegmentFile, today: dt.date) -> list[str]:
    """Overdue review and members that match no profile."""
    found = []
    overdue = item.review_warning(today)
    if overdue:
        found.append(overdue)
    missing = unmatched_members(con, item)
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        found.append(
            f"{item.path}: {len(missing)} of {len(item.members)} listed members match no profile: {shown}"
        )
    return found


def materialize_segments(
    warehouse: Path | None = None, config_dir: Path | None = None, as_of: dt.datetime | None = None
) -> SegmentReport:
    """Recompute every segment of config/segments in the warehouse; broken ones keep their old members."""
    run_at = as_of or dt.datetime.now(dt.UTC)
    items, errors = load_segments(config_dir)
    report = SegmentReport(run_at=run_at, errors=list(errors))
    con = duckdb.connect(str(warehouse or warehouse_path()))
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
        _write(con, compiled, _kept_names(errors, items, compiled), converted_expression(columns), report)
    finally:
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


def _write(
    con, compiled: list[CompiledSegment], kept: set[str], converted: str, report: SegmentReport
) -> None:
    for statement in _CREATE:
        con.execute(statement)
    con.begin()
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE segment_run (segment_name VARCHAR, segment_type VARCHAR, "
            "profile_id VARCHAR, converted BOOLEAN)"
        )
        for segment in compiled:
            con.execute(
                f"INSERT INTO segment_run SELECT DISTINCT ?, ?, p.profile_id, {converted} "
                f"FROM {PROFILES} AS p WHERE {segment.where}",
                [segment.name, segment.segment_type, *segment.params],
            )
        names = [s.name for s in compiled]
        types = {s.name: s.segment_type for s in compiled}
        removed_types = (
            {}
            if "*" in kept
            else dict(
                con.execute(
                    f"SELECT segment_name, any_value(segment_type) FROM {MEMBERSHIPS} "
                    "WHERE NOT list_contains(CAST(? AS VARCHAR[]), segment_name) "
                    "AND NOT list_contains(CAST(? AS VARCHAR[]), segment_name) GROUP BY 1 ORDER BY 1",
                    [names, sorted(kept)],
                ).fetchall()
            )
        )
        removed = sorted(removed_types)
        stats = con.execute(
            f"""
            WITH evaluated AS (SELECT unnest(CAST(? AS VARCHAR[])) AS segment_name),
            new AS (SELECT segment_name, profile_id, converted FROM segment_run),
            old AS (SELECT segment_name, profile_id FROM {MEMBERSHIPS}
                    WHERE list_contains(CAST(? AS VARCHAR[]), segment_name))
            SELECT e.segment_name,
                (SELECT count(*) FROM new n WHERE n.segment_name = e.segment_name),
                (SELECT count(*) FROM new n WHERE n.segment_name = e.segment_name AND NOT EXISTS (
                    SELECT 1 FROM old o
                    WHERE o.segment_name = n.segment_name AND o.profile_id = n.profile_id)),
                (SELECT count(*) FROM old o WHERE o.segment_name = e.segment_name AND NOT EXISTS (
                    SELECT 1 FROM new n
                    WHERE n.segment_name = o.segment_name AND n.profile_id = o.profile_id)),
                (SELECT count(*) FROM new n WHERE n.segment_name = e.segment_name AND n.converted)
            FROM evaluated AS e ORDER BY e.segment_name
            """,
            [names + removed, names + removed],
        ).fetchall()
        con.execute(
            f"DELETE FROM {MEMBERSHIPS} WHERE list_contains(CAST(? AS VARCHAR[]), segment_name)",
            [names + removed],
        )
        con.execute(
            f"INSERT INTO {MEMBERSHIPS} SELECT segment_name, segment_type, profile_id, ? FROM segment_run",
            [report.run_at],
        )
        for name, size, entries, exits, converted_count in stats:
            run = SegmentRun(
                name,
                types.get(name) or removed_types[name],
                size,
                entries,
                exits,
                converted_count,
                converted_count / size if size else None,
            )
            con.execute(
                f"INSERT INTO {HISTORY} VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    report.run_at,
                    run.segment_name,
                    run.segment_type,
                    run.size,
                    run.entries,
                    run.exits,
                    run.converted,
                    run.conversion_rate,
                ],
            )
            if name in types:
                report.segments.append(run)
        report.removed = removed
        con.execute("DROP TABLE segment_run")
        con.commit()
    except Exception:
        con.rollback()
        raise
