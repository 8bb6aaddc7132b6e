"""Segment assets: every definition in config/segments evaluated into marts.segment_memberships."""

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from orchestration.defs.ingestion import WAREHOUSE_POOL
from orchestration.resources import WarehouseResource
from segments import materialize_segments


@asset(
    key=AssetKey(["marts", "segment_memberships"]),
    group_name="warehouse",
    kinds={"python", "duckdb"},
    deps=[AssetKey(["marts", "customer_profiles"]), AssetKey(["marts", "touchpoints"])],
    description="Members of every static, dynamic and predictive segment in config/segments, with history.",
    pool=WAREHOUSE_POOL,
)
def segment_memberships(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    report = materialize_segments(warehouse=warehouse.warehouse_file)
    for warning in report.warnings:
        context.log.warning(warning)
    for error in report.errors:
        context.log.error(error)
    table = ["| segment | type | size | entries | exits | conversion |", "|---|---|---:|---:|---:|---:|"]
    table += [
        f"| {s.segment_name} | {s.segment_type} | {s.size} | {s.entries} | {s.exits} | "
        f"{'' if s.conversion_rate is None else f'{s.conversion_rate:.1%}'} |"
        for s in report.segments
    ]
    return MaterializeResult(
        metadata={
            "segments": len(report.segments),
            "memberships": sum(s.size for s in report.segments),
            "failed_definitions": len(report.errors),
            "sizes": MetadataValue.md("\n".join(table)),
        }
    )
