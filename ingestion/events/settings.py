"""What the events source reads (channels, files, message types) and the shape of raw_events tables."""

import pyarrow as pa
from dlt.common.schema.typing import TTableSchemaColumns

DATASET = "raw_events"
PIPELINE_NAME = "events"

# One folder of EVENTS_DIR per channel; each becomes the table raw_events.<channel>.
CHANNELS = ("website", "email", "social", "ads", "offline")
FILE_SUFFIXES = (".jsonl", ".jsonl.gz")

# Segment Spec message types.
MESSAGE_TYPES = ("track", "page", "identify", "screen", "group", "alias")

# Uncompressed bytes read per step: bounds memory whatever the file size.
CHUNK_BYTES = 64 * 1024 * 1024
# DuckDB scans each Arrow record batch on its own thread, so a chunk is cut into batches of this many lines.
BATCH_LINES = 20_000
# Rows per table handed to dlt when DuckDB reads a whole file: large enough to keep per-batch costs small,
# small enough to bound memory (~0.5 KB a row).
BATCH_ROWS = 250_000
# Longest line DuckDB's reader accepts; a file with a longer line is read line by line instead.
MAX_LINE_BYTES = 16 * 1024 * 1024

# Columns of every raw_events.<channel> table, in order.
EVENT_COLUMNS: TTableSchemaColumns = {
    "message_id": {"data_type": "text", "nullable": False, "primary_key": True},
    "type": {"data_type": "text", "nullable": False},
    "event": {"data_type": "text"},
    "name": {"data_type": "text"},
    "user_id": {"data_type": "text"},
    "anonymous_id": {"data_type": "text"},
    "group_id": {"data_type": "text"},
    "previous_id": {"data_type": "text"},
    "timestamp": {"data_type": "timestamp", "timezone": True, "nullable": False},
    "sent_at": {"data_type": "timestamp", "timezone": True},
    "received_at": {"data_type": "timestamp", "timezone": True},
    "channel": {"data_type": "text", "nullable": False},
    "email": {"data_type": "text"},
    "phone": {"data_type": "text"},
    "ip": {"data_type": "text"},
    "user_agent": {"data_type": "text"},
    "device_id": {"data_type": "text"},
    # JSON text as sent (DuckDB's JSON functions read it); a "json" hint would make dlt warn on every
    # Arrow table, as Arrow has no JSON type for it to compare with.
    "properties": {"data_type": "text"},
    "traits": {"data_type": "text"},
    "context": {"data_type": "text"},
    "source_file": {"data_type": "text", "nullable": False},
    "source_line": {"data_type": "bigint", "nullable": False},
}

# dlt's load id, added to every row the resource yields (not part of EVENT_SCHEMA, which the reader builds).
LOAD_ID_COLUMN = "_dlt_load_id"

_ARROW_TYPES = {
    "text": pa.string(),
    "bigint": pa.int64(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}
# The Arrow schema the resource yields: nullability as in the dlt hints, so dlt takes the tables as they are.
EVENT_SCHEMA = pa.schema(
    [
        pa.field(name, _ARROW_TYPES[hints["data_type"]], nullable=hints.get("nullable", True))
        for name, hints in EVENT_COLUMNS.items()
    ]
)
