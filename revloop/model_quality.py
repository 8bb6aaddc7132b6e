"""Model quality floor: each promoted model's holdout AUC (its card in ml/registry.py) above its baseline.

The baseline is the RFM model trained beside it on the same snapshots (card metrics `baseline_auc`); the
baseline rules' AUC (`rules_auc`) is shown too. A task with no promoted model is scored by the rules.
"""

from pathlib import Path

from ml.registry import ModelRegistry
from revloop.checks import CheckOutcome, rounded


def model_above_baseline(task: str, warehouse: Path) -> CheckOutcome:
    """Passes when `task` has no promoted model or its holdout AUC beats the RFM baseline's."""
    current = ModelRegistry(warehouse=warehouse).current(task)
    if current is None:
        summary = f"no promoted {task} model: the baseline rules score"
        return CheckOutcome(True, summary, {"version": "baseline"})
    metrics = current.card.get("metrics", {})
    if metrics.get("auc") is None or metrics.get("baseline_auc") is None:
        summary = f"{task} model {current.version} has no holdout AUC or baseline AUC on its card"
        return CheckOutcome(False, summary, {"version": current.version})
    auc, baseline = float(metrics["auc"]), float(metrics["baseline_auc"])
    metadata: dict[str, float | int | str] = {
        "version": current.version,
        "auc": rounded(auc),
        "baseline_auc": rounded(baseline),
        "auc_over_baseline": rounded(auc - baseline),
    }
    if metrics.get("rules_auc") is not None:
        metadata["rules_auc"] = rounded(metrics["rules_auc"])
    verdict = "beats" if auc > baseline else "does not beat"
    summary = f"holdout AUC {auc:.4f} {verdict} the baseline's {baseline:.4f}"
    return CheckOutcome(auc > baseline, summary, metadata)
