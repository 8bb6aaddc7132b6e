"""The tests' dbt commands (tests/fixtures/dbt.py run_dbt) behave as `python -m revloop.dbt` does: each leaves
a self-contained warehouse file, reports dbt's exit status and output, and sees only its own environment."""

import shutil

import duckdb

from tests.fixtures.dbt import run_dbt


def test_a_command_leaves_its_writes_in_the_warehouse_file_itself(raw_warehouse, tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(raw_warehouse.path, warehouse)
    env = {"WAREHOUSE_PATH": str(warehouse)}
    result = run_dbt(["run", "--select", "stg_salesforce__leads"], tmp_path, env)

    assert result.returncode == 0, result.stdout[-4000:]
    assert "Completed successfully" in result.stdout
    assert not warehouse.with_name("warehouse.duckdb.wal").exists()  # folded in when the command ended
    copy = shutil.copy(warehouse, tmp_path / "copy.duckdb")  # what copy_warehouse takes: the file alone
    with duckdb.connect(str(copy), read_only=True) as con:
        [(leads,)] = con.execute("select count(*) from staging.stg_salesforce__leads").fetchall()
    assert leads > 0


def test_a_failing_command_reports_dbts_exit_status_and_message(tmp_path):
    result = run_dbt(["run"], tmp_path, {"DBT_TARGET": "no_such_target"})
    assert result.returncode == 2
    assert "does not have a target named 'no_such_target'" in result.stdout


def test_each_command_sees_only_its_own_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DBT_TARGET", "no_such_target")
    assert run_dbt(["parse", "--quiet"], tmp_path / "a").returncode == 2  # the caller's variables reach dbt
    monkeypatch.delenv("DBT_TARGET")
    assert run_dbt(["parse", "--quiet"], tmp_path / "b").returncode == 0  # and are gone once unset


def test_a_command_in_a_fresh_folder_starts_from_the_parse_cache_of_an_earlier_one(tmp_path):
    """Warehouses of one file name share dbt's parse cache: the second folder is parsed partially."""
    for folder in ("first", "second"):
        work = tmp_path / folder
        work.mkdir()
        result = run_dbt(["parse"], work, {"WAREHOUSE_PATH": str(work / "warehouse.duckdb")})
        assert result.returncode == 0, result.stdout[-4000:]
    assert (tmp_path / "second" / "dbt_target" / "partial_parse.msgpack").is_file()
    assert "Unable to do partial parsing" not in result.stdout, result.stdout[-4000:]
    assert "Starting full parse" not in result.stdout
