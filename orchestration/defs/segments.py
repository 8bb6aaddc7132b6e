"""Segment assets: every definition in config/segments evaluated into the segments step's own tables.

dbt builds marts.segment_memberships and marts.segment_history over them (phase dbt_after_segments).
"""

from dagster import AssetExecutionContext, AssetKey, AssetSpec, MaterializeResult, MetadataValue, multi_asset

from orchestration.defs.ingestion import WAREHOUSE_POOL
from orchestration.resources import WarehouseResource
from orchestration.table_metadata import warehouse_tables_metadata
from segments import materialize_segments
from segments.analytics import report_markdown, size_history, size_plot
from segments.materialize import SCHEMA

TABLES = [(SCHEMA, "segment_memberships"), (SCHEMA, "segment_history")]
MEMBERSHIPS, HISTORY = (AssetKey(list(table)) for table in TABLES)
# touchpoints hold the events of the rules and the orders; int_ml_deals the opportunities per profile
INPUTS = [
    AssetKey(["marts", "customer_profiles"]),
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
    history = size_history(warehouse.warehouse_file, [s.segment_name for s in report.segments])
    tables = warehouse_tables_metadata(warehouse.warehouse_file, TABLES)
    # numbers per segment: the Dagster UI plots numeric metadata across materialisations
    per_segment: dict[str, int | float] = {}
    for run in report.segments:
        per_segment[f"size {run.segment_name}"] = run.size
        per_segment[f"entries {run.segment_name}"] = run.entries
        per_segment[f"exits {run.segment_name}"] = run.exits
        for conversion in run.conversions:
            if conversion.rate is not None:
                per_segment[f"{conversion.kind} rate {run.segment_name}"] = conversion.rate
    yield MaterializeResult(
        asset_key=MEMBERSHIPS,
        metadata={
            "segments": len(report.segments),
            "memberships": sum(s.size for s in report.segments),
            "failed_definitions": len(report.errors),
            "warnings": len(report.warnings),
            "segment_report": MetadataValue.md(report_markdown(report, size_plot(history))),
            **per_segment,
            **tables.get(TABLES[0], {}),
        },
    )
    yield MaterializeResult(asset_key=HISTORY, metadata=tables.get(TABLES[1], {}))
