"""Read an event file (.jsonl or .jsonl.gz) as numbered lines in Arrow arrays, no Python object a line."""

import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa

NEWLINE = ord("\n")


@dataclass(frozen=True)
class LineChunk:
    """Consecutive lines of a file: `lines[i]` is line number `first_line + i` (newline kept)."""

    first_line: int
    lines: pa.Array
    # False only for a last line without a newline: the writer may not have finished it.
    terminated: bool = True

    @property
    def last_line(self) -> int:
        return self.first_line + len(self.lines) - 1


def open_event_file(path: Path) -> BinaryIO:
    """The file's bytes, decompressed when it is gzipped."""
    return gzip.open(path, "rb") if path.name.endswith(".gz") else path.open("rb")


def split_lines(data: bytes | memoryview) -> pa.Array:
    """Newline-terminated `data` as an Arrow binary array of its lines, sharing data's memory."""
    view = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(view == NEWLINE) + 1
    offsets = np.concatenate(([0], ends)).astype(np.int32)
    return pa.Array.from_buffers(pa.binary(), len(ends), [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def iter_line_chunks(path: Path, chunk_bytes: int) -> Iterator[LineChunk]:
    """The file's lines, about `chunk_bytes` (uncompressed) at a time, cut at line ends."""
    next_line = 1
    carry = b""
    with open_event_file(path) as stream:
        while block := stream.read(chunk_bytes):
            data = carry + block if carry else block
            cut = data.rfind(b"\n") + 1
            carry = data[cut:]
            if cut:
                lines = split_lines(memoryview(data)[:cut])
                yield LineChunk(next_line, lines)
                next_line += len(lines)
    if carry:
        yield LineChunk(next_line, pa.array([carry], pa.binary()), terminated=False)
