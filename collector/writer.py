"""Durable, rotating JSONL files per channel: appended and fsynced under a hidden name, renamed into place.

Ingestion reads EVENTS_DIR/<channel>/*.jsonl and skips dot-files, and reads each file version once; so a
file is written as `.<name>.jsonl.part` and only renamed to `<name>.jsonl` when finished (by size, age or
shutdown): ingestion never sees a file that can still grow.
"""

import fcntl
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

PART_SUFFIX = ".part"
log = logging.getLogger(__name__)


def fsync_dir(folder: Path) -> None:
    """Make a rename or a new file in `folder` survive a crash."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def final_name(part: Path) -> Path:
    """Where a part file goes when finished: `.<name>.jsonl.part` -> `<name>.jsonl`."""
    return part.with_name(part.name[1 : -len(PART_SUFFIX)])


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of `data` (os.write may write fewer)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def recover_parts(folder: Path) -> list[Path]:
    """Finish the part files a crashed writer left: keep every complete line, rename into place.

    Lines were fsynced before their sender got a 200, so they must not be lost; a last line without its
    newline was never acknowledged and is cut off. A part file still locked by a live writer is left alone.
    """
    recovered = []
    for part in sorted(folder.glob(f".*.jsonl{PART_SUFFIX}")):
        fd = os.open(part, os.O_RDWR)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            size = os.fstat(fd).st_size
            data = os.pread(fd, size, 0)
            complete = data.rfind(b"\n") + 1
            if complete < size:
                os.ftruncate(fd, complete)
                os.fsync(fd)
            if complete == 0:
                part.unlink()
            else:
                os.rename(part, final_name(part))
                recovered.append(final_name(part))
        finally:
            os.close(fd)
    if recovered:
        fsync_dir(folder)
    return recovered


class ChannelWriter:
    """Appends lines to one channel's open file (thread-safe); each append is on disk when it returns."""

    def __init__(
        self,
        folder: Path,
        channel: str,
        max_file_bytes: int,
        max_file_age_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.folder = folder
        self.channel = channel
        self.max_file_bytes = max_file_bytes
        self.max_file_age_s = max_file_age_s
        self.clock = clock
        self.lock = threading.Lock()
        self._fd: int | None = None
        self._part: Path | None = None
        self._size = 0
        self._opened_at = 0.0
        folder.mkdir(parents=True, exist_ok=True)
        self.recovered = recover_parts(folder)

    def append(self, lines: Iterable[bytes]) -> None:
        """Write the lines (each without its newline) and fsync; all or none are in the file afterwards."""
        data = b"".join(line + b"\n" for line in lines)
        if not data:
            return
        with self.lock:
            if self._fd is None:
                self._open()
            try:
                write_all(self._fd, data)
                os.fsync(self._fd)
            except OSError:
                # e.g. a full disk: cut off what was written, so no half line stays before the next append.
                os.ftruncate(self._fd, self._size)
                raise
            self._size += len(data)
            if self._size >= self.max_file_bytes:
                self._finish()

    def rotate_if_old(self) -> Path | None:
        """Finish the open file if it is older than max_file_age_s; the finished file's path, if any."""
        with self.lock:
            if self._fd is not None and self.clock() - self._opened_at >= self.max_file_age_s:
                return self._finish()
        return None

    def close(self) -> Path | None:
        """Finish the open file (shutdown); the finished file's path, if there was one."""
        with self.lock:
            return self._finish() if self._fd is not None else None

    def _open(self) -> None:
        # Named by opening time, so that name order (the order ingestion reads in) is arrival order.
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        name = f"{self.channel}-{stamp}-{uuid.uuid4().hex[:8]}.jsonl"
        part = self.folder / f".{name}{PART_SUFFIX}"
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        # The lock tells recover_parts in another collector process that this file is alive.
        fcntl.flock(fd, fcntl.LOCK_EX)
        fsync_dir(self.folder)
        self._fd, self._part, self._size, self._opened_at = fd, part, 0, self.clock()

    def _finish(self) -> Path:
        finished = final_name(self._part)
        # Renamed while still locked, so that no recovery can take the file between rename and close.
        os.rename(self._part, finished)
        fsync_dir(self.folder)
        os.close(self._fd)
        self._fd, self._part, self._size = None, None, 0
        return finished


class Writers:
    """One ChannelWriter per channel under EVENTS_DIR, and a thread that finishes files by age."""

    def __init__(self, events_dir: Path, channels: Iterable[str], max_file_bytes: int, max_file_age_s: float):
        self.by_channel = {
            channel: ChannelWriter(events_dir / channel, channel, max_file_bytes, max_file_age_s)
            for channel in channels
        }
        self._stop = threading.Event()
        # Checks a few times per age bound, at most once a second.
        self._interval = min(1.0, max_file_age_s / 4)
        self._thread = threading.Thread(target=self._rotate_by_age, daemon=True, name="collector-rotation")
        self._thread.start()

    def __getitem__(self, channel: str) -> ChannelWriter:
        return self.by_channel[channel]

    def _rotate_by_age(self) -> None:
        while not self._stop.wait(self._interval):
            for writer in self.by_channel.values():
                try:
                    writer.rotate_if_old()
                except OSError:
                    # The next append or check tries again; the open file keeps every acknowledged line.
                    log.exception("could not finish the open %s event file", writer.channel)

    def close(self) -> None:
        """Stop the age check and finish every open file."""
        self._stop.set()
        self._thread.join(timeout=5)
        for writer in self.by_channel.values():
            writer.close()
