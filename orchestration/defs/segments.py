"""Segment assets: every definition in config/segments evaluated into marts.segment_memberships."""

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from orchestration.defs.ingestion import WAREHOUSE_POOL
from orchestration.resources import WarehouseResource
from orchestration.table_metadata import warehouse_tables_metadata
from segments import materialize_segments
from segments.analytics import report_markdown, size_history, size_plot


@asset(
    key=AssetKey(["marts", "segment_memberships"]),
    group_name="warehouse",
    kinds={"python", "duckdb"},
    # touchpoints hold the events of the rules and the orders; int_ml_deals the opportunities per profile
    deps=[
        AssetKey(["marts", "customer_profiles"]),
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
    history = size_history(warehouse.warehouse_file, [s.segment_name for s in report.segments])
    table = warehouse_tables_metadata(warehouse.warehouse_file, [("marts", "segment_memberships")])
    # numbers per segment: the Dagster UI plots numeric metadata across materialisations
    per_segment: dict[str, int | float] = {}
    for run in report.segments:
        per_segment[f"size {run.segment_name}"] = run.size
        per_segment[f"entries {run.segment_name}"] = run.entries
        per_segment[f"exits {run.segment_name}"] = run.exits
        for conversion in run.conversions:
            if conversion.rate is not None:
                per_segment[f"{conversion.kind} rate {run.segment_name}"] = conversion.rate
    return MaterializeResult(
        metadata={
            "segments": len(report.segments),
            "memberships": sum(s.size for s in report.segments),
            "failed_definitions": len(report.errors),
            "warnings": len(report.warnings),
            "segment_report": MetadataValue.md(report_markdown(report, size_plot(history))),
            **per_segment,
            **table.get(("marts", "segment_memberships"), {}),
        }
    )
