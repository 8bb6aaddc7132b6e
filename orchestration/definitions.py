"""The revloop code location: every area's definitions plus project-wide resources and policy."""

from dagster import Definitions, in_process_executor
from dagster_dlt import DagsterDltResource

from orchestration.defs import ingestion, schedules
from orchestration.resources import build_resources

defs = Definitions(
    assets=[ingestion.salesforce_raw, ingestion.hubspot_raw, ingestion.events_raw],
    jobs=[schedules.hourly_sync],
    schedules=[schedules.hourly_sync_schedule],
    resources={**build_resources(), "dlt": DagsterDltResource()},
    # One warehouse writer at a time, and no ~1 s process start-up per step.
    executor=in_process_executor,
)
