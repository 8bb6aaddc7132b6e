"""Look profiles up in the read-only snapshot, reopening it whenever a new one has been moved into place."""

import threading
from datetime import date, datetime
from pathlib import Path
from typing import Any

from collector.snapshot import served_columns
from revloop.profiles import profile_contract
from revloop.warehouse import Connection, connect_warehouse

# By id first; by e-mail (several profiles may share one) the most recently seen wins.
_FIND_PROFILE = """
SELECT {columns} FROM (
    SELECT *, 0 AS rank FROM served.profiles WHERE profile_id = $key
    UNION ALL
    SELECT *, 1 AS rank FROM served.profiles WHERE email_key = lower(trim($key))
)
ORDER BY rank, last_seen_at DESC NULLS LAST, profile_id
LIMIT 1
"""
_FACTORS = """SELECT factor, points, factor_group, detail FROM served.score_factors WHERE profile_id = ?
ORDER BY abs(points) DESC, factor"""
_SEGMENTS = """SELECT segment_name, segment_type FROM served.segments WHERE profile_id = ?
ORDER BY segment_name"""


class NoSnapshot(Exception):
    """No snapshot has been written yet (the serving/profile_snapshot asset has not run)."""


def json_value(value: Any) -> Any:
    """A column value as JSON: timestamps and dates as ISO 8601 text."""
    return value.isoformat() if isinstance(value, datetime | date) else value


class ProfileStore:
    """Profiles served from the snapshot file; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._connection: Connection | None = None
        self._version: tuple[int, int, int] | None = None
        self._snapshot_at: datetime | None = None

    def _cursor(self) -> tuple[Connection, datetime]:
        """A cursor on the newest snapshot, and when that snapshot was taken."""
        try:
            stat = self.path.stat()
        except FileNotFoundError as error:
            raise NoSnapshot(f"no profile snapshot at {self.path} yet") from error
        version = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if version != self._version:
                # Attached to a fresh in-memory database: connecting to the path would hand back the cached
                # instance of the replaced file. The old one closes when its last cursor is done with it.
                connection = connect_warehouse(":memory:")
                connection.execute("ATTACH ? AS served (READ_ONLY)", [str(self.path)])
                taken = connection.execute("SELECT snapshot_at FROM served.snapshot").fetchone()[0]
                self._connection, self._version, self._snapshot_at = connection, version, taken
            return self._connection.cursor(), self._snapshot_at

    def find(self, key: str) -> dict[str, Any] | None:
        """The profile whose id is `key`, or else whose e-mail is `key`, as JSON; None when there is none."""
        cursor, snapshot_at = self._cursor()
        try:
            columns = served_columns()
            row = cursor.execute(_FIND_PROFILE.format(columns=", ".join(columns)), {"key": key}).fetchone()
            if row is None:
                return None
            profile = dict(zip(columns, (json_value(v) for v in row), strict=True))
            factors = cursor.execute(_FACTORS, [profile["profile_id"]]).fetchall()
            segments = cursor.execute(_SEGMENTS, [profile["profile_id"]]).fetchall()
        finally:
            cursor.close()
        contract = profile_contract()
        return {
            "profile_id": profile["profile_id"],
            "traits": {column: profile[column] for column in contract.traits},
            "scores": {
                **{column: profile[column] for column in contract.scores},
                "lead_score_factors": [
                    {"factor": f, "points": p, "group": g, "detail": d} for f, p, g, d in factors
                ],
            },
            "segments": [{"name": name, "type": kind} for name, kind in segments],
            "snapshot_at": json_value(snapshot_at),
        }
