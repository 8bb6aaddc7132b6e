"""Read-only copies of the warehouse for readers (the segment builder and its preview), so that no reader
ever holds the file a run writes.

DuckDB allows one writer per file, and any other process holding it, read-only included, makes that writer
wait. A reader instead opens a copy: the warehouse is held only while its bytes are copied (writers wait
that long, see revloop.warehouse.wait_for_lock), and only when it changed since the last copy. While a
run writes, readers answer from the last copy rather than wait for the run.
"""

import logging
import os
import shutil
import uuid
from pathlib import Path

import duckdb

from revloop.warehouse import WarehouseLocked, connect_warehouse, state_dir

log = logging.getLogger(__name__)

COPY_NAME = "reader_copy.duckdb"


def _version(warehouse: Path) -> str:
    """What identifies the warehouse's content on disk: the file's and its WAL's inode, mtime and size."""
    parts = []
    for file in (warehouse, Path(f"{warehouse}.wal")):
        try:
            stat = file.stat()
        except FileNotFoundError:
            parts.append("-")
            continue
        parts.append(f"{stat.st_ino}:{stat.st_mtime_ns}:{stat.st_size}")
    return " ".join(parts)


def copy_path(warehouse: Path) -> Path:
    """Where the readers' copy of a warehouse lives: beside its other local state."""
    return state_dir(warehouse) / COPY_NAME


def reader_copy(warehouse: Path) -> Path:
    """A read-only copy of the warehouse as it stands, or, while a run writes it, as it last stood.

    Waits (bounded, as writers do) only when no copy exists yet and a run holds the warehouse.
    """
    copy = copy_path(warehouse)
    stamp = copy.with_name(f"{copy.name}.version")
    version = _version(warehouse)
    if copy.exists() and stamp.exists() and stamp.read_text() == version:
        return copy
    try:
        # A read-only connection holds DuckDB's shared lock: no writer is mid-write while the bytes copy.
        holder = connect_warehouse(warehouse, read_only=True, lock_wait=0 if copy.exists() else None)
    except WarehouseLocked:
        if not copy.exists():
            raise
        log.info("A run is writing the warehouse %s: reading the copy taken before it", warehouse)
        return copy
    copy.parent.mkdir(parents=True, exist_ok=True)
    temporary = copy.with_name(f".{copy.name}.{uuid.uuid4().hex}")
    try:
        try:
            version = _version(warehouse)
            shutil.copyfile(warehouse, temporary)
            wal = Path(f"{warehouse}.wal")
            if wal.exists():
                shutil.copyfile(wal, Path(f"{temporary}.wal"))
        finally:
            holder.close()
        # Fold a copied WAL into the copy, so that one file (moved into place atomically) is all of it.
        connect_warehouse(temporary, warehouse=warehouse).execute("CHECKPOINT").close()
        os.replace(temporary, copy)
    finally:
        for leftover in (temporary, Path(f"{temporary}.wal")):
            leftover.unlink(missing_ok=True)
    stamp.write_text(version)
    return copy


def open_reader_copy(warehouse: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to reader_copy(warehouse)."""
    return connect_warehouse(reader_copy(warehouse), read_only=True, warehouse=warehouse)
