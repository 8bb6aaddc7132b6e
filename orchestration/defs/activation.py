"""Activation assets: the two-way Salesforce <-> HubSpot sync and the enriched-field write-back."""

from collections import Counter

import duckdb
from dagster import AssetExecutionContext, AssetKey, AssetSpec, MaterializeResult, MetadataValue, multi_asset

from activation.run import run_sync
from ingestion.salesforce.client import connect
from orchestration.defs.ingestion import WAREHOUSE_POOL
from orchestration.resources import HubSpotResource, SalesforceResource, WarehouseResource

SYNC_LOG = AssetKey(["activation", "sync_log"])
SYNC_MODELS = (
    "sync_salesforce__contacts",
    "sync_salesforce__leads",
    "sync_salesforce__accounts",
    "sync_hubspot__contacts",
    "sync_hubspot__companies",
)


@multi_asset(
    specs=[
        AssetSpec(
            SYNC_LOG,
            group_name="activation",
            kinds={"salesforce", "hubspot", "duckdb"},
            skippable=True,
            deps=[AssetKey(["sync", model]) for model in SYNC_MODELS],
            description="activation.sync_log: one row per record and operation revloop sent to a CRM.",
        )
    ],
    pool=WAREHOUSE_POOL,
)
def crm_sync(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    salesforce: SalesforceResource,
    hubspot: HubSpotResource,
):
    sf_connection, hs_connection = salesforce.connection(), hubspot.connection()
    if sf_connection is None or hs_connection is None:
        context.log.warning("The CRM sync needs both Salesforce and HubSpot configured: skipping it.")
        return
    with duckdb.connect(str(warehouse.warehouse_file)) as con:
        reports = run_sync(con, connect(sf_connection), hs_connection.hubspot())
    statuses = Counter()
    for report in reports:
        statuses.update(report.statuses)
        for error in report.errors:
            context.log.error(f"{report.object_key}: {error}")
    rows = ["| object | planned | statuses |", "|---|---|---|"] + [
        f"| {r.object_key} | {r.plan.get('counts', '')} | {dict(r.statuses)} |" for r in reports
    ]
    yield MaterializeResult(
        asset_key=SYNC_LOG,
        metadata={
            **{f"records_{k}": v for k, v in statuses.items()},
            "objects": MetadataValue.md("\n".join(rows)),
        },
    )
