"""Warehouse assets: the dbt project in two phases around identity resolution, and the identity step."""

import json
import sys
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, AssetKey, AssetSpec, MaterializeResult, multi_asset
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from identity import resolve_identities
from orchestration.defs.ingestion import WAREHOUSE_POOL
from orchestration.resources import WarehouseResource
from revloop.dbt import DBT_PROJECT_DIR, dbt_vars

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)

# dbt runs in three phases: before identity resolution, between it and the models' scores, and after
# the scores (what reads ml.predictions: the profiles). Each phase is one asset definition.
IDENTITY_OUTPUTS = "source:identity+"
MODEL_OUTPUTS = "source:ml+"
IDENTITY_TABLES = ("profile_map", "profile_changes")


class WarehouseTranslator(DagsterDbtTranslator):
    """Raw sources keyed like the dlt assets, identity tables like the identity asset, models by layer."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            schema, table = dbt_resource_props["schema"], dbt_resource_props["name"]
            if schema.startswith("raw_"):
                return AssetKey(["raw", schema.removeprefix("raw_"), table])
            return AssetKey([schema, table])
        layer = dbt_resource_props["fqn"][1] if len(dbt_resource_props["fqn"]) > 2 else "models"
        return AssetKey([layer, dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return "warehouse"


def dbt_phase(name: str, select: str = "fqn:*", exclude: str | None = None):
    """One phase of the dbt project as an asset definition: `dbt build` of its selection."""

    @dbt_assets(
        manifest=dbt_project.manifest_path,
        project=dbt_project,
        select=select,
        exclude=exclude,
        dagster_dbt_translator=WarehouseTranslator(),
        name=name,
        pool=WAREHOUSE_POOL,
    )
    def phase(context: AssetExecutionContext, dbt: DbtCliResource):
        yield from dbt.cli(["build", "--vars", json.dumps(dbt_vars())], context=context).stream()

    return phase


dbt_before_identity = dbt_phase("dbt_before_identity", exclude=f"{IDENTITY_OUTPUTS} {MODEL_OUTPUTS}")
dbt_after_identity = dbt_phase("dbt_after_identity", select=IDENTITY_OUTPUTS, exclude=MODEL_OUTPUTS)
dbt_after_models = dbt_phase("dbt_after_models", select=MODEL_OUTPUTS)


@multi_asset(
    specs=[
        AssetSpec(
            ["identity", table],
            group_name="warehouse",
            kinds={"python", "duckdb"},
            deps=[AssetKey(["intermediate", "int_identity_records"])],
            description=f"identity.{table}: stable profile ids from deterministic and probabilistic links.",
        )
        for table in IDENTITY_TABLES
    ],
    pool=WAREHOUSE_POOL,
)
def identity_resolution(context: AssetExecutionContext, warehouse: WarehouseResource):
    summary = resolve_identities(warehouse=warehouse.warehouse_file)
    metadata = asdict(summary)
    context.log.info(f"identity resolution: {metadata}")
    for table in IDENTITY_TABLES:
        yield MaterializeResult(asset_key=AssetKey(["identity", table]), metadata=metadata)


def dbt_resource() -> DbtCliResource:
    """dbt from this virtualenv, on the project and profiles of dbt_project/."""
    return DbtCliResource(
        project_dir=dbt_project,
        profiles_dir=str(DBT_PROJECT_DIR),
        dbt_executable=str(Path(sys.executable).parent / "dbt"),
    )
