"""Lay events out as landing files per channel, with the bad records a real landing folder collects."""

import gzip
import json
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sandbox.world.events import CHANNELS, Event

# How each channel's sender splits its files: by month, quarter or a number of lines.
_SPLIT = {"website": "month", "email": 2500, "social": "quarter", "ads": "quarter", "offline": "month"}
NOT_JSON_FILE = "offline/pos_export_legacy.jsonl"


@dataclass
class EventFiles:
    """File contents by path relative to the events folder, and the lines ingestion must reject."""

    lines: dict[str, list[str]] = field(default_factory=dict)
    rejections: list[dict] = field(default_factory=list)
    valid_counts: dict[str, int] = field(default_factory=dict)

    def write(self, events_dir: Path) -> list[Path]:
        """Write every file (gzip without a timestamp, so that reruns give identical bytes)."""
        written = []
        for relative, lines in self.lines.items():
            path = Path(events_dir) / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            data = "".join(line + "\n" for line in lines).encode()
            if relative.endswith(".gz"):
                with (
                    open(path, "wb") as raw,
                    gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as out,
                ):
                    out.write(data)
            else:
                path.write_bytes(data)
            written.append(path)
        return written


def _dump(message: dict) -> str:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


def _file_key(event: Event, split: str | int, position: int) -> str:
    if split == "month":
        return event.at.strftime("%Y-%m")
    if split == "quarter":
        return f"{event.at.year}-q{(event.at.month - 1) // 3 + 1}"
    return f"part-{position // split + 1:05d}"


def _group(events: Iterable[Event], channel: str) -> dict[str, list[Event]]:
    ordered = sorted(events, key=lambda e: (e.at, e.message["messageId"]))
    groups: dict[str, list[Event]] = {}
    for position, event in enumerate(ordered):
        groups.setdefault(_file_key(event, _SPLIT[channel], position), []).append(event)
    names = {}
    for number, key in enumerate(groups):
        # senders differ: some compress their exports, some do not
        names[key] = f"{channel}/{channel}-{key}.jsonl" + (".gz" if number % 2 == 0 else "")
    return {names[key]: group for key, group in groups.items()}


def _bad_lines(template: dict, rng: random.Random) -> list[tuple[str, str]]:
    """Broken copies of a good message, each with the reason it must be rejected."""

    def variant(**changes: object) -> dict:
        copy = dict(template, messageId=f"bad-{rng.getrandbits(48):012x}")
        for key, value in changes.items():
            if value is None:
                copy.pop(key, None)
            else:
                copy[key] = value
        return copy

    truncated = _dump(variant())[:-25]
    return [
        (truncated, "malformed_json"),
        (_dump(variant(type=None)), "missing_type"),
        (_dump(variant(messageId=None)), "missing_message_id"),
        (
            _dump(variant(timestamp=rng.choice(("2026-13-45T25:61:00Z", "yesterday", "17/03/2026 10:00")))),
            "bad_timestamp",
        ),
    ]


def lay_out(events: list[Event], rng: random.Random) -> EventFiles:
    """Group events into files per channel and plant bad lines in the first file of each channel."""
    files = EventFiles()
    by_channel: dict[str, list[Event]] = {channel: [] for channel in CHANNELS}
    for event in events:
        by_channel[event.channel].append(event)
    for channel in CHANNELS:
        files.valid_counts[channel] = len(by_channel[channel])
        for number, (relative, group) in enumerate(_group(by_channel[channel], channel).items()):
            lines = [_dump(event.message) for event in group]
            if number == 0 and lines:
                _plant(files, relative, lines, group[0].message, rng)
            files.lines[relative] = lines
    csv_lines = ["order_id,email,amount,ordered_at"] + [
        f"legacy-{n},buyer{n}@example.com,{100 + n}.00,2025-12-0{n % 9 + 1}" for n in range(1, 6)
    ]
    files.lines[NOT_JSON_FILE] = csv_lines
    files.rejections.append(
        {
            "channel": "offline",
            "file": NOT_JSON_FILE,
            "line": None,
            "lines": len(csv_lines),
            "reason": "not_json_file",
            "messageId": None,
        }
    )
    return files


def _plant(files: EventFiles, relative: str, lines: list[str], template: dict, rng: random.Random) -> None:
    """Insert broken lines and one duplicate into a file, noting their 1-based line numbers."""
    channel = relative.split("/")[0]
    inserts = _bad_lines(template, rng)
    duplicate_of = json.loads(lines[0])["messageId"]
    inserts.append((lines[0], "duplicate_message_id"))
    entries: list[tuple[str, str | None]] = [(line, None) for line in lines]
    for bad, reason in inserts:
        # after the first line, so that the duplicate follows its original
        entries.insert(rng.randint(1, len(entries)), (bad, reason))
    lines[:] = [line for line, _ in entries]
    for number, (line, reason) in enumerate(entries, start=1):
        if reason:
            message_id = duplicate_of if reason == "duplicate_message_id" else _message_id(line)
            files.rejections.append(
                {
                    "channel": channel,
                    "file": relative,
                    "line": number,
                    "reason": reason,
                    "messageId": message_id,
                }
            )


def _message_id(line: str) -> str | None:
    try:
        return json.loads(line).get("messageId")
    except json.JSONDecodeError:
        return None
