"""The README's map of tables ("Where each table lives", issue 21) lists every table of a fully built
warehouse and every Dagster asset, and nothing else; a failure names the rows to add or remove.

A fully built warehouse: the shared built warehouse (raw tables, every dbt model, identity), the tables the
Python steps create (their DDL, and every table dbt reads as a source) and every model of dbt's manifest.
dlt's own bookkeeping (`_dlt_*` tables, `<schema>_staging` schemas) is left out, as the README says.
"""

import json
import re
from fnmatch import fnmatchcase
from pathlib import Path

import duckdb
import pytest

from activation import baselines, conflicts, store
from activation.handoff import store as handoff_store
from orchestration.shared import dbt_asset_key
from tests.fixtures.built import BuiltWarehouse

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Where each table lives"
TABLE = re.compile(r"^`([a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*)`$")
ASSET_KEY = re.compile(r"`([a-z_][a-z0-9_]*(?:/[a-z0-9_*]+)+)`")
# The tables the Python steps of activation create with their own DDL (the segments and ml steps' tables are
# dbt sources, as these are too).
PYTHON_DDL = (store._SCHEMA, conflicts._SCHEMA, baselines._SCHEMA, handoff_store._SCHEMA)
TABLE_NAME = "dagster/table_name"


def readme_map(text: str) -> tuple[dict[str, list[str]], set[str], list[str]]:
    """The map's table rows (table -> asset keys named), the keys of the non-table assets, duplicate rows."""
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    tables: dict[str, list[str]] = {}
    other_assets: set[str] = set()
    duplicates = []
    for line in text[start:end if end > 0 else None].splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.startswith("| `") or len(cells) < 2:
            continue
        table = TABLE.match(cells[0])
        if table is None:
            other_assets.update(ASSET_KEY.findall(cells[0]))
            continue
        if table[1] in tables:
            duplicates.append(table[1])
        tables[table[1]] = ASSET_KEY.findall(cells[1])
    return tables, other_assets, duplicates


def _raw_table(key: str) -> str | None:
    """raw/<source>/<table> is raw_<source>.<table>; None for another key."""
    parts = key.split("/")
    return f"raw_{parts[1]}.{parts[2]}" if parts[0] == "raw" and len(parts) == 3 else None


def _row(table: str, key: str | None) -> str:
    return f"| `{table}` | `{key or '<the asset of the step that writes it>'}` | <one row is ...> |"


@pytest.fixture(scope="module")
def documented() -> tuple[dict[str, list[str]], set[str]]:
    tables, other_assets, duplicates = readme_map(README.read_text())
    assert not duplicates, f"README {SECTION!r}: tables listed twice: {duplicates}"
    assert len(tables) > 50 and other_assets, f"README {SECTION!r} lost its map"
    return tables, other_assets


@pytest.fixture(scope="module")
def dbt_keys(built_warehouse: BuiltWarehouse) -> dict[str, str]:
    """schema.table -> Dagster asset key of every dbt model and source of the build's manifest."""
    manifest = json.loads((built_warehouse.dbt.target / "manifest.json").read_text())
    nodes = [n for n in manifest["nodes"].values() if n["resource_type"] in ("model", "seed", "snapshot")]
    keys = {f"{n['schema']}.{n['alias']}": dbt_asset_key(n).to_user_string() for n in nodes}
    for source in manifest["sources"].values():
        keys[f"{source['schema']}.{source['identifier']}"] = dbt_asset_key(source).to_user_string()
    return keys


def _relations(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.sql(
        "select table_schema || '.' || table_name from information_schema.tables "
        "where table_catalog = current_database() and table_name not like '\\_dlt\\_%' escape '\\' "
        "and table_schema not like '%\\_staging' escape '\\'"
    ).fetchall()
    return {name for (name,) in rows}


@pytest.fixture(scope="module")
def built_tables(built_warehouse: BuiltWarehouse, dbt_keys: dict[str, str]) -> set[str]:
    """Every table and view of a fully built warehouse (see the module docstring)."""
    with duckdb.connect(str(built_warehouse.path), read_only=True) as con:
        tables = _relations(con)
    with duckdb.connect(":memory:") as con:
        for ddl in PYTHON_DDL:
            con.execute(ddl)
        tables |= _relations(con)
    return tables | set(dbt_keys)


@pytest.fixture(scope="module")
def assets() -> dict[str, str | None]:
    """Every asset key of the code location -> the schema.table it is (dbt models, raw tables) or None."""
    from orchestration.definitions import defs

    keys = {}
    for spec in defs.resolve_all_asset_specs():
        key, table_name = spec.key.to_user_string(), str(spec.metadata.get(TABLE_NAME, "")).split(".")
        # dbt's models say database.schema.table; dlt's raw tables say the table alone
        keys[key] = ".".join(table_name[-2:]) if len(table_name) == 3 else _raw_table(key)
    return keys


def test_the_map_parses_a_row_per_table():
    text = "## Where each table lives\n| table | Dagster asset | one row is |\n|---|---|---|\n" \
        "| `raw_events.website` | `raw/events/website` | a message |\n" \
        "| `quarantine.rejected_records` | `raw/events/*`, `raw/hubspot/*` (ingestion) | a refusal |\n" \
        "| `ml/churn_model`, `ml/purchase_model` | files |\n## Next\n| `x.y` | `a/b` | not the map |\n"
    tables, other_assets, duplicates = readme_map(text)
    assert tables == {
        "raw_events.website": ["raw/events/website"],
        "quarantine.rejected_records": ["raw/events/*", "raw/hubspot/*"],
    }
    assert other_assets == {"ml/churn_model", "ml/purchase_model"} and duplicates == []


def test_the_map_lists_every_table_of_a_fully_built_warehouse_and_no_other(
    documented, built_tables: set[str], dbt_keys: dict[str, str], assets: dict[str, str | None]
):
    tables, _ = documented
    missing = sorted(built_tables - set(tables))
    extra = sorted(set(tables) - built_tables)
    # a Python step's table is a dbt source whose key is no asset: the row names the step's asset instead
    keys = {table: key for table, key in dbt_keys.items() if key in assets}
    problems = [f"add the row: {_row(table, keys.get(table))}" for table in missing]
    problems += [f"remove the row of `{table}`: no fully built warehouse has it" for table in extra]
    assert not problems, f"README {SECTION!r} and the warehouse disagree:\n" + "\n".join(problems)


def test_the_map_names_every_dagster_asset_and_no_other(documented, assets: dict[str, str | None]):
    tables, other_assets = documented
    named = {key for keys in tables.values() for key in keys} | other_assets
    problems = []
    for key in sorted(set(assets) - named):
        if assets[key]:
            problems.append(f"add the row: {_row(assets[key], key)}")
        else:
            table = key.replace("/", ".") if key.count("/") == 1 else "<schema.table>"
            problems.append(
                f"name `{key}` in the row of the table it fills (e.g. add the row: {_row(table, key)}), "
                "or under 'Assets that are not warehouse tables'"
            )
    for table, keys in sorted(tables.items()):
        if not keys:
            problems.append(f"the row of `{table}` names no Dagster asset")
        for key in keys:
            if not any(fnmatchcase(asset, key) for asset in assets):
                problems.append(f"the row of `{table}` names `{key}`, which no Dagster asset has: fix it")
    for key in sorted(other_assets - set(assets)):
        problems.append(f"remove `{key}` from 'Assets that are not warehouse tables': no such asset")
    assert not problems, f"README {SECTION!r} and the Dagster definitions disagree:\n" + "\n".join(problems)


def test_each_dbt_and_raw_asset_is_on_the_row_of_its_table(documented, assets: dict[str, str | None]):
    tables, _ = documented
    wrong = [
        f"the row of `{table}` must name `{key}` (the asset `{key}` is `{table}`)"
        for key, table in sorted(assets.items())
        if table and key not in tables.get(table, [key])
    ]
    assert not wrong, f"README {SECTION!r}:\n" + "\n".join(wrong)
