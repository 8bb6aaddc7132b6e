"""Successful runs that skipped steps say which and why (run tag, engine event): never a silent success.

Dagster skips a step when an upstream output was not produced, and still ends the run with RUN_SUCCESS.
"""

from dagster import (
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunStatusSensorContext,
    run_status_sensor,
)
from dagster._core.events import EngineEventData

SKIPPED_TAG = "revloop/skipped_steps"
SKIPPING = "Skipping step "


def skipped_steps(instance: DagsterInstance, run_id: str) -> dict[str, str]:
    """step key -> why it was skipped, read from the run's event log."""
    reasons: dict[str, str] = {}
    skipped: list[str] = []
    for record in instance.all_logs(run_id):
        step = record.step_key
        if step is None:
            continue
        if record.dagster_event is None and record.user_message.startswith(SKIPPING):
            # Dagster's own words, e.g. "... due to skipped dependencies: ['crm_sync.activation__sync_log']"
            reasons[step] = record.user_message.split(" due to ", 1)[-1].rstrip(".")
        elif record.dagster_event and record.dagster_event.event_type == DagsterEventType.STEP_SKIPPED:
            skipped.append(step)
    return {step: reasons.get(step, "an upstream output was not produced") for step in skipped}


def describe(skipped: dict[str, str]) -> str:
    """One line naming each skipped step and its reason."""
    return "; ".join(f"{step} ({reason})" for step, reason in sorted(skipped.items()))


def report_skipped_steps(instance: DagsterInstance, run_id: str) -> dict[str, str]:
    """Tag the run with its skipped steps and add a warning event saying which and why; returns them."""
    skipped = skipped_steps(instance, run_id)
    if skipped:
        text = describe(skipped)
        instance.add_run_tags(run_id, {SKIPPED_TAG: text})
        run = instance.get_run_by_id(run_id)
        instance.report_engine_event(
            f"The run succeeded but skipped {len(skipped)} step(s): {text}",
            run,
            EngineEventData(metadata={"skipped_steps": text, "skipped_count": len(skipped)}),
        )
    return skipped


@run_status_sensor(
    run_status=DagsterRunStatus.SUCCESS,
    name="skipped_steps_report",
    default_status=DefaultSensorStatus.RUNNING,
    description="Tags every successful run that skipped steps (revloop/skipped_steps) with which and why.",
)
def skipped_steps_report(context: RunStatusSensorContext):
    skipped = report_skipped_steps(context.instance, context.dagster_run.run_id)
    if skipped:
        context.log.warning(f"run {context.dagster_run.run_id} skipped steps: {describe(skipped)}")
