"""One DuckDB setting (memory_limit, threads, spill directory) on every connection revloop opens."""

import os
from pathlib import Path

import jinja2
import pytest
import yaml

import revloop.warehouse as warehouse_module
from revloop.dbt import dbt_vars
from revloop.warehouse import (
    WarehouseConfigError,
    connect_warehouse,
    duckdb_destination,
    duckdb_settings,
)

PROFILES = Path(__file__).resolve().parents[2] / "dbt_project" / "profiles.yml"
PROFILE = yaml.safe_load(PROFILES.read_text())["revloop"]["outputs"]["duckdb"]


def rendered_profile(section: str, env: dict[str, str]) -> dict[str, str]:
    """A section of the DuckDB profile as dbt renders it under `env`, given the vars revloop.dbt passes."""
    variables = dbt_vars()
    render = jinja2.Environment().from_string
    return {
        key: render(value).render(
            env_var=lambda name, default="": env.get(name, default), var=lambda name: variables[name]
        )
        for key, value in PROFILE[section].items()
    }


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


def test_defaults_follow_the_machine(monkeypatch):
    """Unset variables take a sixth of the machine's memory and every CPU it may use: 4 GiB and 2 threads on
    a 24 GiB, 2-CPU machine, 10 GiB and 16 threads on a 60 GiB, 16-CPU one."""
    for memory, cpus, expected in ((24 * 2**30, 2, ("4096MiB", "2")), (60 * 2**30, 16, ("10240MiB", "16")),
                                   (512 * 2**20, 1, ("256MiB", "1"))):
        monkeypatch.setattr(warehouse_module, "machine_memory", lambda memory=memory: memory)
        monkeypatch.setattr(warehouse_module, "machine_cpus", lambda cpus=cpus: cpus)
        assert duckdb_settings(Path("/w/x.duckdb"), env={}) == {
            "memory_limit": expected[0], "threads": expected[1], "temp_directory": "/w/x.duckdb.tmp",
        }
    # one variable set: the other still follows the machine
    one_set = duckdb_settings(Path("/w/x.duckdb"), env={"REVLOOP_DUCKDB_THREADS": "3"})
    assert (one_set["memory_limit"], one_set["threads"]) == ("256MiB", "3")


def test_the_machine_is_read_within_its_limits():
    assert 0 < warehouse_module.machine_memory() <= os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert 1 <= warehouse_module.machine_cpus() <= len(os.sched_getaffinity(0))


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
def test_the_dbt_profile_gets_the_same_settings(env, monkeypatch):
    """dbt's profile reads memory and threads from the var revloop.dbt passes, and the same spill folder."""
    for name in ("REVLOOP_DUCKDB_MEMORY_LIMIT", "REVLOOP_DUCKDB_THREADS", "WAREHOUSE_PATH"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    path = env.get("WAREHOUSE_PATH", "data/warehouse.duckdb")
    assert rendered_profile("config_options", env) == duckdb_settings(Path(path), env=env)
    assert "settings" not in PROFILE  # repeated on every cursor by dbt-duckdb: see the next test


def test_dbt_models_still_run_after_a_query_spilled(tmp_path, monkeypatch):
    """dbt-duckdb sets the profile's `settings` on every model's cursor; DuckDB refuses to set temp_directory
    again once a query has spilled there, so it comes with the connection (config_options), not the cursor."""
    from dbt.adapters.duckdb.credentials import DuckDBCredentials
    from dbt.adapters.duckdb.environments import Environment

    warehouse = tmp_path / "w.duckdb"
    env = {
        "WAREHOUSE_PATH": str(warehouse),
        "REVLOOP_DUCKDB_MEMORY_LIMIT": "64MB",
        "REVLOOP_DUCKDB_THREADS": "1",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    creds = DuckDBCredentials(path=str(warehouse), config_options=rendered_profile("config_options", env))
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
