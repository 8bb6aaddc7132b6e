"""What several defs modules name: the warehouse pool, run tags, the dbt project and the shared asset keys.

Each module of orchestration/defs imports from here, never from another defs module.
"""

import functools
import json
from collections.abc import Mapping
from typing import Any

from dagster import AssetKey, AssetSelection
from dagster_dbt import DbtProject

from revloop.dbt import DBT_PROJECT_DIR

# DuckDB allows one writer: every asset that reads or writes the warehouse runs in this concurrency pool.
WAREHOUSE_POOL = "warehouse"
# Run tag of the daily reconciliation: sources also read what they cannot read by a cursor (HubSpot archives).
FULL_RECONCILIATION_TAG = "revloop/full_reconciliation"
# Run tag of the daily id reconciliation: Salesforce also lists every id per object to find purged records.
ID_RECONCILIATION_TAG = "revloop/id_reconciliation"
# Run tag of the weekly full refresh: dbt rebuilds its incremental models from every raw row (--full-refresh).
DBT_FULL_REFRESH_TAG = "revloop/dbt_full_refresh"
INGESTION_GROUP = "ingestion"
# The stages of a full build (`make demo`), in order: (asset group, the job that runs the stage).
STAGES = (("ingestion", "ingest"), ("warehouse", "transform"), ("ml", "score"), ("activation", "activate"))
FULL_BUILD_JOB = "full_build"
STAGE_TAG = "revloop/stage"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)

SYNC_LOG = AssetKey(["activation", "sync_log"])
# The CRM change path's sync right after the loads: its group is in the sensors' job only, no schedule's.
CRM_CHANGES_SYNCED = AssetKey(["activation", "crm_changes_synced"])
NEAR_REAL_TIME_GROUP = "near_real_time"
# Dagster's op tag ordering the steps ready to run (higher first; 0 by default).
STEP_PRIORITY_TAG = "dagster/priority"
PREDICTIONS = AssetKey(["ml", "predictions"])
CUSTOMER_PROFILES = AssetKey(["marts", "customer_profiles"])
SEGMENT_MEMBERSHIPS = AssetKey(["marts", "segment_memberships"])


def model_key(task: str) -> AssetKey:
    """The asset of one task's promoted model."""
    return AssetKey(["ml", f"{task}_model"])


def raw_key(source: str, table: str) -> AssetKey:
    """raw/<source>/<table>: a table as a dlt source loaded it (and as dbt's sources name it)."""
    return AssetKey(["raw", source, table])


def raw_tables(source: str) -> AssetSelection:
    """Every raw table the ingestion assets load from one source."""
    return AssetSelection.key_prefixes(["raw", source]) & AssetSelection.groups(INGESTION_GROUP)


def dbt_asset_key(node: Mapping[str, Any]) -> AssetKey:
    """The key of a dbt node: raw sources like the dlt assets, other sources by schema, models by folder."""
    if node["resource_type"] == "source":
        schema, table = node["schema"], node["name"]
        if schema.startswith("raw_"):
            return raw_key(schema.removeprefix("raw_"), table)
        return AssetKey([schema, table])
    layer = node["fqn"][1] if len(node["fqn"]) > 2 else "models"
    return AssetKey([layer, node["name"]])


@functools.cache
def _manifest() -> Mapping[str, Any]:
    return json.loads(dbt_project.manifest_path.read_text())


def _manifest_nodes() -> tuple[Mapping[str, Any], ...]:
    return tuple(_manifest()["nodes"].values())


def source_columns(schema: str, table: str) -> dict[str, str]:
    """Column descriptions of a table dbt reads as a source (raw and Python-built tables), else nothing."""
    for source in _manifest()["sources"].values():
        if (source["schema"], source["identifier"]) == (schema, table):
            return {name: column.get("description") or "" for name, column in source["columns"].items()}
    return {}


def dbt_models_in_layer(layer: str) -> list[AssetKey]:
    """The keys of the dbt models of one folder (staging, marts, sync, ...), whatever phase builds them."""
    built = ("model", "seed", "snapshot")
    keys = (dbt_asset_key(node) for node in _manifest_nodes() if node["resource_type"] in built)
    return sorted(key for key in keys if key.path[0] == layer)


def stage_selection(group: str) -> AssetSelection:
    """The assets of one stage: its group's and those downstream of it, except what reads a later stage's
    assets (the profiles, in `warehouse`, read the scores of `ml`): each stage reads only earlier stages."""
    groups = [name for name, _ in STAGES]
    selection = AssetSelection.groups(group).downstream()
    for later in groups[groups.index(group) + 1 :]:
        selection = selection - AssetSelection.groups(later).downstream()
    return selection
