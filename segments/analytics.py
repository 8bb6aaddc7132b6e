"""Segment analytics for people: the size history as a plot and a run's table, as Markdown."""

import base64
import datetime as dt
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: plots are rendered to PNG only

import matplotlib.pyplot as plt  # noqa: E402

from revloop.warehouse import connect_warehouse
from segments.conversions import KINDS  # noqa: E402
from segments.materialize import HISTORY, SegmentReport  # noqa: E402

# runs shown in the size plot: an hourly job makes ~2 weeks of history
PLOT_RUNS = 336


def size_history(
    warehouse: Path, names: list[str], runs: int = PLOT_RUNS
) -> dict[str, list[tuple[dt.datetime, int]]]:
    """(run time, size) of each named segment over its last `runs` runs, oldest first."""
    with connect_warehouse(warehouse, read_only=True) as con:
        rows = con.execute(
            f"SELECT segment_name, run_at, size FROM (SELECT segment_name, run_at, size, "
            f"row_number() OVER (PARTITION BY segment_name ORDER BY run_at DESC) AS age FROM {HISTORY} "
            "WHERE list_contains(CAST(? AS VARCHAR[]), segment_name)) WHERE age <= ? ORDER BY 1, 2",
            [names, runs],
        ).fetchall()
    history: dict[str, list[tuple[dt.datetime, int]]] = {name: [] for name in names}
    for name, run_at, size in rows:
        history[name].append((run_at, size))
    return history


def size_plot(history: dict[str, list[tuple[dt.datetime, int]]]) -> bytes:
    """Segment size per run, one line per segment, as a PNG."""
    figure, axes = plt.subplots(figsize=(7.5, 4))
    for name, points in sorted(history.items()):
        if points:
            axes.plot([p[0] for p in points], [p[1] for p in points], marker="o", markersize=3, label=name)
    axes.set(xlabel="run", ylabel="members", title="Segment size per run")
    axes.set_ylim(bottom=0)
    axes.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.01, 0.5))
    figure.autofmt_xdate()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def report_markdown(report: SegmentReport, plot: bytes | None = None) -> str:
    """The run's table (size, entries, exits, conversion per kind), notes and warnings, and the size plot."""
    header = "| segment | type | size | entries | exits | " + " | ".join(f"{k} rate" for k in KINDS) + " |"
    lines = [header, "|---|---|---:|---:|---:|" + "---:|" * len(KINDS)]
    for run in report.segments:
        cells = [run.segment_name, run.segment_type, run.size, run.entries, run.exits]
        cells += [_rate(run.conversion(kind).rate) for kind in KINDS]
        lines.append("| " + " | ".join(str(cell) for cell in cells) + " |")
    if report.unavailable:
        lines += [""] + [f"- {kind} rate n/a: {reason}" for kind, reason in report.unavailable.items()]
    if report.removed:
        lines += ["", f"Removed segments (definition deleted): {', '.join(report.removed)}"]
    if report.errors or report.warnings:
        lines += ["", "Definitions that failed (they keep their previous members) and warnings:", ""]
        lines += [f"- error: {message}" for message in report.errors]
        lines += [f"- warning: {message}" for message in report.warnings]
    if plot:
        lines += ["", f"![segment size per run](data:image/png;base64,{base64.b64encode(plot).decode()})"]
    return "\n".join(lines)


def report_with_history(report: SegmentReport, warehouse: Path) -> str:
    """report_markdown with the size plot of the report's segments over their recent runs."""
    history = size_history(warehouse, [run.segment_name for run in report.segments])
    return report_markdown(report, size_plot(history))
