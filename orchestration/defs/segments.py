"""Segment assets: every definition in config/segments evaluated into marts.segment_memberships."""

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from orchestration.resources import WarehouseResource
from orchestration.shared import CUSTOMER_PROFILES, SEGMENT_MEMBERSHIPS, WAREHOUSE_POOL
from orchestration.table_metadata import warehouse_table_metadata
from segments import materialize_segments
from segments.analytics import report_with_history


@asset(
    key=SEGMENT_MEMBERSHIPS,
    group_name="warehouse",
    kinds={"python", "duckdb"},
    # touchpoints hold the events of the rules and the orders; int_ml_deals the opportunities per profile
    deps=[
        CUSTOMER_PROFILES,
        AssetKey(["marts", "touchpoints"]),
        AssetKey(["intermediate", "int_ml_deals"]),
    ],
    description="Members of every static, dynamic and predictive segment in config/segments, with history "
    "(marts.segment_history: size, entries, exits and handoff / opportunity / order conversion per run).",
    pool=WAREHOUSE_POOL,
)
def segment_memberships(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    report = materialize_segments(warehouse=warehouse.warehouse_file)
    for warning in report.warnings:
        context.log.warning(warning)
    for error in report.errors:
        context.log.error(error)
    for kind, reason in report.unavailable.items():
        context.log.info(f"{kind} conversion not measured: {reason}")
    summary = MetadataValue.md(report_with_history(report, warehouse.warehouse_file))
    table = warehouse_table_metadata(warehouse.warehouse_file, *SEGMENT_MEMBERSHIPS.path)
    return MaterializeResult(metadata={**report.metadata(), "segment_report": summary, **table})
