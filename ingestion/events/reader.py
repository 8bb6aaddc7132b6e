"""Turn a channel's new event files into Arrow tables of valid messages, and bad lines into rejections."""

import gzip
import zlib
from collections.abc import Callable, Iterator, MutableMapping
from pathlib import Path

import duckdb
import pyarrow as pa

from ingestion.events.destination import EMPTY_IDS
from ingestion.events.files import Fingerprint, changed_files, event_files
from ingestion.events.lines import LineChunk, iter_line_chunks
from ingestion.events.messages import RejectedLine, connect, lines_table, parse_messages, remember_message_ids
from ingestion.events.settings import CHUNK_BYTES
from ingestion.quarantine import Rejections

INVALID_JSON = "invalid JSON"
NOT_UTF8 = "not UTF-8 text"
# Reasons that say a line is no JSON object at all; a file made only of such lines is not an event file.
NOT_A_MESSAGE = (INVALID_JSON, NOT_UTF8, "not a JSON object")
UNFINISHED_LINE_NOTE = " (last line, with no newline at its end: the file may still be being written)"


def quarantine_source(channel: str) -> str:
    """The `source` value of this channel's rows in quarantine.rejected_records."""
    return f"events.{channel}"


def read_error_kind(error: Exception) -> str:
    """What a read error says about the file, in words."""
    if isinstance(error, gzip.BadGzipFile):
        return "not a gzip file"
    if isinstance(error, EOFError):
        return "truncated gzip file"
    if isinstance(error, zlib.error):
        return "corrupt gzip data"
    return type(error).__name__


def decode_lines(chunk: LineChunk) -> tuple[pa.Array, list[RejectedLine]]:
    """The chunk's lines as UTF-8 strings; lines that are not UTF-8 become null and are rejected."""
    try:
        return chunk.lines.cast(pa.string()), []
    except pa.ArrowInvalid:
        texts: list[str | None] = []
        rejected = []
        for offset, raw in enumerate(chunk.lines.to_pylist()):
            try:
                texts.append(raw.decode("utf-8"))
            except UnicodeDecodeError:
                texts.append(None)
                line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                rejected.append(RejectedLine(chunk.first_line + offset, NOT_UTF8, line))
        return pa.array(texts, pa.string()), rejected


def read_event_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    channel: str,
    source_file: str,
    rejections: Rejections,
    chunk_bytes: int = CHUNK_BYTES,
) -> Iterator[pa.Table]:
    """Valid messages of one file as Arrow tables; refused lines (or the whole file) go to rejections."""
    source = quarantine_source(channel)
    rejected: list[RejectedLine] = []
    valid_count = 0
    lines_read = 0
    try:
        for chunk in iter_line_chunks(path, chunk_bytes):
            texts, undecodable = decode_lines(chunk)
            parsed = parse_messages(con, lines_table(chunk.first_line, texts), channel, source_file)
            rejected += undecodable + parsed.rejected
            if not chunk.terminated and rejected and rejected[-1].line_no == chunk.last_line:
                last = rejected[-1]
                rejected[-1] = RejectedLine(last.line_no, last.reason + UNFINISHED_LINE_NOTE, last.line)
            lines_read = chunk.last_line
            if parsed.messages.num_rows:
                valid_count += parsed.messages.num_rows
                yield parsed.messages
    except (OSError, EOFError, zlib.error) as error:
        # A corrupt or truncated .gz: keep what was read before the damage, quarantine the rest.
        reason = f"unreadable file after line {lines_read}: {read_error_kind(error)}: {error}"
        rejections.add(source, source_file, reason, {"file": source_file, "lines_read": lines_read})
    if valid_count == 0 and rejected and all(r.reason.startswith(NOT_A_MESSAGE) for r in rejected):
        reason = (
            f"not a newline-delimited JSON file: none of its {len(rejected)} non-blank lines is a JSON object"
        )
        rejections.add(source, source_file, reason, rejected[0].line)
        return
    for line in rejected:
        rejections.add(source, f"{source_file}:{line.line_no}", line.reason, line.line)


def read_channel(
    channel_dir: Path,
    channel: str,
    rejections: Rejections,
    loaded: MutableMapping[str, Fingerprint],
    known_message_ids: Callable[[], pa.Table] = lambda: EMPTY_IDS,
) -> Iterator[pa.Table]:
    """Valid messages of the channel's new or changed files; `loaded` (file name -> fingerprint) is updated.

    Each message id comes out once: repeats within the run and ids from `known_message_ids` (asked only
    when there is something to read) are dropped. A changed file is read again whole for that reason.
    """
    files = event_files(channel_dir)
    to_read = changed_files(files, dict(loaded))
    con = connect()
    try:
        if to_read:
            remember_message_ids(con, known_message_ids())
        for path, print_ in to_read:
            yield from read_event_file(con, path, channel, f"{channel}/{path.name}", rejections)
            loaded[path.name] = print_
    finally:
        con.close()
    present = {path.name for path in files}
    for name in [name for name in loaded if name not in present]:
        del loaded[name]
