"""Trained models on disk beside the warehouse: one folder per task and version, and a current pointer."""

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import joblib

from revloop.warehouse import state_dir

MODEL_FILE, CARD_FILE, CURRENT_FILE = "model.joblib", "card.json", "current.json"
BASELINE_CARD_FILE = "baseline.json"


@dataclass(frozen=True)
class ModelVersion:
    """One saved model: its folder, card (training window, features, metrics, code version) and plots."""

    task: str
    version: str
    folder: Path

    @property
    def card(self) -> dict:
        return json.loads((self.folder / CARD_FILE).read_text())

    def load(self):
        """The fitted scikit-learn model."""
        return joblib.load(self.folder / MODEL_FILE)

    def plots(self) -> dict[str, Path]:
        """PNG plots saved with the model, by name (roc, calibration)."""
        return {path.stem: path for path in sorted(self.folder.glob("*.png"))}


class ModelRegistry:
    """<state dir of the warehouse>/models/<task>/<version>/ with model.joblib, card.json and plots."""

    def __init__(self, root: Path | None = None, warehouse: Path | None = None) -> None:
        self.root = Path(root) if root else state_dir(warehouse) / "models"

    def save(
        self, task: str, model, card: dict, plots: dict[str, bytes], now: datetime | None = None
    ) -> ModelVersion:
        """Write a new version (atomically: a half-written version never appears) and return it."""
        now = now or datetime.now(UTC)
        task_dir = self.root / task
        task_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=task_dir))
        try:
            joblib.dump(model, staging / MODEL_FILE)
            digest = hashlib.sha256((staging / MODEL_FILE).read_bytes()).hexdigest()[:8]
            version = f"{now:%Y%m%dT%H%M%S%f}Z-{digest}"
            card = {**card, "task": task, "version": version, "created_at": now.isoformat()}
            (staging / CARD_FILE).write_text(json.dumps(card, indent=1, default=str))
            for name, png in plots.items():
                (staging / f"{name}.png").write_bytes(png)
            os.replace(staging, task_dir / version)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return ModelVersion(task, version, task_dir / version)

    def get(self, task: str, version: str) -> ModelVersion:
        folder = self.root / task / version
        if not (folder / MODEL_FILE).exists():
            raise KeyError(f"no model {task}/{version} in {self.root}")
        return ModelVersion(task, version, folder)

    def versions(self, task: str) -> list[ModelVersion]:
        """Saved versions of a task, oldest first."""
        task_dir = self.root / task
        if not task_dir.exists():
            return []
        return [
            ModelVersion(task, path.name, path)
            for path in sorted(task_dir.iterdir())
            if path.is_dir() and not path.name.startswith(".") and (path / MODEL_FILE).exists()
        ]

    def current(self, task: str) -> ModelVersion | None:
        """The promoted version of a task, or None before the first promotion."""
        pointer = self.root / task / CURRENT_FILE
        if not pointer.exists():
            return None
        return self.get(task, json.loads(pointer.read_text())["version"])

    def promote(self, task: str, version: str, reason: str) -> None:
        """Make `version` the current model of `task` (the pointer is replaced atomically)."""
        self.get(task, version)
        pointer = self.root / task / CURRENT_FILE
        record = {"version": version, "promoted_at": datetime.now(UTC).isoformat(), "reason": reason}
        temporary = pointer.with_suffix(".tmp")
        temporary.write_text(json.dumps(record, indent=1))
        os.replace(temporary, pointer)

    def save_baseline_card(self, task: str, card: dict) -> Path:
        """Write the card of the rules that score `task` while it has no promoted model."""
        path = self.root / task / BASELINE_CARD_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(card, indent=1, default=str))
        os.replace(temporary, path)
        return path

    def baseline_card(self, task: str) -> dict | None:
        """The card of the baseline that last scored `task`, if any."""
        path = self.root / task / BASELINE_CARD_FILE
        return json.loads(path.read_text()) if path.exists() else None


def update_card(version: ModelVersion, **fields) -> None:
    """Add fields to a saved version's card (e.g. the promotion decision taken after saving)."""
    path = version.folder / CARD_FILE
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({**version.card, **fields}, indent=1, default=str))
    os.replace(temporary, path)
