"""Records a source refused, with the reason, kept in quarantine.rejected_records instead of being lost."""

import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa

from ingestion.warehouse import make_pipeline

QUARANTINE_DATASET = "quarantine"
REJECTED_RECORDS_TABLE = "rejected_records"

REJECTED_RECORDS_SCHEMA = pa.schema(
    [
        pa.field("source", pa.string(), nullable=False),
        pa.field("record_id", pa.string()),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("payload", pa.string()),
        pa.field("rejected_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("rejection_key", pa.string(), nullable=False),
    ]
)


@dataclass(frozen=True)
class Rejection:
    """One refused record: where it came from, which one, why, and what it said."""

    source: str
    record_id: str | None
    reason: str
    payload: str | None
    rejected_at: datetime

    @property
    def key(self) -> str:
        """Identifies the refusal itself: the same record refused for the same reason by the same source."""
        payload = None if self.record_id else self.payload
        identity = json.dumps([self.source, self.record_id, self.reason, payload])
        return hashlib.sha256(identity.encode()).hexdigest()


def payload_text(payload: Any) -> str | None:
    """The payload as text: strings kept as they are, bytes decoded leniently, anything else as JSON."""
    if payload is None or isinstance(payload, str):
        return payload
    if isinstance(payload, bytes | bytearray | memoryview):
        return bytes(payload).decode("utf-8", errors="replace")
    return json.dumps(payload, default=str, ensure_ascii=False)


class Rejections:
    """Collects rejected records during a run (thread-safe); load_rejections writes them out."""

    def __init__(self) -> None:
        self._items: list[Rejection] = []
        self._lock = threading.Lock()

    def add(self, source: str, record_id: str | None, reason: str, payload: Any = None) -> None:
        """Record that `source` refused `record_id` because of `reason`."""
        rejection = Rejection(source, record_id, reason, payload_text(payload), datetime.now(UTC))
        with self._lock:
            self._items.append(rejection)

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Rejection]:
        with self._lock:
            return iter(list(self._items))

    def forget_first(self, count: int) -> None:
        """Drop the `count` oldest rejections (those just loaded); later ones stay."""
        with self._lock:
            del self._items[:count]

    def to_arrow(self, count: int | None = None) -> pa.Table:
        """The (first `count`) rejections as an Arrow table shaped like quarantine.rejected_records."""
        with self._lock:
            items = self._items[:count]
        return pa.table(
            {
                "source": [r.source for r in items],
                "record_id": [r.record_id for r in items],
                "reason": [r.reason for r in items],
                "payload": [r.payload for r in items],
                "rejected_at": [r.rejected_at for r in items],
                "rejection_key": [r.key for r in items],
            },
            schema=REJECTED_RECORDS_SCHEMA,
        )


def load_rejections(rejections: Rejections, warehouse: Path | None = None) -> int:
    """Append the collected rejections to quarantine.rejected_records and forget them; returns how many."""
    count = len(rejections)
    if count == 0:
        return 0
    # The same refusal seen again (a re-sent file, a re-read page) stays one row, with its latest time.
    resource = dlt.resource(
        rejections.to_arrow(count),
        name=REJECTED_RECORDS_TABLE,
        write_disposition="merge",
        primary_key="rejection_key",
        columns={"payload": {"data_type": "text"}, "record_id": {"data_type": "text"}},
    )
    make_pipeline("quarantine", QUARANTINE_DATASET, warehouse).run(resource)
    rejections.forget_first(count)
    return count
