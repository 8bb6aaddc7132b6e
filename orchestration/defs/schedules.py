"""Jobs and schedules named in contract.md."""

from dagster import AssetSelection, DefaultScheduleStatus, ScheduleDefinition, define_asset_job

hourly_sync = define_asset_job(
    "hourly_sync",
    selection=AssetSelection.groups("ingestion", "warehouse"),
    description="Ingest both CRMs and the event files, then rebuild identities, profiles and scores.",
)

hourly_sync_schedule = ScheduleDefinition(
    name="hourly_sync_schedule",
    job=hourly_sync,
    cron_schedule="5 * * * *",  # every hour at :05
    default_status=DefaultScheduleStatus.RUNNING,
)
