"""Raw data assets: the Salesforce, HubSpot and event dlt sources, keyed raw/<source>/<table>."""

from collections.abc import Iterator
from pathlib import Path

from dagster import AssetExecutionContext, AssetKey, AssetSpec, MaterializeResult, MetadataValue, multi_asset
from dagster_dlt import DagsterDltResource, DagsterDltTranslator, build_dlt_asset_specs, dlt_assets
from dagster_dlt.translator import DltResourceTranslatorData

from ingestion.events import events_source
from ingestion.events import settings as events_settings
from ingestion.hubspot import HubSpotConnection, hubspot_source
from ingestion.hubspot import settings as hs_settings
from ingestion.quarantine import Rejections, load_rejections
from ingestion.salesforce import SalesforceConnection, salesforce_source
from ingestion.salesforce import settings as sf_settings
from ingestion.warehouse import make_pipeline
from orchestration.defs.checks import RAW_DATA_FRESHNESS
from orchestration.defs.retries import CRM_RETRY_POLICY, retried_only_if_transient
from orchestration.resources import HubSpotResource, SalesforceResource, WarehouseResource
from orchestration.table_metadata import warehouse_tables_metadata

WAREHOUSE_POOL = "warehouse"
# Run tag of the daily reconciliation: sources also read what they cannot read by a cursor (HubSpot archives).
FULL_RECONCILIATION_TAG = "revloop/full_reconciliation"
# Run tag of the daily id reconciliation: Salesforce ids the org no longer has are marked deleted.
ID_RECONCILIATION_TAG = "revloop/id_reconciliation"


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
                key=AssetKey(["raw", self.source, table]),
                deps=[],
                group_name="ingestion",
                description=f"Raw {self.source} `{table}` as the source sent it, loaded by dlt.",
                kinds={"dlt", "duckdb"},
                freshness_policy=RAW_DATA_FRESHNESS,
            )
        )


def _load(
    context,
    dlt: DagsterDltResource,
    source,
    pipeline_name: str,
    dataset: str,
    warehouse: WarehouseResource,
    rejections: Rejections,
) -> Iterator:
    """Run one dlt source into the warehouse, move what it refused to quarantine.rejected_records, then
    report each loaded table with its row count and a sample."""
    pipeline = make_pipeline(pipeline_name, dataset, warehouse.warehouse_file)
    results = list(dlt.run(context, dlt_source=source, dlt_pipeline=pipeline))
    quarantined = load_rejections(rejections, warehouse.warehouse_file)
    if quarantined:
        context.log.warning(
            f"{quarantined} {pipeline_name} records quarantined: see quarantine.rejected_records"
        )
    tables = warehouse_tables_metadata(
        warehouse.warehouse_file, [(dataset, result.asset_key.path[-1]) for result in results]
    )
    for result in results:
        # a table dlt has not created yet (a resource that yielded nothing so far) holds no rows
        extra = tables.get((dataset, result.asset_key.path[-1])) or {
            "dagster/row_count": 0, "sample": MetadataValue.md("_no rows yet_")
        }
        yield MaterializeResult(asset_key=result.asset_key, metadata={**(result.metadata or {}), **extra})


def not_configured(context, source: str, variables: str) -> Iterator[MaterializeResult]:
    """An unconfigured source still materialises each of its tables (as empty, which dbt's
    source_or_empty reads as no rows), so that nothing downstream is skipped; one warning says why."""
    reason = f"{source} is not configured: set {variables}"
    context.log.warning(f"{reason}. Its raw tables are treated as empty; everything downstream still runs.")
    for key in sorted(context.selected_asset_keys):
        yield MaterializeResult(
            asset_key=key, metadata={"not_configured": reason, "dagster/row_count": 0}
        )


# Placeholder connections and the default warehouse: the definitions only list each source's tables;
# each run builds its source and pipeline from the configured resources.
_SF_SPEC = SalesforceConnection(instance_url="https://salesforce.invalid", access_token="unused")
_HS_SPEC = HubSpotConnection("unused", "https://hubspot.invalid")


def crm_dlt_assets(crm: str, source, settings):
    """dlt_assets of a CRM source (`settings`: its PIPELINE_NAME and DATASET_NAME), as dlt_assets builds
    them, plus CRM_RETRY_POLICY: the step runs again after transient failures."""
    specs = build_dlt_asset_specs(
        dlt_source=source,
        dlt_pipeline=make_pipeline(settings.PIPELINE_NAME, settings.DATASET_NAME),
        dagster_dlt_translator=RawTableTranslator(crm),
    )
    return multi_asset(
        name=f"{crm}_raw", specs=specs, can_subset=True, pool=WAREHOUSE_POOL, retry_policy=CRM_RETRY_POLICY
    )


@crm_dlt_assets("salesforce", salesforce_source(_SF_SPEC), sf_settings)
def salesforce_raw(
    context: AssetExecutionContext,
    dlt: DagsterDltResource,
    salesforce: SalesforceResource,
    warehouse: WarehouseResource,
):
    connection = salesforce.connection()
    if connection is None:
        yield from not_configured(
            context,
            "Salesforce",
            "SALESFORCE_INSTANCE_URL and SALESFORCE_ACCESS_TOKEN "
            "(or SALESFORCE_USERNAME/PASSWORD/SECURITY_TOKEN)",
        )
        return
    rejections = Rejections.spooled(sf_settings.PIPELINE_NAME, warehouse.warehouse_file)
    reconcile = context.run.tags.get(ID_RECONCILIATION_TAG) == "true"
    source = salesforce_source(connection, rejections=rejections, reconcile_ids=reconcile)
    with retried_only_if_transient():
        yield from _load(
            context, dlt, source, sf_settings.PIPELINE_NAME, sf_settings.DATASET_NAME, warehouse, rejections
        )


@crm_dlt_assets("hubspot", hubspot_source(_HS_SPEC), hs_settings)
def hubspot_raw(
    context: AssetExecutionContext,
    dlt: DagsterDltResource,
    hubspot: HubSpotResource,
    warehouse: WarehouseResource,
):
    connection = hubspot.connection()
    if connection is None:
        yield from not_configured(context, "HubSpot", "HUBSPOT_ACCESS_TOKEN")
        return
    rejections = Rejections.spooled(hs_settings.PIPELINE_NAME, warehouse.warehouse_file)
    reconcile = context.run.tags.get(FULL_RECONCILIATION_TAG) == "true"
    source = hubspot_source(connection, rejections=rejections, full_reconciliation=reconcile)
    with retried_only_if_transient():
        yield from _load(
            context, dlt, source, hs_settings.PIPELINE_NAME, hs_settings.DATASET_NAME, warehouse, rejections
        )


@dlt_assets(
    dlt_source=events_source(Path("."), Rejections()),
    dlt_pipeline=make_pipeline(events_settings.PIPELINE_NAME, events_settings.DATASET),
    name="events_raw",
    dagster_dlt_translator=RawTableTranslator("events"),
    pool=WAREHOUSE_POOL,
)
def events_raw(context: AssetExecutionContext, dlt: DagsterDltResource, warehouse: WarehouseResource):
    rejections = Rejections.spooled(events_settings.PIPELINE_NAME, warehouse.warehouse_file)
    source = events_source(warehouse.events_folder, rejections)
    yield from _load(
        context, dlt, source, events_settings.PIPELINE_NAME, events_settings.DATASET, warehouse, rejections
    )
