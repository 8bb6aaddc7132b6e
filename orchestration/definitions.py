"""The revloop code location: every area's definitions plus project-wide resources and policy."""

from dagster import AssetSpec, Definitions, in_process_executor, map_asset_specs
from dagster_dlt import DagsterDltResource

from orchestration.defs import (
    activation,
    automation,
    checks,
    handoff,
    ingestion,
    ml,
    runs,
    schedules,
    segments,
    serving,
    stages,
    warehouse,
)
from orchestration.resources import build_resources

# Who answers for each area's assets (shown and filterable in the UI); other groups fall to the platform team.
OWNERS_BY_GROUP = {
    "ingestion": "team:data-platform",
    "warehouse": "team:analytics-engineering",
    "ml": "team:data-science",
    "activation": "team:revenue-operations",
}
PLATFORM_OWNER = "team:data-platform"


def with_owner_and_layer(spec: AssetSpec) -> AssetSpec:
    """Project-wide policy: an owner per group and a `layer` tag from the key's first part (raw, marts...)."""
    owners = spec.owners or [OWNERS_BY_GROUP.get(spec.group_name, PLATFORM_OWNER)]
    return spec.replace_attributes(owners=owners, tags={"layer": spec.key.path[0], **spec.tags})


defs = Definitions(
    assets=map_asset_specs(with_owner_and_layer, [
        ingestion.salesforce_raw,
        ingestion.hubspot_raw,
        ingestion.events_raw,
        warehouse.dbt_before_identity,
        warehouse.identity_resolution,
        warehouse.dbt_after_identity,
        ml.models,
        ml.predictions,
        warehouse.dbt_after_models,
        warehouse.dbt_after_segments,
        segments.segment_memberships,
        activation.crm_changes_sync,
        activation.crm_sync,
        *activation.SYNC_MEMORY,
        handoff.lead_handoffs,
        warehouse.dbt_after_handoff,
        serving.profile_snapshot,
    ]),
    asset_checks=checks.ASSET_CHECKS,
    jobs=[
        schedules.hourly_sync,
        schedules.daily_models,
        schedules.daily_reconciliation,
        schedules.id_reconciliation,
        schedules.weekly_full_refresh,
        automation.near_real_time_sync,
        *stages.STAGE_JOBS,
        stages.full_build,
    ],
    schedules=[
        schedules.hourly_sync_schedule,
        schedules.daily_models_schedule,
        schedules.daily_reconciliation_schedule,
        schedules.id_reconciliation_schedule,
        schedules.weekly_full_refresh_schedule,
    ],
    sensors=[
        automation.crm_change_sensor,
        automation.hubspot_webhook_sensor,
        automation.event_files_sensor,
        automation.run_failure_alert,
        runs.skipped_steps_report,
    ],
    resources={**build_resources(), "dlt": DagsterDltResource(), "dbt": warehouse.dbt_resource()},
    # One warehouse writer at a time, and no ~1 s process start-up per step.
    executor=in_process_executor,
)
