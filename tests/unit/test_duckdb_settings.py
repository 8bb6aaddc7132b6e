"""One DuckDB setting (memory_limit, threads, spill directory) on every connection revloop opens."""

from pathlib import Path

import jinja2
import pytest
import yaml

from revloop.warehouse import (
    WarehouseConfigError,
    connect_warehouse,
    duckdb_destination,
    duckdb_settings,
)

PROFILES = Path(__file__).resolve().parents[2] / "dbt_project" / "profiles.yml"


def _settings(con) -> tuple:
    return con.execute(
        "select current_setting('memory_limit'), current_setting('threads'), "
        "current_setting('temp_directory')"
    ).fetchone()


def test_a_warehouse_connection_gets_the_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("REVLOOP_DUCKDB_MEMORY_LIMIT", "1GB")
    monkeypatch.setenv("REVLOOP_DUCKDB_THREADS", "1")
    warehouse = tmp_path / "w.duckdb"
    with connect_warehouse(warehouse) as con:
        memory, threads, temp = _settings(con)
        # a second connection to the open file (DuckDB shares the instance) gets them too
        with connect_warehouse(warehouse, read_only=False) as again:
            assert _settings(again) == (memory, threads, temp)
    assert memory in ("953.6 MiB", "1.0 GiB", "1000.0 MB") and threads == 1
    assert temp == f"{warehouse}.tmp"


def test_an_in_memory_connection_spills_beside_the_warehouse(tmp_path, monkeypatch):
    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("REVLOOP_DUCKDB_THREADS", "1")
    with connect_warehouse(":memory:") as con:
        assert _settings(con)[1:] == (1, f"{tmp_path / 'w.duckdb'}.tmp")


def test_defaults_fit_this_machine():
    assert duckdb_settings(Path("/w/x.duckdb"), env={}) == {
        "memory_limit": "4GB",
        "threads": "2",
        "temp_directory": "/w/x.duckdb.tmp",
    }


@pytest.mark.parametrize(
    "env, variable",
    [
        ({"REVLOOP_DUCKDB_MEMORY_LIMIT": "lots"}, "REVLOOP_DUCKDB_MEMORY_LIMIT"),
        ({"REVLOOP_DUCKDB_MEMORY_LIMIT": "4GB; drop table x"}, "REVLOOP_DUCKDB_MEMORY_LIMIT"),
        ({"REVLOOP_DUCKDB_THREADS": "0"}, "REVLOOP_DUCKDB_THREADS"),
        ({"REVLOOP_DUCKDB_THREADS": "two"}, "REVLOOP_DUCKDB_THREADS"),
    ],
)
def test_unusable_values_name_the_variable(env, variable):
    with pytest.raises(WarehouseConfigError, match=variable):
        duckdb_settings(Path("w.duckdb"), env=env)


def test_the_dlt_destination_applies_the_same_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("REVLOOP_DUCKDB_MEMORY_LIMIT", "2GB")
    destination = duckdb_destination(tmp_path / "w.duckdb")
    config = destination.config_params["credentials"].global_config
    assert config == {
        "preserve_insertion_order": False,
        **duckdb_settings(tmp_path / "w.duckdb"),
    }
    assert config["memory_limit"] == "2GB"


@pytest.mark.parametrize(
    "env",
    [
        {},
        {
            "REVLOOP_DUCKDB_MEMORY_LIMIT": "3GB",
            "REVLOOP_DUCKDB_THREADS": "1",
            "WAREHOUSE_PATH": "/d/w.duckdb",
        },
    ],
)
def test_the_dbt_profile_reads_the_same_variables_with_the_same_defaults(env):
    """dbt cannot call duckdb_settings: its profile repeats the variables and defaults, kept equal here."""
    profile = yaml.safe_load(PROFILES.read_text())["revloop"]["outputs"]["duckdb"]
    render = jinja2.Environment().from_string
    # temp_directory is a connect-time option (config_options), the others are set on each cursor
    rendered = {
        key: render(value).render(env_var=lambda name, default="": env.get(name, default))
        for key, value in {**profile["settings"], **profile["config_options"]}.items()
    }
    path = env.get("WAREHOUSE_PATH", "data/warehouse.duckdb")
    assert rendered == duckdb_settings(Path(path), env=env)


def test_dbt_models_still_run_after_a_query_spilled(tmp_path):
    """dbt-duckdb sets the profile's `settings` on every model's cursor; DuckDB refuses to set temp_directory
    again once a query has spilled there, so it must come with the connection, not with each cursor."""
    from dbt.adapters.duckdb.credentials import DuckDBCredentials
    from dbt.adapters.duckdb.environments import Environment

    warehouse = tmp_path / "w.duckdb"
    env = {
        "WAREHOUSE_PATH": str(warehouse),
        "REVLOOP_DUCKDB_MEMORY_LIMIT": "64MB",
        "REVLOOP_DUCKDB_THREADS": "1",
    }
    profile = yaml.safe_load(PROFILES.read_text())["revloop"]["outputs"]["duckdb"]
    render = jinja2.Environment().from_string

    def rendered(section: str) -> dict[str, str]:
        return {
            key: render(value).render(env_var=lambda name, default="": env.get(name, default))
            for key, value in profile.get(section, {}).items()
        }

    creds = DuckDBCredentials(
        path=str(warehouse), settings=rendered("settings"), config_options=rendered("config_options")
    )
    con = Environment.initialize_db(creds)
    try:
        model = Environment.initialize_cursor(creds, con.cursor())
        model.execute("create table t as select md5(range::varchar) s from range(2000000)")
        model.execute("select s, count(*) from t group by s order by s limit 1").fetchall()
        assert any(Path(f"{warehouse}.tmp").iterdir())  # the sort spilled beside the warehouse
        next_model = Environment.initialize_cursor(creds, con.cursor())
        assert next_model.execute("select count(*) from t").fetchone() == (2_000_000,)
        assert next_model.execute("select current_setting('temp_directory')").fetchone() == (
            f"{warehouse}.tmp",
        )
    finally:
        con.close()
