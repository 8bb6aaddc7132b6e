"""Serving assets: the read-only snapshot the profile API answers from."""

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset

from collector.snapshot import snapshot_path, write_profile_snapshot
from orchestration.metadata import rounded_metadata
from orchestration.resources import WarehouseResource
from orchestration.shared import CUSTOMER_PROFILES, SEGMENT_MEMBERSHIPS, WAREHOUSE_POOL
from orchestration.table_metadata import warehouse_table_metadata


@asset(
    key=AssetKey(["serving", "profile_snapshot"]),
    group_name="activation",
    kinds={"duckdb"},
    deps=[
        CUSTOMER_PROFILES,
        SEGMENT_MEMBERSHIPS,
        AssetKey(["marts", "lead_score_factors"]),
    ],
    description="Profiles, scores, score factors and segments copied to a small DuckDB file "
    "(REVLOOP_PROFILE_SNAPSHOT) that GET /v1/profiles/<id or e-mail> reads without touching the warehouse.",
    # It reads the warehouse: inside the pool no run is writing it meanwhile.
    pool=WAREHOUSE_POOL,
)
def profile_snapshot(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    stats = write_profile_snapshot(warehouse.warehouse_file, snapshot_path(warehouse.warehouse_file))
    context.log.info(f"profile snapshot written to {stats.path}")
    metadata = {
        "profiles": stats.profiles,
        "segment_memberships": stats.memberships,
        "score_factors": stats.score_factors,
        "path": str(stats.path),
        **warehouse_table_metadata(stats.path, "main", "profiles"),
    }
    return MaterializeResult(metadata=rounded_metadata(metadata))
