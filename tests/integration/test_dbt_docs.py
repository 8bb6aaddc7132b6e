"""dbt docs (issue 21, item 4): an overview page, every model and column described, the Python-built tables
as described sources, generated beside (never over) the manifest Dagster loads."""

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from activation import baselines, conflicts, store
from activation.handoff import store as handoff_store
from revloop.dbt import DBT_PROJECT_DIR, DOCS_TARGET_PATH, dbt_args
from tests.fixtures.built import BuiltWarehouse
from tests.fixtures.dbt import assert_dbt_ok, run_dbt
from tests.fixtures.shared import copy_warehouse

# Schemas only Python steps write (dbt's sync models in activation are models, checked with the models).
PYTHON_DDL = (store._SCHEMA, conflicts._SCHEMA, baselines._SCHEMA, handoff_store._SCHEMA)


@pytest.fixture(scope="module")
def docs(built_warehouse: BuiltWarehouse, tmp_path_factory) -> Path:
    """`docs generate` of the built warehouse into a folder of its own: that folder."""
    work = tmp_path_factory.mktemp("dbt_docs")
    warehouse = copy_warehouse(built_warehouse.path, work / "warehouse.duckdb")
    env = {**built_warehouse.dbt.env, "WAREHOUSE_PATH": str(warehouse)}
    result = run_dbt(["docs", "generate"], work, {**env, "DBT_WRITE_JSON": "true"})
    assert_dbt_ok(result)
    return work / "dbt_target"


def _described(node: dict) -> bool:
    return bool((node.get("description") or "").strip())


def test_the_docs_open_on_the_project_overview(docs: Path):
    manifest = json.loads((docs / "manifest.json").read_text())
    overview = manifest["docs"]["doc.revloop.__overview__"]["block_contents"]
    assert "marts.customer_profiles" in overview and "Layers and schemas" in overview
    assert (docs / "index.html").is_file()


def _raw_columns(node: dict) -> bool:
    return bool(node.get("config", {}).get("meta", {}).get("raw_columns"))


def test_every_model_and_every_built_column_is_described(docs: Path):
    manifest = json.loads((docs / "manifest.json").read_text())
    catalog = json.loads((docs / "catalog.json").read_text())["nodes"]
    models = {uid: n for uid, n in manifest["nodes"].items() if n["resource_type"] == "model"}
    assert [uid for uid, n in models.items() if not _described(n)] == []
    # a model that passes a raw table's columns through (meta raw_columns: the CRM's own fields) describes
    # the columns it declares; the others are the CRM's, as in the raw table
    undescribed = {
        uid: [
            column
            for column in (node["columns"] if _raw_columns(node) else catalog[uid]["columns"])
            if not _described(node["columns"].get(column, {}))
        ]
        for uid, node in models.items()
        if uid in catalog
    }
    assert {uid: columns for uid, columns in undescribed.items() if columns} == {}
    # the catalog holds the models the built warehouse has: nearly all of them
    assert len(set(models) & set(catalog)) >= len(models) - 2


def test_every_python_built_table_is_a_described_source(tmp_path: Path):
    manifest = json.loads(run_parse(tmp_path).read_text())
    sources = {(s["schema"], s["identifier"]): s for s in manifest["sources"].values()}
    with duckdb.connect(":memory:") as con:
        for ddl in PYTHON_DDL:
            con.execute(ddl)
        tables = con.execute(
            "select table_schema, table_name, list(column_name order by ordinal_position) "
            "from information_schema.columns group by all"
        ).fetchall()
    assert len(tables) >= 10
    for schema, table, columns in tables:
        source = sources.get((schema, table))
        assert source is not None, f"{schema}.{table} is not declared as a dbt source"
        assert _described(source), f"{schema}.{table} has no description"
        undescribed = [c for c in columns if not _described(source["columns"].get(c, {}))]
        assert undescribed == [], f"{schema}.{table}: columns without a description {undescribed}"
        assert set(source["columns"]) <= set(columns), f"{schema}.{table} documents columns it lacks"


def run_parse(work: Path) -> Path:
    assert_dbt_ok(run_dbt(["parse", "--quiet"], work, {"DBT_WRITE_JSON": "true"}))
    return work / "dbt_target" / "manifest.json"


def test_docs_commands_get_their_own_target_folder(monkeypatch):
    monkeypatch.delenv("DBT_TARGET_PATH", raising=False)
    generate = dbt_args(["docs", "generate"])
    assert generate[generate.index("--target-path") + 1] == str(DOCS_TARGET_PATH)
    assert DOCS_TARGET_PATH != DBT_PROJECT_DIR / "target"
    assert "--target-path" not in dbt_args(["build", "--select", "customer_profiles"])
    chosen = dbt_args(["docs", "serve", "--target-path", "/elsewhere"])
    assert chosen.count("--target-path") == 1
    monkeypatch.setenv("DBT_TARGET_PATH", "/from/env")
    assert "--target-path" not in dbt_args(["docs", "generate"])


def test_docs_generate_without_a_warehouse_touches_nothing(tmp_path: Path):
    manifest = DBT_PROJECT_DIR / "target" / "manifest.json"
    before = manifest.stat().st_mtime_ns if manifest.exists() else None
    unset = ("WAREHOUSE_PATH", "DBT_TARGET_PATH", "DBT_TARGET")
    env = {name: value for name, value in os.environ.items() if name not in unset}
    env["PYTHONPATH"] = str(DBT_PROJECT_DIR.parent)
    ran = subprocess.run(
        [sys.executable, "-m", "revloop.dbt", "docs", "generate"], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=300,
    )
    assert ran.returncode == 2
    assert "no warehouse at" in ran.stderr and "make demo" in ran.stderr
    assert list(tmp_path.iterdir()) == []  # no empty warehouse file was created
    assert (manifest.stat().st_mtime_ns if manifest.exists() else None) == before
