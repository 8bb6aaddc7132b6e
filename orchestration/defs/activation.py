"""Activation assets: the two-way Salesforce <-> HubSpot sync and the enriched-field write-back.

With one CRM configured the same planner and writers run in write-back mode (scores and segments into that
CRM's records); with none, the asset still materialises and says what to set, so nothing downstream skips.
"""

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    Config,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)

from activation.crm_sync import CrmSyncReport, sync_crms
from activation.warehouse_state import synced_raw_tables
from orchestration.metadata import rounded_metadata
from orchestration.resources import HubSpotResource, SalesforceResource, WarehouseResource
from orchestration.retries import CRM_RETRY_POLICY, retried_only_if_transient
from orchestration.shared import (
    CRM_CHANGES_SYNCED,
    FULL_RECONCILIATION_TAG,
    NEAR_REAL_TIME_GROUP,
    STEP_PRIORITY_TAG,
    SYNC_LOG,
    WAREHOUSE_POOL,
    dbt_models_in_layer,
    raw_key,
)
from orchestration.table_metadata import warehouse_table_metadata
from revloop.config.sync import load_sync_config


class CrmSyncConfig(Config):
    """Run options of the CRM sync."""

    dry_run: bool = False  # plan only: the plan lands in the metadata and nothing is sent


def sync_metadata(report: CrmSyncReport) -> dict[str, object]:
    """Dagster metadata of a sync: the report's values, its Markdown tables and, in a dry run, the plan."""
    metadata: dict[str, object] = {
        **report.metadata(),
        "records": MetadataValue.md(report.records_markdown()),
        "api_calls": MetadataValue.md(report.api_calls_markdown()),
    }
    if report.dry_run:
        metadata["plan"] = MetadataValue.json(report.plan())
    return metadata


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


def _crm_raw_keys() -> list[AssetKey]:
    """The raw tables of the objects the sync maps, in both CRMs."""
    return [raw_key(crm, table) for crm, _, table in synced_raw_tables(load_sync_config().objects.values())]


def _sync(
    context: AssetExecutionContext,
    config: CrmSyncConfig,
    warehouse: WarehouseResource,
    salesforce: SalesforceResource,
    hubspot: HubSpotResource,
    changed_only: bool = False,
) -> MaterializeResult:
    """One CRM sync (activation.crm_sync.sync_crms) and its metadata; errors are logged, not raised."""
    file = warehouse.warehouse_file
    # the daily reconciliation sends again the writes a CRM refused (hourly runs hold them back)
    retry = context.run.tags.get(FULL_RECONCILIATION_TAG) == "true"
    with retried_only_if_transient():
        report = sync_crms(
            file, salesforce.connection(), hubspot.connection(), config.dry_run, retry, changed_only
        )
    if not report.ran:
        context.log.warning(f"No CRM write-back or sync: {report.mode}.")
        metadata = rounded_metadata({"mode": report.mode})
        return MaterializeResult(asset_key=context.asset_key, metadata=metadata)
    context.log.info(f"CRM sync mode: {report.mode}")
    for error in report.errors:
        context.log.error(error)
    for note in report.notes:
        context.log.info(note)
    table = warehouse_table_metadata(file, "activation", "sync_log")
    metadata = rounded_metadata({**sync_metadata(report), **table})
    return MaterializeResult(asset_key=context.asset_key, metadata=metadata)


@multi_asset(
    specs=[
        AssetSpec(
            CRM_CHANGES_SYNCED,
            group_name=NEAR_REAL_TIME_GROUP,
            kinds={"salesforce", "hubspot", "duckdb"},
            deps=_crm_raw_keys(),
            description="The CRM change path's first step: right after the CRM loads, the sync of the pairs "
            "holding a record loaded since the last sync (one CRM's change reaches the other in seconds), "
            "on the pairing and warehouse values of the last build. New records, new pairs and recomputed "
            "values follow in crm_sync, after the models, in the same run.",
        )
    ],
    pool=WAREHOUSE_POOL,
    retry_policy=CRM_RETRY_POLICY,
    # runs as soon as the loads are done, before the dbt steps that would otherwise come first
    op_tags={STEP_PRIORITY_TAG: "10"},
)
def crm_changes_sync(
    context: AssetExecutionContext,
    config: CrmSyncConfig,
    warehouse: WarehouseResource,
    salesforce: SalesforceResource,
    hubspot: HubSpotResource,
):
    yield _sync(context, config, warehouse, salesforce, hubspot, changed_only=True)


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
    retry_policy=CRM_RETRY_POLICY,
)
def crm_sync(
    context: AssetExecutionContext,
    config: CrmSyncConfig,
    warehouse: WarehouseResource,
    salesforce: SalesforceResource,
    hubspot: HubSpotResource,
):
    yield _sync(context, config, warehouse, salesforce, hubspot)
