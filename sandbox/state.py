"""The sandbox CRMs kept across restarts: a state file beside the warehouse, replaced atomically.

The file holds plain data only (dicts, lists, strings, numbers, dates), and is read back with an unpickler
that refuses anything else. A saver thread writes it within a second of a CRM write and once more when the
sandbox stops; a kill at any moment leaves the previous complete file in place, never a torn one.
"""

import io
import os
import pickle
import sys
import threading
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from revloop.warehouse import state_dir
from sandbox.hubspot import state as hubspot_state
from sandbox.runner import Sandbox
from sandbox.salesforce import state as salesforce_state

FORMAT = 1
FILE_NAME = "sandbox.pickle"
_SAFE_CLASSES = {
    ("datetime", "datetime"),
    ("datetime", "date"),
    ("datetime", "timezone"),
    ("datetime", "timedelta"),
    ("decimal", "Decimal"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
}


class SandboxStateError(Exception):
    """A state file that cannot be read back (damaged, or written by another format)."""


@dataclass(frozen=True)
class WorldStamp:
    """Which synthetic world a sandbox started from: a fresh id per world, and its seed and size."""

    id: str
    seed: int
    people: int
    created_at: str

    @classmethod
    def new(cls, seed: int, people: int) -> "WorldStamp":
        return cls(uuid.uuid4().hex, seed, people, datetime.now(UTC).isoformat(timespec="seconds"))

    def describe(self) -> str:
        return f"world {self.id[:8]} (seed {self.seed}, {self.people} people, created {self.created_at})"


@dataclass(frozen=True)
class SavedSandbox:
    """A state file's contents: the world it came from and each CRM's snapshot."""

    world: WorldStamp
    salesforce: dict[str, Any]
    hubspot: dict[str, Any]
    saved_at: str


def state_path(warehouse: Path) -> Path:
    """The sandbox's state file, in the warehouse's local state folder (revloop.warehouse.state_dir)."""
    return state_dir(warehouse) / FILE_NAME


def save_state(path: Path, world: WorldStamp, sandbox: Sandbox) -> None:
    """Write both CRMs' records to path: a temporary file, flushed to disk, then renamed over path."""
    salesforce = salesforce_state.snapshot(sandbox.salesforce.app)
    hubspot = hubspot_state.snapshot(sandbox.hubspot.app)
    body = {
        "format": FORMAT,
        "world": asdict(world),
        "salesforce": salesforce,
        "hubspot": hubspot,
        "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        with open(partial, "wb") as out:
            pickle.dump(body, out, protocol=pickle.HIGHEST_PROTOCOL)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # the rename itself survives a power cut
    finally:
        os.close(folder)


class _DataOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _SAFE_CLASSES:
            raise pickle.UnpicklingError(f"{module}.{name} is not sandbox data")
        return super().find_class(module, name)


def load_state(path: Path) -> SavedSandbox:
    """The saved sandbox at path; SandboxStateError (with what to do) when it cannot be used."""
    advice = f"start a new sandbox with --reset (or delete {path})"
    try:
        body = _DataOnly(io.BytesIO(path.read_bytes())).load()
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ValueError, TypeError) as exc:
        raise SandboxStateError(f"cannot read the sandbox state {path}: {exc}; {advice}") from exc
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        found = body.get("format") if isinstance(body, dict) else type(body).__name__
        raise SandboxStateError(
            f"the sandbox state {path} has format {found!r}, this sandbox reads format {FORMAT}; {advice}"
        )
    return SavedSandbox(WorldStamp(**body["world"]), body["salesforce"], body["hubspot"], body["saved_at"])


def restore_state(saved: SavedSandbox, sandbox: Sandbox) -> None:
    """Load a saved sandbox's records into freshly started (empty) emulators."""
    try:
        salesforce_state.restore(sandbox.salesforce.app, saved.salesforce)
        hubspot_state.restore(sandbox.hubspot.app, saved.hubspot)
    except (KeyError, TypeError, ValueError) as exc:
        raise SandboxStateError(
            f"the saved sandbox does not fit this sandbox's CRMs ({exc}); start a new one with --reset"
        ) from exc


class StateKeeper:
    """Saves the sandbox whenever its CRMs answered a write since the last save (checked every interval)."""

    def __init__(self, path: Path, world: WorldStamp, sandbox: Sandbox, interval_s: float = 1.0) -> None:
        self.path, self.world, self.sandbox, self.interval_s = path, world, sandbox, interval_s
        self._saved_at_writes = self._writes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="sandbox-state")
        self.error: Exception | None = None

    def _writes(self) -> int:
        return self.sandbox.salesforce.app.writes + self.sandbox.hubspot.app.writes

    def save_if_changed(self) -> bool:
        """Save when a write came in since the last save; whether it saved."""
        writes = self._writes()
        if writes == self._saved_at_writes:
            return False
        save_state(self.path, self.world, self.sandbox)
        self._saved_at_writes = writes
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.save_if_changed()
            except OSError as exc:  # a full disk must not stop the CRMs; the next round tries again
                if self.error is None:
                    print(f"warning: the sandbox state could not be saved ({exc}); retrying", file=sys.stderr)
                self.error = exc

    def start(self) -> "StateKeeper":
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread and save what changed since its last round."""
        self._stop.set()
        self._thread.join(timeout=30)
        self.save_if_changed()
