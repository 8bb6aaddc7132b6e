"""The revloop code location: every area's definitions plus project-wide resources and policy."""

from dagster import Definitions, in_process_executor
from dagster_dlt import DagsterDltResource

from orchestration.defs import activation, ingestion, ml, schedules, segments, warehouse
from orchestration.resources import build_resources

defs = Definitions(
    assets=[
        ingestion.salesforce_raw,
        ingestion.hubspot_raw,
        ingestion.events_raw,
        warehouse.dbt_before_identity,
        warehouse.identity_resolution,
        warehouse.dbt_after_identity,
        ml.models,
        ml.predictions,
        warehouse.dbt_after_models,
        segments.segment_memberships,
        activation.crm_sync,
    ],
    jobs=[schedules.hourly_sync, schedules.daily_models],
    schedules=[schedules.hourly_sync_schedule, schedules.daily_models_schedule],
    resources={**build_resources(), "dlt": DagsterDltResource(), "dbt": warehouse.dbt_resource()},
    # One warehouse writer at a time, and no ~1 s process start-up per step.
    executor=in_process_executor,
)
