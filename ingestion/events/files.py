"""Find a channel's event files and tell which changed since they were last loaded."""

from pathlib import Path
from typing import TypedDict

from ingestion.events.settings import FILE_SUFFIXES


class Fingerprint(TypedDict):
    """What identifies a version of a file: its size and modification time."""

    size: int
    mtime_ns: int


def event_files(channel_dir: Path) -> list[Path]:
    """The channel folder's event files in name order; hidden files (writers' temp files) are skipped."""
    if not channel_dir.is_dir():
        return []
    return sorted(
        path
        for path in channel_dir.iterdir()
        if path.is_file() and not path.name.startswith(".") and path.name.endswith(FILE_SUFFIXES)
    )


def fingerprint(path: Path) -> Fingerprint:
    """The file's current size and modification time."""
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def changed_files(files: list[Path], loaded: dict[str, Fingerprint]) -> list[tuple[Path, Fingerprint]]:
    """The files new or changed since they were loaded, each with its fingerprint now."""
    current = ((path, fingerprint(path)) for path in files)
    return [(path, print_) for path, print_ in current if loaded.get(path.name) != print_]
