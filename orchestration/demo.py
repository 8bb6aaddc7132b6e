"""The end-to-end run of `make demo`: run each stage's job (ingest, transform, score, activate), then print
what landed. The runs show in the UI under those job names."""

import contextlib
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dagster import AssetKey, DagsterInstance, Definitions

from orchestration import summary
from orchestration.defs.runs import describe, report_skipped_steps
from orchestration.shared import STAGE_TAG, STAGES, stage_selection
from revloop.warehouse import warehouse_path

# Run tag of the demo's runs: which stage of how many.
DEMO_TAG = "revloop/demo_stage"
# Only warnings and errors of the runs reach the terminal: progress lines say the rest.
QUIET_RUN = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
# What each stage adds, counted in the warehouse after it: (label, summary section).
STAGE_COUNTS: dict[str, tuple[tuple[str, Callable], ...]] = {
    "ingestion": (("raw rows", summary.raw_rows), ("quarantined", summary.quarantined)),
    "warehouse": (("profile ids", summary.profile_ids), ("identity links", summary.identity_links)),
    "ml": (
        ("models", summary.models),
        ("predictions", summary.predictions),
        ("profiles", summary.profiles),
        ("segments", summary.segments),
    ),
    "activation": (("CRM writes", summary.crm_writes), ("handoffs", summary.handoffs)),
}


@dataclass(frozen=True)
class Stage:
    """One run of the demo: the job of a group's stage and its assets, in dependency order."""

    name: str
    job: str
    keys: tuple[AssetKey, ...]


def plan_stages(defs: Definitions) -> list[Stage]:
    """Every materialisable asset in dependency order, cut into the stages of shared.STAGES.

    An asset runs in its group's stage, or later when it reads an asset of a later stage (the profiles,
    in `warehouse`, read the scores of `ml`), so each stage only reads what earlier stages built. An asset
    of a group no stage names is an error: it would run in no job.
    """
    graph = defs.resolve_asset_graph()
    keys = [key for key in graph.toposorted_asset_keys if graph.get(key).is_materializable]
    stages = []
    for group, job in STAGES:
        selected = stage_selection(group).resolve(graph)
        stages.append(Stage(group, job, tuple(key for key in keys if key in selected)))
    unstaged = set(keys).difference(*(stage.keys for stage in stages))
    if unstaged:
        names = ", ".join(sorted(key.to_user_string() for key in unstaged))
        raise ValueError(f"assets in no stage of orchestration.shared.STAGES (add their group): {names}")
    return [stage for stage in stages if stage.keys]


def stage_counts(name: str) -> str:
    """The stage's counts, one indented line each, read from the warehouse (missing tables: not run)."""
    sections = STAGE_COUNTS.get(name, ())
    if not sections:
        return ""
    facts = summary.collect(sections=sections)
    width = max(len(label) for label in facts)
    return "\n".join(f"      {label:<{width}}  {value}" for label, value in facts.items())


def run_stage(
    defs: Definitions, instance: DagsterInstance, stage: Stage, number: int, total: int, log: Path
) -> bool:
    """Materialise one stage as a Dagster run and print one progress line with its counts."""
    print(f"[{number}/{total}] {stage.name}: {len(stage.keys)} assets, job {stage.job} ...", flush=True)
    started = time.monotonic()
    # dbt's and dlt's own output goes to the log file: the terminal shows progress, warnings and errors.
    with open(log, "a") as sink, contextlib.redirect_stdout(sink):
        result = defs.resolve_job_def(stage.job).execute_in_process(
            instance=instance,
            run_config=QUIET_RUN,
            raise_on_error=False,
            tags={STAGE_TAG: stage.name, DEMO_TAG: f"{number}/{total}"},
        )
    materialized = {event.asset_key for event in result.get_asset_materialization_events()}
    skipped = report_skipped_steps(instance, result.run_id)
    outcome = ("done" if not skipped else "done with skipped steps") if result.success else "FAILED"
    print(
        f"[{number}/{total}] {stage.name} {outcome} in {time.monotonic() - started:.0f}s: "
        f"{len(materialized)}/{len(stage.keys)} assets materialised "
        f"(job {stage.job}, run {result.run_id[:8]})",
        flush=True,
    )
    if skipped:
        print(f"      skipped: {describe(skipped)}", flush=True)
    counts = stage_counts(stage.name)
    if counts:
        print(counts, flush=True)
    return result.success


def instance() -> DagsterInstance:
    """The DAGSTER_HOME instance, so that `make dev` shows the demo's runs; in memory when it is unset."""
    if os.environ.get("DAGSTER_HOME"):
        return DagsterInstance.get()
    print("DAGSTER_HOME is not set: the runs are kept in memory only", file=sys.stderr)
    return DagsterInstance.ephemeral()


def main() -> int:
    started = time.monotonic()
    # Loading the definitions reads the dbt manifest: only when the demo runs, not on import.
    from orchestration.definitions import defs

    stages = plan_stages(defs)
    assets = sum(len(stage.keys) for stage in stages)
    log = warehouse_path().with_suffix(".demo.log")
    log.parent.mkdir(parents=True, exist_ok=True)
    log.unlink(missing_ok=True)
    print(f"materialising {assets} assets in {len(stages)} stages; full log in {log}", flush=True)
    with instance() as dagster:
        for number, stage in enumerate(stages, start=1):
            if not run_stage(defs, dagster, stage, number, len(stages), log):
                print(f"the {stage.name} stage failed: see the errors above and {log}", file=sys.stderr)
                return 1
    print(f"\nrevloop demo finished in {time.monotonic() - started:.0f}s; warehouse {warehouse_path()}")
    print(summary.render_summary(summary.collect()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
