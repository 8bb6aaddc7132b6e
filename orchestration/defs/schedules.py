"""Jobs and schedules named in contract.md."""

import os
from collections.abc import Mapping

from dagster import AssetSelection, DefaultScheduleStatus, ScheduleDefinition, define_asset_job

from orchestration.shared import (
    DBT_FULL_REFRESH_TAG,
    FULL_RECONCILIATION_TAG,
    ID_RECONCILIATION_TAG,
    NEAR_REAL_TIME_GROUP,
    PREDICTIONS,
    raw_tables,
)

SCHEDULES_VARIABLE = "REVLOOP_SCHEDULES"


def default_schedule_status(env: Mapping[str, str] = os.environ) -> DefaultScheduleStatus:
    """RUNNING unless REVLOOP_SCHEDULES=off (e.g. `make dev` on a laptop); a switch in the UI wins."""
    value = env.get(SCHEDULES_VARIABLE, "").strip().lower()
    if value in ("", "on"):
        return DefaultScheduleStatus.RUNNING
    if value == "off":
        return DefaultScheduleStatus.STOPPED
    raise ValueError(f"{SCHEDULES_VARIABLE} must be 'on' or 'off', got {value!r}")


hourly_sync = define_asset_job(
    "hourly_sync",
    selection=AssetSelection.groups("ingestion", "warehouse", "activation"),
    description="Ingest both CRMs and the event files, rebuild identities, profiles, scores and segments, "
    "then sync the CRMs and write the enriched fields back. Training and scoring (the ml group) are left to "
    "daily_models: after this job the UI shows the ml assets Unsynced, as expected.",
)

daily_reconciliation = define_asset_job(
    "daily_reconciliation",
    selection=AssetSelection.groups("ingestion", "warehouse", "activation"),
    description="The hourly sync plus what no cursor can find: HubSpot's archived records and owners are "
    "listed in full (hourly runs read only changes), then everything downstream is rebuilt and synced.",
    tags={FULL_RECONCILIATION_TAG: "true"},
)

id_reconciliation = define_asset_job(
    "id_reconciliation",
    selection=raw_tables("salesforce").downstream() - AssetSelection.groups("ml", NEAR_REAL_TIME_GROUP),
    description="Salesforce ingested as hourly, plus a listing of every id per object (queryAll): stored "
    "records the org no longer has (purged beyond Get Deleted's 30-day window, say) are marked deleted in "
    "raw_salesforce.deleted_records, then everything downstream is rebuilt and synced.",
    tags={ID_RECONCILIATION_TAG: "true"},
)

weekly_full_refresh = define_asset_job(
    "weekly_full_refresh",
    selection=AssetSelection.groups("warehouse", "activation"),
    description="dbt rebuilds every model from all raw rows (--full-refresh: the incremental staging models "
    "too, which hourly runs only update with what was loaded since), then everything downstream is synced.",
    tags={DBT_FULL_REFRESH_TAG: "true"},
)

daily_models = define_asset_job(
    "daily_models",
    selection=AssetSelection.groups("ml") | AssetSelection.assets(PREDICTIONS).downstream(include_self=False),
    description="Retrain and promote the churn, purchase and engagement models, score every profile, "
    "and rebuild the profiles that carry the scores.",
)

hourly_sync_schedule = ScheduleDefinition(
    name="hourly_sync_schedule",
    job=hourly_sync,
    cron_schedule="5 * * * *",  # every hour at :05
    default_status=default_schedule_status(),
)

daily_models_schedule = ScheduleDefinition(
    name="daily_models_schedule",
    job=daily_models,
    cron_schedule="30 2 * * *",  # every day at 02:30, between two hourly syncs
    default_status=default_schedule_status(),
)

daily_reconciliation_schedule = ScheduleDefinition(
    name="daily_reconciliation_schedule",
    job=daily_reconciliation,
    cron_schedule="35 3 * * *",  # every day at 03:35, after the models and between two hourly syncs
    default_status=default_schedule_status(),
)

id_reconciliation_schedule = ScheduleDefinition(
    name="id_reconciliation_schedule",
    job=id_reconciliation,
    cron_schedule="50 4 * * *",  # every day at 04:50, after the daily reconciliation, between hourly syncs
    default_status=default_schedule_status(),
)

weekly_full_refresh_schedule = ScheduleDefinition(
    name="weekly_full_refresh_schedule",
    job=weekly_full_refresh,
    cron_schedule="20 5 * * 0",  # Sundays at 05:20, after the id reconciliation, between hourly syncs
    default_status=default_schedule_status(),
)
