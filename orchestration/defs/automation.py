"""Near-real-time sync: sensors that poll the CRMs and the event folders, one that reads HubSpot's webhooks,
and the run-failure alert."""

import json
import smtplib
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import reduce

from dagster import (
    AssetSelection,
    DagsterInstance,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunFailureSensorContext,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SkipReason,
    define_asset_job,
    run_failure_sensor,
    sensor,
)
from dagster_shared.error import SerializableErrorInfo

from activation.mail import MailConfigError, SmtpSettings, send_mail
from activation.store import last_written_at
from ingestion.change_probe import (
    ProbeResult,
    hubspot_probe_client,
    probe_event_files,
    probe_hubspot,
    probe_salesforce,
    probe_webhooks,
    salesforce_probe_client,
    with_announced,
)
from ingestion.salesforce.client import SalesforceApiError
from ingestion.webhooks.spool import WebhookSpool, spool_path
from orchestration.resources import HubSpotResource, SalesforceResource, WarehouseResource
from orchestration.shared import FULL_BUILD_JOB, INGESTION_GROUP, STAGES, raw_key, raw_tables
from revloop.config.automation import alert_email, load_automation_config, poll_interval_seconds
from revloop.salesforce_user import integration_user_id

NEAR_REAL_TIME_JOB = "near_real_time_sync"
# A run of any of these already brings the warehouse and the CRMs up to date: a sensor waits for it to end
# instead of queueing another behind it (the stages of a full build, as `make demo` runs them; __ASSET_JOB: a
# materialisation started by hand or the CLI).
BLOCKING_JOBS = (
    NEAR_REAL_TIME_JOB,
    "hourly_sync",
    FULL_BUILD_JOB,
    *(job for _, job in STAGES),
    "__ASSET_JOB",
)
IN_FLIGHT = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
]
TRIGGER_TAG = "revloop/changed"
# The webhook sensor reads a local file only, so it looks often: a change starts its run within seconds.
WEBHOOK_INTERVAL_S = 5


def downstream_of(raw: AssetSelection) -> AssetSelection:
    """Raw assets and everything downstream of them, except model training (daily)."""
    return raw.downstream() - AssetSelection.groups("ml")


near_real_time_sync = define_asset_job(
    NEAR_REAL_TIME_JOB,
    selection=downstream_of(AssetSelection.groups(INGESTION_GROUP)),
    description="Ingest the sources a sensor saw change and rebuild what depends on them: identities, "
    "profiles, segments, handoffs and the CRM sync. The sensors run a subset of it; training stays daily.",
)


def run_in_flight(instance: DagsterInstance) -> str | None:
    """Why a new sync run should wait (a blocking job's run is queued or running), or None."""
    for job_name in BLOCKING_JOBS:
        runs = instance.get_runs(filters=RunsFilter(job_name=job_name, statuses=IN_FLIGHT), limit=1)
        if runs:
            return f"run {runs[0].run_id} of {job_name} is {runs[0].status.value}: the change waits for it"
    return None


def read_cursor(text: str | None) -> dict[str, dict[str, str]]:
    """The sensor cursor ({source: {object: marker}}); an unreadable one starts again from a baseline."""
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {source: dict(markers) for source, markers in data.items() if isinstance(markers, dict)}


def decide(
    context: SensorEvaluationContext,
    results: Mapping[str, ProbeResult],
    raw_tables_of: Callable[[str, list[str]], AssetSelection],
) -> RunRequest | SkipReason:
    """Advance the cursor past what the probes read and request a run of what changed (or say why not)."""
    cursor = read_cursor(context.cursor)
    for source, result in results.items():
        for name, reason in result.skipped.items():
            context.log.warning(f"{source} {name} not probed: {reason}")
        cursor[source] = result.cursor(cursor.get(source, {}))
    context.update_cursor(json.dumps(cursor, sort_keys=True))
    changed = {source: result.changed for source, result in results.items() if result.changed}
    if not changed:
        skipped = sum(len(result.skipped) for result in results.values())
        return SkipReason("no change since the last poll" + (f" ({skipped} not probed)" if skipped else ""))
    raw = reduce(AssetSelection.__or__, (raw_tables_of(source, names) for source, names in changed.items()))
    selection = downstream_of(raw).resolve(context.repository_def.asset_graph)
    summary = "; ".join(f"{source}: {', '.join(names)}" for source, names in sorted(changed.items()))
    context.log.info(f"changes in {summary}: running {len(selection)} assets")
    # an empty check selection makes dagster-dbt build the models without their tests
    checks = None if load_automation_config().run_dbt_tests else []
    return RunRequest(
        asset_selection=sorted(selection), asset_check_keys=checks, tags={TRIGGER_TAG: summary[:250]}
    )


def _crm_raw_tables(_source: str, _objects: list[str]) -> AssetSelection:
    """Both CRMs' tables (each loads incrementally, its associations with its objects): the sync after a
    change in one CRM compares it with the other's current records, which may have changed since they
    were last read (revloop's own writes among them: a record it created there has never been read)."""
    return raw_tables("salesforce") | raw_tables("hubspot")


def _channel_raw_tables(_source: str, channels: list[str]) -> AssetSelection:
    return AssetSelection.assets(*(raw_key("events", channel) for channel in channels))


@sensor(
    name="crm_change_sensor",
    job=near_real_time_sync,
    minimum_interval_seconds=poll_interval_seconds(),
    default_status=DefaultSensorStatus.RUNNING,
    description="Polls Salesforce and HubSpot for records changed since its cursor (one query per object) "
    "and syncs the changed CRM's records to the warehouse and the other CRM (whose own changes since its "
    "cursor are read in the same run). Changes that are revloop's own "
    "writes (Salesforce: made by revloop's user; HubSpot: activation.written_values) start no run.",
)
def crm_change_sensor(
    context: SensorEvaluationContext,
    salesforce: SalesforceResource,
    hubspot: HubSpotResource,
    warehouse: WarehouseResource,
):
    busy = run_in_flight(context.instance)
    if busy:
        return SkipReason(busy)
    config = load_automation_config()
    cursor = read_cursor(context.cursor)
    results: dict[str, ProbeResult] = {}

    def hubspot_known(ids: list[str]) -> Mapping[str, datetime] | None:
        # no news: revloop's own writes (activation.written_values), and changes a webhook announced (the
        # webhook sensor runs them)
        written = last_written_at(warehouse.warehouse_file, "hubspot", ids)
        return with_announced(written, WebhookSpool(spool_path(warehouse.warehouse_file)), ids)

    try:
        sf_connection = salesforce.connection()
        if sf_connection is not None:
            sf = salesforce_probe_client(sf_connection)
            previous = cursor.get("salesforce", {})
            # a change whose author is revloop's own Salesforce user is no news
            results["salesforce"] = probe_salesforce(
                sf, config.salesforce_objects, previous, integration_user_id(sf)
            )
    except (ValueError, SalesforceApiError) as exc:
        results["salesforce"] = ProbeResult(skipped={"org": str(exc)})
    try:
        hs_connection = hubspot.connection()
        if hs_connection is not None:
            hs = hubspot_probe_client(hs_connection)
            results["hubspot"] = probe_hubspot(
                hs, config.hubspot_objects, cursor.get("hubspot", {}), hubspot_known
            )
    except ValueError as exc:
        results["hubspot"] = ProbeResult(skipped={"portal": str(exc)})
    if not results:
        return SkipReason("neither Salesforce nor HubSpot is configured")
    return decide(context, results, _crm_raw_tables)


@sensor(
    name="hubspot_webhook_sensor",
    job=near_real_time_sync,
    minimum_interval_seconds=WEBHOOK_INTERVAL_S,
    default_status=DefaultSensorStatus.RUNNING,
    description="Reads the HubSpot webhook events the collector verified and kept (POST /webhooks/hubspot) "
    "and starts the same run as crm_change_sensor for the changed HubSpot objects, without waiting for its "
    "poll. Changes that are revloop's own writes start no run. Without webhooks it finds nothing to do.",
)
def hubspot_webhook_sensor(context: SensorEvaluationContext, warehouse: WarehouseResource):
    busy = run_in_flight(context.instance)
    if busy:
        return SkipReason(busy)
    spool = WebhookSpool(spool_path(warehouse.warehouse_file))
    previous = read_cursor(context.cursor).get("hubspot", {})
    result = probe_webhooks(spool, load_automation_config().hubspot_objects, previous,
                            lambda ids: last_written_at(warehouse.warehouse_file, "hubspot", ids))
    return decide(context, {"hubspot": result}, _crm_raw_tables)


@sensor(
    name="event_files_sensor",
    job=near_real_time_sync,
    minimum_interval_seconds=poll_interval_seconds(),
    default_status=DefaultSensorStatus.RUNNING,
    description="Watches EVENTS_DIR/<channel>/ for new, grown or rewritten event files and loads the "
    "changed channels, then rebuilds what depends on them (behaviour triggers, handoffs).",
)
def event_files_sensor(context: SensorEvaluationContext, warehouse: WarehouseResource):
    busy = run_in_flight(context.instance)
    if busy:
        return SkipReason(busy)
    previous = read_cursor(context.cursor).get("events", {})
    result = probe_event_files(warehouse.events_folder, previous)
    return decide(context, {"events": result}, _channel_raw_tables)


def _root_cause(error: SerializableErrorInfo | None) -> str:
    """The innermost error's message, without stack traces: Dagster wraps the user's error in its own."""
    while error is not None and error.cause is not None:
        error = error.cause
    return "" if error is None else error.message.strip()


def failure_message(run_id: str, job_name: str, run_error: str, steps: Mapping[str, str]) -> tuple[str, str]:
    """The subject and body reporting a failed run: its id, job, failing steps and their errors."""
    lines = [f"Run {run_id} of job {job_name} failed.", "", f"Run error: {run_error}"]
    for step, error in steps.items():
        lines += ["", f"Failing step: {step}", error.strip()]
    lines += ["", "The run's logs are in the Dagster UI (Runs > this run id)."]
    failing = ", ".join(steps) or "the run"
    return f"[revloop] {job_name} failed in {failing}", "\n".join(lines)


@run_failure_sensor(
    name="run_failure_alert",
    default_status=DefaultSensorStatus.RUNNING,
    description="Writes every failed run (id, job, failing step, error) to the log and, when SMTP is set "
    "and an alert address is configured, e-mails it.",
)
def run_failure_alert(context: RunFailureSensorContext):
    run = context.dagster_run
    steps = {
        event.step_key or "?": _root_cause(event.step_failure_data.error)
        for event in context.get_step_failure_events()
    }
    subject, body = failure_message(run.run_id, run.job_name, context.failure_event.message or "", steps)
    context.log.error(f"{subject}\n{body}")
    recipient = alert_email()
    try:
        settings = SmtpSettings.from_env()
    except MailConfigError as exc:
        context.log.error(f"failure e-mail not sent: {exc}")
        return
    if settings is None or recipient is None:
        return
    try:
        send_mail(settings, [recipient], subject, body)
    except (OSError, smtplib.SMTPException) as exc:
        context.log.error(f"failure e-mail to {recipient} not sent: {type(exc).__name__}: {exc}")
