"""Write the profile API's read-only snapshot: a small DuckDB file of profiles, scores and segments.

The API never opens the warehouse: DuckDB allows one writer, and even a read-only reader would block the
next run. The snapshot is built in a temporary file and moved into place with os.replace, so a reader sees
either the previous snapshot or the new one, never a half-written file.
"""

import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from collector.writer import fsync_dir
from revloop.profiles import profile_contract
from revloop.warehouse import connect_warehouse, warehouse_path

SNAPSHOT_ENV = "REVLOOP_PROFILE_SNAPSHOT"
SNAPSHOT_NAME = "profile_snapshot.duckdb"
_TABLES = (
    """CREATE TABLE segments AS
    SELECT DISTINCT profile_id, segment_name, segment_type FROM warehouse.marts.segment_memberships""",
    """CREATE TABLE score_factors AS
    SELECT profile_id, factor, points, factor_group, detail FROM warehouse.marts.lead_score_factors""",
    "CREATE TABLE snapshot AS SELECT $snapshot_at::TIMESTAMPTZ AS snapshot_at",
    # Point lookups by id and by e-mail, each in well under a millisecond.
    "CREATE INDEX profiles_id ON profiles (profile_id)",
    "CREATE INDEX profiles_email ON profiles (email_key)",
    "CREATE INDEX segments_profile ON segments (profile_id)",
    "CREATE INDEX score_factors_profile ON score_factors (profile_id)",
)


def served_columns() -> tuple[str, ...]:
    """The marts.customer_profiles columns the profile API serves: its contract's traits and scores."""
    contract = profile_contract()
    return ("profile_id", *contract.traits, *contract.scores)


def _build() -> tuple[str, ...]:
    """The statements that fill a snapshot from the attached warehouse."""
    profiles = (
        f"CREATE TABLE profiles AS SELECT {', '.join(served_columns())}, lower(trim(email)) AS email_key "
        "FROM warehouse.marts.customer_profiles"
    )
    return (profiles, *_TABLES)


@dataclass(frozen=True)
class SnapshotStats:
    """What a snapshot holds."""

    path: Path
    profiles: int
    memberships: int
    score_factors: int
    snapshot_at: datetime


def snapshot_path(warehouse: Path | None = None) -> Path:
    """The snapshot file: REVLOOP_PROFILE_SNAPSHOT, or profile_snapshot.duckdb beside the warehouse."""
    configured = os.environ.get(SNAPSHOT_ENV)
    if configured:
        return Path(configured).resolve()
    return (warehouse or warehouse_path()).parent / SNAPSHOT_NAME


def write_profile_snapshot(
    warehouse: Path, target: Path, snapshot_at: datetime | None = None
) -> SnapshotStats:
    """Copy profiles, scores, factors and segment memberships from the warehouse into `target`, atomically."""
    snapshot_at = snapshot_at or datetime.now(UTC)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        con = connect_warehouse(temporary, warehouse=warehouse)
        try:
            con.execute("ATTACH ? AS warehouse (READ_ONLY)", [str(warehouse)])
            for statement in _build():
                con.execute(statement, {"snapshot_at": snapshot_at} if "$snapshot_at" in statement else None)
            counts = [
                con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in ("profiles", "segments", "score_factors")
            ]
            con.execute("DETACH warehouse")
            con.execute("CHECKPOINT")
        finally:
            con.close()
        with temporary.open("rb") as file:
            os.fsync(file.fileno())
        os.replace(temporary, target)
        fsync_dir(target.parent)
    finally:
        for leftover in (temporary, temporary.with_name(temporary.name + ".wal")):
            leftover.unlink(missing_ok=True)
    return SnapshotStats(target, *counts, snapshot_at)
