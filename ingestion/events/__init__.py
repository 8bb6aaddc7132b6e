"""dlt source of Segment Spec event files: one resource (and raw_events table) per channel."""

from pathlib import Path

import dlt
from dlt.extract.resource import DltResource

from ingestion.events.reader import read_channel
from ingestion.events.settings import CHANNELS, EVENT_COLUMNS
from ingestion.quarantine import Rejections


def channel_resource(events_dir: Path, channel: str, rejections: Rejections) -> DltResource:
    """Resource loading <events_dir>/<channel>/*.jsonl[.gz] into raw_events.<channel>, each file once."""

    @dlt.resource(
        name=channel,
        # Repeats within a run are dropped while reading (reader.read_channel), so dlt's staging dedup is
        # skipped; delete-insert still replaces a message that an earlier run loaded.
        write_disposition={"disposition": "merge", "strategy": "delete-insert", "deduplicated": True},
        primary_key="message_id",
        columns=EVENT_COLUMNS,
    )
    def channel_events():
        loaded = dlt.current.resource_state().setdefault("loaded_files", {})
        yield from read_channel(events_dir / channel, channel, rejections, loaded)

    return channel_events


@dlt.source(name="events")
def events_source(events_dir: Path | str, rejections: Rejections):
    """Event files of every channel under `events_dir`; refused lines and files are added to `rejections`."""
    return [channel_resource(Path(events_dir), channel, rejections) for channel in CHANNELS]
