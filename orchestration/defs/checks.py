"""Freshness expectations on raw data: the hourly ingestion is late once a raw table stops being updated."""

from datetime import timedelta

from dagster import FreshnessPolicy

# hourly_sync loads every raw table at :05: one missed run warns, three missed runs fail. Freshness
# policies superseded freshness checks in Dagster 1.12; the instance's freshness daemon evaluates them.
RAW_DATA_FRESHNESS = FreshnessPolicy.time_window(
    fail_window=timedelta(hours=4), warn_window=timedelta(hours=2)
)
