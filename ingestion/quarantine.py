"""Records a source refused, with the reason, kept in quarantine.rejected_records instead of being lost.

A run's refusals are spooled to a file beside the warehouse as they happen, before the dlt run that refused
them commits its cursors, and leave the spool only once quarantine.rejected_records holds them. A kill at
any point therefore loses none (the spool, or the re-read of uncommitted input, still has them) and doubles
none (the merge on rejection_key keeps one row per refusal).
"""

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

from revloop.warehouse import make_pipeline, state_dir

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

    def to_json(self) -> str:
        """One spool line."""
        fields = [self.source, self.record_id, self.reason, self.payload, self.rejected_at.isoformat()]
        return json.dumps(fields, ensure_ascii=False)

    @classmethod
    def from_json(cls, line: str) -> "Rejection":
        source, record_id, reason, payload, rejected_at = json.loads(line)
        return cls(source, record_id, reason, payload, datetime.fromisoformat(rejected_at))


def payload_text(payload: Any) -> str | None:
    """The payload as text: strings kept as they are, bytes decoded leniently, anything else as JSON."""
    if payload is None or isinstance(payload, str):
        return payload
    if isinstance(payload, bytes | bytearray | memoryview):
        return bytes(payload).decode("utf-8", errors="replace")
    return json.dumps(payload, default=str, ensure_ascii=False)


def spool_file(pipeline_name: str, warehouse: Path | None = None) -> Path:
    """Where a pipeline's refusals wait for quarantine.rejected_records, beside the warehouse."""
    return state_dir(warehouse) / "quarantine" / f"{pipeline_name}.jsonl"


class Rejections:
    """Collects rejected records during a run (thread-safe); load_rejections writes them out.

    With a `spool` file each refusal is also appended there at once (a killed process loses nothing the OS
    has), and load_rejections takes the spool's refusals, those left by a killed earlier run included.
    """

    def __init__(self, spool: Path | None = None) -> None:
        self._items: list[Rejection] = []
        self._lock = threading.Lock()
        self._spool = spool
        if spool is not None:
            spool.parent.mkdir(parents=True, exist_ok=True)
            _drop_torn_line(spool)

    @classmethod
    def spooled(cls, pipeline_name: str, warehouse: Path | None = None) -> "Rejections":
        """Rejections spooled to the pipeline's spool_file."""
        return cls(spool_file(pipeline_name, warehouse))

    def add(self, source: str, record_id: str | None, reason: str, payload: Any = None) -> None:
        """Record that `source` refused `record_id` because of `reason`."""
        rejection = Rejection(source, record_id, reason, payload_text(payload), datetime.now(UTC))
        with self._lock:
            if self._spool is not None:
                with self._spool.open("a", encoding="utf-8") as spool:
                    spool.write(rejection.to_json() + "\n")
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
        return rejections_table(items)

    def pending(self) -> tuple[list[Rejection], int]:
        """The refusals waiting for the warehouse, and the spool bytes (or in-memory items) they fill."""
        with self._lock:
            if self._spool is None:
                return list(self._items), len(self._items)
            if not self._spool.exists():
                return [], 0
            text = self._spool.read_bytes()
        complete = text[: text.rfind(b"\n") + 1]
        lines = complete.decode("utf-8").splitlines()
        return [Rejection.from_json(line) for line in lines if line], len(complete)

    def forget_pending(self, extent: int) -> None:
        """Drop what pending() returned (its `extent`), once it is in the warehouse; later ones stay."""
        with self._lock:
            if self._spool is None:
                del self._items[:extent]
                return
            self._items.clear()
            rest = self._spool.read_bytes()[extent:]
            # Replaced whole (write then rename): a kill leaves either the old spool or the new one.
            temporary = self._spool.with_suffix(".tmp")
            temporary.write_bytes(rest)
            temporary.replace(self._spool)


def _drop_torn_line(spool: Path) -> None:
    """Cut a last line left half-written by a killed run (its input was never committed: it is read again)."""
    if not spool.exists():
        return
    text = spool.read_bytes()
    if text and not text.endswith(b"\n"):
        spool.write_bytes(text[: text.rfind(b"\n") + 1])


def rejections_table(items: list[Rejection]) -> pa.Table:
    """Rejections as an Arrow table shaped like quarantine.rejected_records."""
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
    """Merge the pending rejections into quarantine.rejected_records, then forget them; returns how many."""
    items, extent = rejections.pending()
    if not items:
        return 0
    # The same refusal seen again (a re-sent file, a re-read page, input read again after a kill) stays
    # one row, with its latest time.
    latest = {item.key: item for item in sorted(items, key=lambda item: item.rejected_at)}
    resource = dlt.resource(
        rejections_table(list(latest.values())),
        name=REJECTED_RECORDS_TABLE,
        write_disposition="merge",
        primary_key="rejection_key",
        columns={"payload": {"data_type": "text"}, "record_id": {"data_type": "text"}},
    )
    pipeline = make_pipeline("quarantine", QUARANTINE_DATASET, warehouse)
    if pipeline.has_pending_data:
        # A load killed halfway: finish it first, as run() would do instead of taking these rejections.
        pipeline.normalize()
        pipeline.load()
    pipeline.run(resource)
    rejections.forget_pending(extent)
    return len(items)
