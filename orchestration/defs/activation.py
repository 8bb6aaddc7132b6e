"""Activation assets: the two-way Salesforce <-> HubSpot sync and the enriched-field write-back.

With one CRM configured the same planner and writers run in write-back mode (scores and segments into that
CRM's records); with none, the asset still materialises and says what to set, so nothing downstream skips.
"""

import json
from collections import Counter

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    Config,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)

from activation.run import run_sync
from activation.sync import SyncReport
from ingestion.salesforce.client import connect
from ingestion.warehouse import connect_warehouse
from orchestration.defs.ingestion import FULL_RECONCILIATION_TAG, WAREHOUSE_POOL
from orchestration.defs.warehouse import dbt_models_in_layer
from orchestration.resources import HubSpotResource, SalesforceResource, WarehouseResource
from orchestration.table_metadata import warehouse_table_metadata

SYNC_LOG = AssetKey(["activation", "sync_log"])


class CrmSyncConfig(Config):
    """Run options of the CRM sync."""

    dry_run: bool = False  # plan only: the plan lands in the metadata and nothing is sent


def sync_metadata(reports: list[SyncReport]) -> dict[str, object]:
    """Dagster metadata of a sync: counts per object/CRM/operation/status, API calls vs the minimum, plan."""
    statuses: Counter[str] = Counter()
    for report in reports:
        statuses.update(report.statuses)
    dry_run = any(r.dry_run for r in reports)
    outcomes = ["| object | CRM | CRM object | operation | status | records |", "|---|---|---|---|---|---:|"]
    calls = ["| object | CRM | CRM object | operation | calls | minimum |", "|---|---|---|---|---:|---:|"]
    used_total = minimum_total = 0
    for report in reports:
        if dry_run:  # what would be sent: planned records per CRM and operation
            rows = [(*key.split("."), "planned", n) for key, n in report.plan.get("counts", {}).items()]
            rows = [(crm, "", operation, status, n) for crm, operation, status, n in rows]
        else:
            rows = [(*key.split("."), n) for key, n in report.outcomes.items()]
        for crm, crm_object, operation, status, n in sorted(rows):
            outcomes.append(f"| {report.object_key} | {crm} | {crm_object} | {operation} | {status} | {n} |")
        minimum = report.api_calls_minimum
        for key in sorted(set(minimum) | set(report.api_calls)):
            crm, crm_object, operation = key.split(".")
            used = report.api_calls.get(key, 0)
            calls.append(
                f"| {report.object_key} | {crm} | {crm_object} | {operation} | "
                f"{'-' if dry_run else used} | {minimum.get(key, 0)} |"
            )
            used_total += used
            minimum_total += minimum.get(key, 0)
    metadata: dict[str, object] = {
        "dry_run": dry_run,
        **{f"records_{k}": v for k, v in sorted(statuses.items())},
        "api_calls_minimum": minimum_total,
        "records": MetadataValue.md("\n".join(outcomes)),
        "api_calls": MetadataValue.md("\n".join(calls)),
    }
    if not dry_run:
        metadata["api_calls_used"] = used_total
    else:
        # sample values may be dates or decimals: shown as text
        plan = json.loads(json.dumps({r.object_key: r.plan for r in reports}, default=str))
        metadata["plan"] = MetadataValue.json(plan)
    return metadata


def sync_mode(salesforce: bool, hubspot: bool) -> str:
    """What the CRM sync does with the CRMs configured, in words for the logs and the metadata."""
    if salesforce and hubspot:
        return "two-way sync Salesforce <-> HubSpot, with the write-back to both"
    if salesforce or hubspot:
        crm, other = ("Salesforce", "HubSpot") if salesforce else ("HubSpot", "Salesforce")
        return f"write-back to {crm} only (the two-way sync starts when {other} is configured too)"
    return "not configured: set SALESFORCE_INSTANCE_URL and SALESFORCE_ACCESS_TOKEN, or HUBSPOT_ACCESS_TOKEN"


# What crm_sync remembers of its own writes. The models read these tables so that revloop's writes are never
# evidence; crm_sync depends on those models, so the tables are external assets (an edge would be a cycle).
SYNC_MEMORY = [
    AssetSpec(
        AssetKey(["activation", name]),
        group_name="activation",
        kinds={"duckdb"},
        description=f"activation.{name}, written by crm_sync: {what}",
    )
    for name, what in (
        ("written_values", "the value revloop last wrote into each CRM record field."),
        ("written_associations", "the HubSpot associations revloop created."),
        ("sync_record_baselines", "when each record revloop wrote was last changed by anyone else."),
    )
]


@multi_asset(
    specs=[
        AssetSpec(
            SYNC_LOG,
            group_name="activation",
            kinds={"salesforce", "hubspot", "duckdb"},
            deps=dbt_models_in_layer("sync"),
            description="activation.sync_log: one row per record and operation revloop sent to a CRM.",
        )
    ],
    pool=WAREHOUSE_POOL,
)
def crm_sync(
    context: AssetExecutionContext,
    config: CrmSyncConfig,
    warehouse: WarehouseResource,
    salesforce: SalesforceResource,
    hubspot: HubSpotResource,
):
    sf_connection, hs_connection = salesforce.connection(), hubspot.connection()
    mode = sync_mode(sf_connection is not None, hs_connection is not None)
    if sf_connection is None and hs_connection is None:
        context.log.warning(f"No CRM write-back or sync: {mode}.")
        yield MaterializeResult(asset_key=SYNC_LOG, metadata={"mode": mode})
        return
    context.log.info(f"CRM sync mode: {mode}")
    sf = connect(sf_connection) if sf_connection else None
    hs = hs_connection.hubspot() if hs_connection else None
    # the daily reconciliation sends again the writes a CRM refused (hourly runs hold them back)
    retry_refused = context.run.tags.get(FULL_RECONCILIATION_TAG) == "true"
    with connect_warehouse(warehouse.warehouse_file) as con:
        reports = run_sync(con, sf, hs, dry_run=config.dry_run, retry_refused=retry_refused)
    for report in reports:
        for error in report.errors:
            context.log.error(f"{report.object_key}: {error}")
    table = warehouse_table_metadata(warehouse.warehouse_file, "activation", "sync_log")
    yield MaterializeResult(asset_key=SYNC_LOG, metadata={"mode": mode, **sync_metadata(reports), **table})
