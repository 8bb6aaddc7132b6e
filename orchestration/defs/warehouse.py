"""Warehouse assets: the dbt project in phases around the Python steps, and the identity step."""

import json
import sys
from collections.abc import Iterator, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from dagster import (
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetMaterialization,
    AssetSpec,
    MaterializeResult,
    Output,
    multi_asset,
)
from dagster_dbt import DagsterDbtTranslator, DbtProject, dbt_assets
from dagster_dbt.core.dbt_cli_invocation import DbtCliInvocation

from identity import resolve_identities
from orchestration.dbt_cli import DbtCli
from orchestration.dbt_descriptions import dbt_test_description, node_description
from orchestration.metadata import rounded_metadata
from orchestration.resources import WarehouseResource
from orchestration.shared import DBT_FULL_REFRESH_TAG, WAREHOUSE_POOL, dbt_asset_key, dbt_project
from orchestration.table_metadata import warehouse_tables_metadata
from revloop.dbt import DBT_PROJECT_DIR, dbt_vars

# dbt runs in five phases, split where a Python step writes a table that dbt reads back as a source:
# before identity resolution, between it and the models' scores, after the scores (the profiles), after the
# segments (their marts, and the CRM sync models carry each person's segments) and after the handoff (its
# mart). Each phase is one asset definition.
IDENTITY_OUTPUTS = "source:identity+"
MODEL_OUTPUTS = "source:ml+"
SEGMENT_OUTPUTS = "source:segments+"
HANDOFF_OUTPUTS = "source:activation.lead_handoffs+"
IDENTITY_TABLES = ("profile_map", "profile_changes", "record_changes")


class WarehouseTranslator(DagsterDbtTranslator):
    """Raw sources keyed like the dlt assets, identity tables like the identity asset, models by layer;
    descriptions from the ymls (no raw SQL), each dbt test's check described in one full sentence."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        return dbt_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return "warehouse"

    def get_description(self, dbt_resource_props: Mapping[str, Any]) -> str:
        return node_description(dbt_resource_props)

    def get_asset_check_spec(
        self, asset_spec: AssetSpec, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> AssetCheckSpec | None:
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None:
            return None
        test = manifest["nodes"][unique_id]
        tested = manifest["nodes"].get(test.get("attached_node") or "")
        return AssetCheckSpec(
            spec.name,
            asset=spec.asset_key,
            description=dbt_test_description(test, tested),
            additional_deps=spec.additional_deps,
            blocking=spec.blocking,
            metadata=spec.metadata,
            automation_condition=spec.automation_condition,
            partitions_def=spec.partitions_def,
        )


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
    def phase(context: AssetExecutionContext, dbt: DbtCli, warehouse: WarehouseResource):
        args = ["build", *full_refresh_flag(context.run.tags), "--vars", json.dumps(dbt_vars())]
        invocation = dbt.cli(args, context=context)
        yield from with_table_metadata(invocation, warehouse)
        dbt.remove_target(invocation)  # not reached when the build failed: its folder stays to be read

    return phase


def full_refresh_flag(run_tags: Mapping[str, str]) -> list[str]:
    """["--full-refresh"] in a run tagged for it (the weekly full refresh), else nothing."""
    return ["--full-refresh"] if run_tags.get(DBT_FULL_REFRESH_TAG) == "true" else []


def _built_node(event, nodes: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The manifest node a dbt materialization event is about, unless it has no relation (ephemeral)."""
    if not isinstance(event, (Output, AssetMaterialization)) or "unique_id" not in event.metadata:
        return None
    node = nodes.get(event.metadata["unique_id"].value)
    return node if node and node["config"].get("materialized") != "ephemeral" else None


def with_table_metadata(invocation: DbtCliInvocation, warehouse: WarehouseResource) -> Iterator:
    """The events of a dbt build, floats rounded; each built model's with its rows, columns and sample."""
    # DuckDB has one writer: read the built relations only once the dbt process has exited.
    events, failure = [], None
    try:
        events.extend(invocation.stream())
    except Exception as error:  # re-raised below, after the models that were built are recorded
        failure = error
    nodes = invocation.manifest["nodes"]
    built = [node for node in (_built_node(event, nodes) for event in events) if node]
    found = warehouse_tables_metadata(warehouse.warehouse_file, {(n["schema"], n["alias"]) for n in built})
    for event in events:
        node = _built_node(event, nodes)
        extra = found.get((node["schema"], node["alias"]), {}) if node else {}
        metadata = dict(getattr(event, "metadata", None) or {})
        shown = rounded_metadata({**metadata, **extra})
        yield event.with_metadata(shown) if shown != metadata else event
    if failure is not None:
        raise failure


dbt_before_identity = dbt_phase(
    "dbt_before_identity", exclude=f"{IDENTITY_OUTPUTS} {MODEL_OUTPUTS} {SEGMENT_OUTPUTS} {HANDOFF_OUTPUTS}"
)
dbt_after_identity = dbt_phase(
    "dbt_after_identity", select=IDENTITY_OUTPUTS, exclude=f"{MODEL_OUTPUTS} {SEGMENT_OUTPUTS}"
)
dbt_after_models = dbt_phase("dbt_after_models", select=MODEL_OUTPUTS, exclude=SEGMENT_OUTPUTS)
dbt_after_segments = dbt_phase("dbt_after_segments", select=SEGMENT_OUTPUTS)
dbt_after_handoff = dbt_phase("dbt_after_handoff", select=HANDOFF_OUTPUTS)


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
    context.log.info(f"identity resolution: {rounded_metadata(metadata)}")
    tables = warehouse_tables_metadata(warehouse.warehouse_file, [("identity", t) for t in IDENTITY_TABLES])
    for table in IDENTITY_TABLES:
        key = AssetKey(["identity", table])
        table_metadata = tables.get(tuple(key.path), {})
        yield MaterializeResult(asset_key=key, metadata=rounded_metadata({**metadata, **table_metadata}))


def dbt_resource() -> DbtCli:
    """dbt from this virtualenv (its commands forked from the process's dbt host), on the project and
    profiles of dbt_project/."""
    return DbtCli(
        project_dir=dbt_project,
        profiles_dir=str(DBT_PROJECT_DIR),
        dbt_executable=str(Path(sys.executable).parent / "revloop-dbt"),
    )
