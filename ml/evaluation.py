"""Holdout metrics of a classifier: AUC, PR-AUC, Brier score, sample sizes, top features, and plots."""

import copy
import io

import matplotlib

matplotlib.use("Agg")  # no display: plots are rendered to PNG only

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.calibration import calibration_curve  # noqa: E402
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score, roc_curve  # noqa: E402

# permutation importance on at most this many holdout rows: enough to rank features, cheap to repeat
IMPORTANCE_SAMPLE = 1500
IMPORTANCE_REPEATS = 2
# shuffled copies scored per predict_proba call: bounds the batch to about this many cells
IMPORTANCE_BATCH_CELLS = 4_000_000


def holdout_metrics(y: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """AUC, PR-AUC (average precision), Brier score, sample size and positive rate of one holdout."""
    return {
        "auc": float(roc_auc_score(y, scores)),
        "pr_auc": float(average_precision_score(y, scores)),
        "brier": float(brier_score_loss(y, scores)),
        "holdout_rows": int(len(y)),
        "holdout_positive_rate": float(np.mean(y)),
    }


def top_features(model, x: pd.DataFrame, y: np.ndarray, count: int, seed: int) -> list[dict]:
    """The features whose shuffling costs the most holdout AUC (permutation importance), best first."""
    if len(x) > IMPORTANCE_SAMPLE:
        rows = np.random.default_rng(seed).choice(len(x), IMPORTANCE_SAMPLE, replace=False)
        x, y = x.iloc[np.sort(rows)], y[np.sort(rows)]
    if len(np.unique(y)) < 2:
        return []
    scored, matrix, names = encoded_once(model, x)
    importances = permutation_importances(scored, matrix, y, IMPORTANCE_REPEATS, seed)
    order = np.argsort(-importances)[:count]
    return [{"feature": names[i], "importance": round(float(importances[i]), 5)} for i in order]


def permutation_importances(model, x: pd.DataFrame | np.ndarray, y: np.ndarray, repeats: int, seed: int):
    """Each column's mean holdout-AUC loss over `repeats` shuffles: what
    sklearn.inspection.permutation_importance(scoring="roc_auc", random_state=seed) returns as
    importances_mean, from the same shuffles, but with the shuffled copies stacked and scored a batch at a
    time. One predict_proba call per column and repeat spent most of its time on the call itself (input
    checks, then every tree of the ensemble walked once per call) on holdouts of a few hundred rows.
    """
    rows, columns = x.shape
    # scikit-learn draws one seed, then shuffles every column with a generator from that seed; repeat r
    # shuffles the column as repeat r - 1 left it
    column_seed = np.random.RandomState(seed).randint(np.iinfo(np.int32).max + 1)
    generator, shuffle, orders = np.random.RandomState(column_seed), np.arange(rows), []
    for _ in range(repeats):
        generator.shuffle(shuffle)
        orders.append((orders[-1] if orders else np.arange(rows))[shuffle])
    frame = x if isinstance(x, pd.DataFrame) else None
    baseline = roc_auc_score(y, model.predict_proba(x)[:, 1])
    losses = np.empty((columns, repeats))
    per_batch = max(1, IMPORTANCE_BATCH_CELLS // max(1, rows * columns))
    copies = [(column, repeat) for column in range(columns) for repeat in range(repeats)]
    for start in range(0, len(copies), per_batch):
        batch = copies[start:start + per_batch]
        if frame is not None:
            stacked = frame.iloc[np.tile(np.arange(rows), len(batch))].reset_index(drop=True)
        else:
            stacked = np.tile(x, (len(batch), 1))
        for block, (column, repeat) in enumerate(batch):
            block_rows = slice(block * rows, (block + 1) * rows)
            if frame is not None:
                stacked.iloc[block_rows, column] = frame.iloc[orders[repeat], column].to_numpy()
            else:
                stacked[block_rows, column] = x[orders[repeat], column]
        scores = model.predict_proba(stacked)[:, 1]
        for block, (column, repeat) in enumerate(batch):
            losses[column, repeat] = baseline - roc_auc_score(y, scores[block * rows:(block + 1) * rows])
    return losses.mean(axis=1)


def encoded_once(model, x: pd.DataFrame) -> tuple[object, object, list[str]]:
    """What to permute: the model, its input rows and their column names.

    When the pipeline's encoder maps each column to one column of the same name (the gradient-boosting
    encoder does), the rows are encoded once and a copy of the model skips encoding: shuffling an encoded
    column is shuffling its raw column (encoding is row by row, and scikit-learn shuffles every column with
    the same seed), so the importances are the same, and the encoder, slow on text columns, runs once
    instead of once per shuffle. Otherwise the model and the raw rows.
    """
    unchanged = model, x, list(x.columns)
    if len(model.calibrated_classifiers_) != 1:  # one encoder per fold model
        return unchanged
    encoder = model.calibrated_classifiers_[0].estimator.named_steps["encode"]
    names = list(encoder.get_feature_names_out())
    if sorted(names) != sorted(x.columns):
        return unchanged
    skipping = copy.deepcopy(model)
    for calibrated in skipping.calibrated_classifiers_:
        calibrated.estimator.set_params(encode="passthrough")
    return skipping, encoder.transform(x), names


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def roc_plot(y: np.ndarray, scores: np.ndarray, title: str) -> bytes:
    """The ROC curve of the holdout as a PNG."""
    fpr, tpr, _ = roc_curve(y, scores)
    figure, axes = plt.subplots(figsize=(4.2, 4.2))
    axes.plot(fpr, tpr, label=f"AUC {roc_auc_score(y, scores):.3f}")
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
    axes.set(xlabel="False positive rate", ylabel="True positive rate", title=title, xlim=(0, 1), ylim=(0, 1))
    axes.legend(loc="lower right")
    return _png(figure)


def calibration_plot(y: np.ndarray, scores: np.ndarray, title: str) -> bytes:
    """Predicted probability against observed frequency (quantile bins) of the holdout as a PNG."""
    observed, predicted = calibration_curve(y, scores, n_bins=10, strategy="quantile")
    figure, axes = plt.subplots(figsize=(4.2, 4.2))
    axes.plot(predicted, observed, marker="o", label="model")
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfect")
    axes.set(
        xlabel="Predicted probability", ylabel="Observed frequency", title=title, xlim=(0, 1), ylim=(0, 1)
    )
    axes.legend(loc="upper left")
    return _png(figure)
