"""The webhook spool: verified HubSpot events kept in an SQLite file beside the warehouse, once per event.

The collector appends while runs hold the DuckDB warehouse, and the sensor reads while the collector
writes: SQLite (WAL mode) lets both processes in at once, where DuckDB allows one. Each event is kept once
(HubSpot retries a delivery, and a replayed request carries the same events), numbered in arrival order
so that a sensor cursor is one number. Property values are not kept: ingestion reads them from HubSpot.
"""

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ingestion.webhooks.batch import WebhookEvent
from revloop.warehouse import state_dir

SPOOL_NAME = "hubspot_webhooks.sqlite3"
# Events older than this are dropped when new ones arrive: the poll and the hourly run cover them by then.
KEEP_MS = 7 * 24 * 3600 * 1000
_SCHEMA = """
create table if not exists hubspot_events (
    seq integer primary key autoincrement,
    event_id text not null,
    subscription_type text not null,
    object_type text not null,
    object_id text not null,
    occurred_at_ms integer not null,
    property_name text,
    change_source text,
    portal_id text,
    attempt_number integer not null,
    received_at_ms integer not null,
    unique (event_id, subscription_type, object_id)
)
"""


@dataclass(frozen=True)
class SpooledEvent:
    """An event as the spool numbered it."""

    seq: int
    object_type: str
    object_id: str
    occurred_at: datetime


def spool_path(warehouse: Path | None = None) -> Path:
    """The spool file: in the warehouse's state folder, so that each warehouse has its own."""
    return state_dir(warehouse) / SPOOL_NAME


def _moment(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


class WebhookSpool:
    """One spool file; every call opens its own short connection (safe across threads and processes)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=10)
        connection.execute("pragma journal_mode=wal")
        # an acknowledged event survives a power cut: the commit is on disk before HubSpot gets its 200
        connection.execute("pragma synchronous=full")
        connection.execute(_SCHEMA)
        return connection

    def record(self, events: Iterable[WebhookEvent], received_at_ms: int) -> int:
        """Keep the events not kept yet, in one transaction; how many were new."""
        rows = [
            (e.event_id, e.subscription_type, e.object_type, e.object_id, e.occurred_at_ms, e.property_name,
             e.change_source, e.portal_id, e.attempt_number, received_at_ms)
            for e in events
        ]
        connection = self._connect()
        try:
            with connection:
                before = connection.total_changes
                connection.executemany(
                    "insert or ignore into hubspot_events (event_id, subscription_type, object_type, "
                    "object_id, occurred_at_ms, property_name, change_source, portal_id, attempt_number, "
                    "received_at_ms) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
                new = connection.total_changes - before
                connection.execute(
                    "delete from hubspot_events where received_at_ms < ?", [received_at_ms - KEEP_MS]
                )
            return new
        finally:
            connection.close()

    def since(self, seq: int, object_type: str, limit: int) -> list[SpooledEvent]:
        """Up to `limit` events of object_type numbered after seq, newest first."""
        if not self.path.exists():
            return []
        connection = self._connect()
        try:
            rows = connection.execute(
                "select seq, object_type, object_id, occurred_at_ms from hubspot_events "
                "where object_type = ? and seq > ? order by seq desc limit ?",
                [object_type, seq, limit],
            ).fetchall()
        finally:
            connection.close()
        return [SpooledEvent(s, kind, object_id, _moment(ms)) for s, kind, object_id, ms in rows]

    def announced(self, object_ids: Sequence[str]) -> dict[str, datetime]:
        """The newest change time a webhook reported for each record id, of any object type (ids never
        reported are absent)."""
        if not object_ids or not self.path.exists():
            return {}
        connection = self._connect()
        try:
            connection.execute("create temp table wanted (object_id text primary key)")
            connection.executemany("insert or ignore into wanted values (?)", [(str(i),) for i in object_ids])
            rows = connection.execute(
                "select object_id, max(occurred_at_ms) from hubspot_events "
                "where object_id in (select object_id from wanted) group by object_id"
            ).fetchall()
        finally:
            connection.close()
        return {object_id: _moment(ms) for object_id, ms in rows}
