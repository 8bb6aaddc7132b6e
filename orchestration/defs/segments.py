"""Segment assets: every definition in config/segments evaluated into the segments step's own tables.

dbt builds marts.segment_memberships and marts.segment_history over them (phase dbt_after_segments).
"""

from dagster import AssetExecutionContext, AssetKey, AssetSpec, MaterializeResult, MetadataValue, multi_asset

from orchestration.metadata import rounded_metadata
from orchestration.resources import WarehouseResource
from orchestration.shared import CUSTOMER_PROFILES, WAREHOUSE_POOL
from orchestration.table_metadata import warehouse_tables_metadata
from segments import materialize_segments
from segments.analytics import report_with_history
from segments.materialize import SCHEMA

TABLES = [(SCHEMA, "segment_memberships"), (SCHEMA, "segment_history")]
MEMBERSHIPS, HISTORY = (AssetKey(list(table)) for table in TABLES)
# touchpoints hold the events of the rules and the orders; int_ml_deals the opportunities per profile
INPUTS = [
    CUSTOMER_PROFILES,
    AssetKey(["marts", "touchpoints"]),
    AssetKey(["intermediate", "int_ml_deals"]),
]


@multi_asset(
    specs=[
        AssetSpec(
            MEMBERSHIPS,
            group_name="warehouse",
            kinds={"python", "duckdb"},
            deps=INPUTS,
            description="segments.segment_memberships: the members of every static, dynamic and predictive "
            "segment in config/segments, as the segments step last evaluated them.",
        ),
        AssetSpec(
            HISTORY,
            group_name="warehouse",
            kinds={"python", "duckdb"},
            deps=INPUTS,
            description="segments.segment_history: per run and segment, size, entries, exits and handoff / "
            "opportunity / order conversion.",
        ),
    ],
    pool=WAREHOUSE_POOL,
)
def segment_memberships(context: AssetExecutionContext, warehouse: WarehouseResource):
    report = materialize_segments(warehouse=warehouse.warehouse_file)
    for warning in report.warnings:
        context.log.warning(warning)
    for error in report.errors:
        context.log.error(error)
    for kind, reason in report.unavailable.items():
        context.log.info(f"{kind} conversion not measured: {reason}")
    summary = MetadataValue.md(report_with_history(report, warehouse.warehouse_file))
    tables = warehouse_tables_metadata(warehouse.warehouse_file, TABLES)
    metadata = {**report.metadata(), "segment_report": summary, **tables.get(TABLES[0], {})}
    yield MaterializeResult(asset_key=MEMBERSHIPS, metadata=rounded_metadata(metadata))
    yield MaterializeResult(asset_key=HISTORY, metadata=rounded_metadata(tables.get(TABLES[1])))
