"""Read an event file (.jsonl or .jsonl.gz) as numbered lines in Arrow arrays, no Python object a line."""

import gzip
import mmap
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa

NEWLINE = ord("\n")
# A newline followed by anything but '{' (a newline at the very end is not followed by anything).
_NEWLINE_NOT_BEFORE_BRACE = re.compile(rb"\n[^{]")


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


def iter_line_chunks(path: Path, chunk_bytes: int, from_line: int = 1) -> Iterator[LineChunk]:
    """The lines from line `from_line` on, about `chunk_bytes` (uncompressed) at a time, cut at line ends."""
    next_line = 1
    carry = b""
    with open_event_file(path) as stream:
        while block := stream.read(chunk_bytes):
            data = carry + block if carry else block
            cut = data.rfind(b"\n") + 1
            carry = data[cut:]
            if cut:
                lines = split_lines(memoryview(data)[:cut])
                if next_line + len(lines) > from_line:
                    skip = max(from_line - next_line, 0)
                    yield LineChunk(next_line + skip, lines[skip:])
                next_line += len(lines)
    if carry and next_line >= from_line:
        yield LineChunk(next_line, pa.array([carry], pa.binary()), terminated=False)


def lines_at(path: Path, line_numbers: set[int], chunk_bytes: int) -> dict[int, str]:
    """The text of the given lines of the file (line end kept, bytes that are not UTF-8 replaced)."""
    found: dict[int, str] = {}
    if not line_numbers:
        return found
    for chunk in iter_line_chunks(path, chunk_bytes, min(line_numbers)):
        for number in sorted(n for n in line_numbers if chunk.first_line <= n <= chunk.last_line):
            raw = chunk.lines[number - chunk.first_line].as_py()
            found[number] = raw.decode("utf-8", errors="replace")
        if chunk.last_line >= max(line_numbers):
            break
    return found


def starts_every_line_with_brace(path: Path, chunk_bytes: int) -> bool:
    """Whether every line of the file begins with '{' (so none is blank), checked without splitting lines."""
    if not path.name.endswith(".gz"):
        with path.open("rb") as file:
            if os.fstat(file.fileno()).st_size == 0:
                return True
            with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
                return data[:1] == b"{" and _NEWLINE_NOT_BEFORE_BRACE.search(data) is None
    line_start = True
    with open_event_file(path) as stream:
        while block := stream.read(chunk_bytes):
            if line_start and block[:1] != b"{" or _NEWLINE_NOT_BEFORE_BRACE.search(block):
                return False
            line_start = block.endswith(b"\n")
    return True
