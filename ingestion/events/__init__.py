"""dlt source of Segment Spec event files: one resource (and raw_events table) per channel."""

from pathlib import Path

import dlt
import pyarrow as pa
from dlt.extract.resource import DltResource

from ingestion.events.destination import loaded_message_ids
from ingestion.events.read_ahead import read_ahead
from ingestion.events.reader import read_channel
from ingestion.events.settings import CHANNELS, EVENT_COLUMNS, LOAD_ID_COLUMN
from ingestion.quarantine import Rejections


def channel_resource(events_dir: Path, channel: str, rejections: Rejections) -> DltResource:
    """Resource loading <events_dir>/<channel>/*.jsonl[.gz] into raw_events.<channel>, each version once."""

    @dlt.resource(
        name=channel,
        # Appended, not merged: the reader drops every message whose id is already in the table or
        # earlier in the run (events are immutable, so a repeat is a resend and the first copy wins),
        # which spares the load a staging copy and a delete-insert over the whole batch.
        write_disposition="append",
        primary_key="message_id",
        columns=EVENT_COLUMNS,
    )
    def channel_events():
        loaded = dlt.current.resource_state().setdefault("loaded_files", {})
        # Taken here: dlt.current is per thread, and the reader runs in a read-ahead thread.
        pipeline = dlt.current.pipeline()
        files = read_channel(
            events_dir / channel, channel, rejections, loaded, lambda: loaded_message_ids(pipeline, channel)
        )
        # dlt adds its load id to Arrow tables only when told to for every source: the events add their
        # own, which drives the incremental staging models (dbt_project/macros/staging/incremental.sql).
        load_id = pa.scalar(dlt.current.load_package_state()["load_id"], pa.string())
        for table in read_ahead(files):
            yield table.append_column(LOAD_ID_COLUMN, pa.repeat(load_id, table.num_rows))

    return channel_events


@dlt.source(name="events")
def events_source(events_dir: Path | str, rejections: Rejections):
    """Event files of every channel under `events_dir`; refused lines and files are added to `rejections`."""
    return [channel_resource(Path(events_dir), channel, rejections) for channel in CHANNELS]
