"""Turn a channel's new event files into Arrow tables of valid messages, and bad lines into rejections."""

import gzip
import logging
import zlib
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from ingestion.events.destination import EMPTY_IDS
from ingestion.events.files import Fingerprint, changed_files, event_files
from ingestion.events.lines import LineChunk, iter_line_chunks, lines_at, starts_every_line_with_brace
from ingestion.events.messages import (
    FileReaderStopped,
    ParsedLines,
    RejectedLine,
    connect,
    lines_table,
    parse_file_messages,
    parse_messages,
    remember_message_ids,
)
from ingestion.events.settings import BATCH_ROWS, CHUNK_BYTES
from ingestion.quarantine import Rejections

INVALID_JSON = "invalid JSON"
NOT_UTF8 = "not UTF-8 text"
# Reasons that say a line is no JSON object at all; a file made only of such lines is not an event file.
NOT_A_MESSAGE = (INVALID_JSON, NOT_UTF8, "not a JSON object")
log = logging.getLogger(__name__)

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


@dataclass
class FileReading:
    """What reading one file has found so far."""

    # Valid messages read, repeats of loaded ones included (a file of those is still an event file).
    valid_count: int = 0
    lines_done: int = 0
    rejected: list[RejectedLine] = field(default_factory=list)

    def take(self, parsed: ParsedLines) -> pa.Table:
        """Counts a parsed batch in and hands back its valid messages."""
        self.rejected += parsed.rejected
        self.valid_count += parsed.messages.num_rows + parsed.repeats
        self.lines_done = max(self.lines_done, parsed.last_line or 0)
        return parsed.messages


def read_event_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    channel: str,
    source_file: str,
    rejections: Rejections,
    chunk_bytes: int = CHUNK_BYTES,
    batch_rows: int = BATCH_ROWS,
) -> Iterator[pa.Table]:
    """Valid messages of one file as Arrow tables; refused lines (or the whole file) go to rejections.

    DuckDB's JSON reader takes the file whole when it can (every line starts with '{'); from the first line
    it cannot parse on, or for any other file, the lines are read and judged one by one.
    """
    source = quarantine_source(channel)
    reading = FileReading()
    if whole_file_readable(path, chunk_bytes):
        try:
            for parsed in parse_file_messages(con, path, channel, source_file, batch_rows):
                messages = reading.take(parsed)
                if messages.num_rows:
                    yield messages
        except FileReaderStopped as error:
            log.debug("%s: line by line from line %d on: %s", source_file, reading.lines_done + 1, error)
        else:
            fill_in_line_texts(path, reading.rejected, chunk_bytes)
            report_rejected_lines(rejections, source, source_file, reading.rejected)
            return
    fill_in_line_texts(path, reading.rejected, chunk_bytes)
    try:
        for chunk in iter_line_chunks(path, chunk_bytes, reading.lines_done + 1):
            texts, undecodable = decode_lines(chunk)
            parsed = parse_messages(con, lines_table(chunk.first_line, texts), channel, source_file)
            reading.rejected += undecodable
            messages = reading.take(parsed)
            rejected = reading.rejected
            if not chunk.terminated and rejected and rejected[-1].line_no == chunk.last_line:
                last = rejected[-1]
                rejected[-1] = RejectedLine(last.line_no, last.reason + UNFINISHED_LINE_NOTE, last.line)
            reading.lines_done = chunk.last_line
            if messages.num_rows:
                yield messages
    except (OSError, EOFError, zlib.error) as error:
        # A corrupt or truncated .gz: keep what was read before the damage, quarantine the rest.
        lines_read = reading.lines_done
        reason = f"unreadable file after line {lines_read}: {read_error_kind(error)}: {error}"
        rejections.add(source, source_file, reason, {"file": source_file, "lines_read": lines_read})
    rejected = reading.rejected
    if reading.valid_count == 0 and rejected and all(r.reason.startswith(NOT_A_MESSAGE) for r in rejected):
        reason = (
            f"not a newline-delimited JSON file: none of its {len(rejected)} non-blank lines is a JSON object"
        )
        rejections.add(source, source_file, reason, rejected[0].line)
        return
    report_rejected_lines(rejections, source, source_file, rejected)


def whole_file_readable(path: Path, chunk_bytes: int) -> bool:
    """Whether DuckDB's reader may take the file whole: one JSON object a line, none blank, readable."""
    try:
        return starts_every_line_with_brace(path, chunk_bytes)
    except (OSError, EOFError, zlib.error):
        return False  # read line by line, which keeps what comes before the damage


def fill_in_line_texts(path: Path, rejected: list[RejectedLine], chunk_bytes: int) -> None:
    """Give the rejected lines read without their text (by DuckDB's reader) their text from the file."""
    missing = {r.line_no for r in rejected if r.line is None}
    if not missing:
        return
    texts = lines_at(path, missing, chunk_bytes)
    for index, line in enumerate(rejected):
        if line.line is None:
            text = texts.get(line.line_no, "")
            note = "" if text.endswith("\n") else UNFINISHED_LINE_NOTE
            rejected[index] = RejectedLine(line.line_no, line.reason + note, text.rstrip("\r\n"))


def report_rejected_lines(
    rejections: Rejections, source: str, source_file: str, rejected: list[RejectedLine]
) -> None:
    """Add each refused line to rejections, identified as <file>:<line number>."""
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
