"""Raw data assets: the Salesforce, HubSpot and event dlt sources, keyed raw/<source>/<table>."""

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

from dagster import (
    AssetExecutionContext,
    AssetSpec,
    FreshnessPolicy,
    MaterializeResult,
    MetadataValue,
    RetryPolicy,
    multi_asset,
)
from dagster_dlt import DagsterDltResource, DagsterDltTranslator, build_dlt_asset_specs
from dagster_dlt.translator import DltResourceTranslatorData

from ingestion.hubspot import HubSpotConnection
from ingestion.load import Origin, load_source, raw_pipeline, raw_source
from ingestion.quarantine import Rejections
from ingestion.salesforce import SalesforceConnection
from orchestration.metadata import rounded_metadata
from orchestration.resources import HubSpotResource, SalesforceResource, WarehouseResource
from orchestration.retries import CRM_RETRY_POLICY, retried_only_if_transient
from orchestration.shared import (
    FULL_RECONCILIATION_TAG,
    ID_RECONCILIATION_TAG,
    INGESTION_GROUP,
    WAREHOUSE_POOL,
    raw_key,
)
from orchestration.table_metadata import warehouse_tables_metadata

# hourly_sync loads every raw table at :05: one missed run warns, three missed runs fail. Freshness
# policies superseded freshness checks in Dagster 1.12; the instance's freshness daemon evaluates them.
RAW_DATA_FRESHNESS = FreshnessPolicy.time_window(
    fail_window=timedelta(hours=4), warn_window=timedelta(hours=2)
)
SALESFORCE_VARIABLES = (
    "SALESFORCE_INSTANCE_URL and SALESFORCE_ACCESS_TOKEN (or SALESFORCE_USERNAME/PASSWORD/SECURITY_TOKEN)"
)


class RawTableTranslator(DagsterDltTranslator):
    """raw/<source>/<table> keys in the ingestion group; no upstream keys."""

    def __init__(self, source: str) -> None:
        self.source = source

    def get_asset_spec(self, data: DltResourceTranslatorData) -> AssetSpec:
        table = data.resource.name
        return (
            super()
            .get_asset_spec(data)
            .replace_attributes(
                key=raw_key(self.source, table),
                deps=[],
                group_name=INGESTION_GROUP,
                description=f"Raw {self.source} `{table}` as the source sent it, loaded by dlt.",
                kinds={"dlt", "duckdb"},
                freshness_policy=RAW_DATA_FRESHNESS,
            )
        )


def load_raw(
    context: AssetExecutionContext, dlt: DagsterDltResource, warehouse: WarehouseResource, origin: Origin
) -> Iterator[MaterializeResult]:
    """Load one source (ingestion.load.load_source) through Dagster's dlt resource, then report each loaded
    table with its row count and a sample."""
    loaded = load_source(
        origin,
        warehouse.warehouse_file,
        full_reconciliation=context.run.tags.get(FULL_RECONCILIATION_TAG) == "true",
        reconcile_ids=context.run.tags.get(ID_RECONCILIATION_TAG) == "true",
        run=lambda pipeline, source: list(dlt.run(context, dlt_source=source, dlt_pipeline=pipeline)),
    )
    name, dataset = loaded.pipeline.pipeline_name, loaded.pipeline.dataset_name
    if loaded.quarantined:
        context.log.warning(
            f"{loaded.quarantined} {name} records quarantined: see quarantine.rejected_records"
        )
    tables = warehouse_tables_metadata(
        warehouse.warehouse_file, [(dataset, result.asset_key.path[-1]) for result in loaded.result]
    )
    for result in loaded.result:
        # a table dlt has not created yet (a resource that yielded nothing so far) holds no rows
        extra = tables.get((dataset, result.asset_key.path[-1])) or {
            "dagster/row_count": 0, "sample": MetadataValue.md("_no rows yet_")
        }
        metadata = rounded_metadata({**(result.metadata or {}), **extra})
        yield MaterializeResult(asset_key=result.asset_key, metadata=metadata)


def not_configured(context, source: str, variables: str) -> Iterator[MaterializeResult]:
    """An unconfigured source still materialises each of its tables (as empty, which dbt's
    source_or_empty reads as no rows), so that nothing downstream is skipped; one warning says why."""
    reason = f"{source} is not configured: set {variables}"
    context.log.warning(f"{reason}. Its raw tables are treated as empty; everything downstream still runs.")
    for key in sorted(context.selected_asset_keys):
        metadata = rounded_metadata({"not_configured": reason, "dagster/row_count": 0})
        yield MaterializeResult(asset_key=key, metadata=metadata)


def load_crm(
    context: AssetExecutionContext,
    dlt: DagsterDltResource,
    warehouse: WarehouseResource,
    connection: SalesforceConnection | HubSpotConnection | None,
    crm: str,
    variables: str,
) -> Iterator[MaterializeResult]:
    """load_raw from a CRM, or its tables as not configured when it has no connection (`variables` unset)."""
    if connection is None:
        yield from not_configured(context, crm, variables)
        return
    with retried_only_if_transient():
        yield from load_raw(context, dlt, warehouse, connection)


def raw_assets(source: str, placeholder: Origin, retry_policy: RetryPolicy | None = None):
    """The multi_asset of a dlt source's tables, as dlt_assets builds them, in the warehouse pool.

    Built on a placeholder connection and the default warehouse: each run builds its source and pipeline
    from the configured resources. retry_policy: CRM sources run again after transient failures.
    """
    specs = build_dlt_asset_specs(
        dlt_source=raw_source(placeholder, Rejections()),
        dlt_pipeline=raw_pipeline(placeholder),
        dagster_dlt_translator=RawTableTranslator(source),
    )
    return multi_asset(
        name=f"{source}_raw", specs=specs, can_subset=True, pool=WAREHOUSE_POOL, retry_policy=retry_policy
    )


@raw_assets("salesforce", SalesforceConnection("https://salesforce.invalid", "unused"), CRM_RETRY_POLICY)
def salesforce_raw(
    context: AssetExecutionContext,
    dlt: DagsterDltResource,
    salesforce: SalesforceResource,
    warehouse: WarehouseResource,
):
    yield from load_crm(context, dlt, warehouse, salesforce.connection(), "Salesforce", SALESFORCE_VARIABLES)


@raw_assets("hubspot", HubSpotConnection("unused", "https://hubspot.invalid"), CRM_RETRY_POLICY)
def hubspot_raw(
    context: AssetExecutionContext,
    dlt: DagsterDltResource,
    hubspot: HubSpotResource,
    warehouse: WarehouseResource,
):
    yield from load_crm(context, dlt, warehouse, hubspot.connection(), "HubSpot", "HUBSPOT_ACCESS_TOKEN")


@raw_assets("events", Path("."))
def events_raw(context: AssetExecutionContext, dlt: DagsterDltResource, warehouse: WarehouseResource):
    yield from load_raw(context, dlt, warehouse, warehouse.events_folder)
