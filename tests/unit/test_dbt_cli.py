"""The warehouse assets' dbt resource runs dbt without building a dbt adapter or asking `dbt --version`."""

import json

import dagster_dbt.core.resource as dagster_dbt_resource
from dagster_dbt import DbtCliResource
from dagster_dbt.core.dbt_cli_invocation import DbtCliInvocation
from dbt.version import __version__ as dbt_core_version

from orchestration.dbt_cli import PARSE_CACHE_NAME, DbtCli, keep_parse_cache
from orchestration.defs.warehouse import dbt_resource
from revloop.dbt import dbt_vars


def test_the_hooks_it_replaces_still_exist_in_dagster_dbt():
    # a dagster-dbt upgrade that renames them would bring both costs back silently
    assert callable(DbtCliResource._initialize_dbt_core_adapter)
    assert isinstance(DbtCliResource.__dict__["_cli_version"], dagster_dbt_resource.cached_property)


def test_a_command_runs_without_an_adapter_or_a_version_subprocess(monkeypatch):
    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"dbt --version was run: {args}")

    monkeypatch.setattr(dagster_dbt_resource, "check_output", no_subprocess)
    resource = dbt_resource()
    invocation = resource.cli(
        ["ls", "--select", "stg_salesforce__leads", "--output", "name", "--vars", json.dumps(dbt_vars())]
    )
    assert invocation.adapter is None
    listed = [event.raw_event["info"]["msg"] for event in invocation.stream_raw_events()]
    assert invocation.is_successful()
    assert "stg_salesforce__leads" in listed
    assert str(resource._cli_version) == dbt_core_version


def _ls(resource: DbtCli) -> DbtCliInvocation:
    return resource.cli(
        ["ls", "--select", "stg_salesforce__leads", "--output", "name", "--vars", json.dumps(dbt_vars())]
    )


def test_commands_write_no_json_artifacts_or_log_file_unless_asked_and_their_folder_goes(monkeypatch):
    monkeypatch.delenv("DBT_WRITE_JSON", raising=False)
    monkeypatch.delenv("DBT_LOG_LEVEL_FILE", raising=False)
    invocation = _ls(dbt_resource())
    list(invocation.stream_raw_events())
    assert invocation.is_successful()
    assert {"--no-write-json", "--log-level-file"} <= set(invocation.process.args)
    assert not (invocation.target_path / "manifest.json").exists()
    assert not (invocation.target_path / "dbt.log").exists()
    DbtCli.remove_target(invocation)
    assert not invocation.target_path.exists()

    monkeypatch.setenv("DBT_WRITE_JSON", "true")  # the user's own setting wins
    asked = _ls(dbt_resource())
    list(asked.stream_raw_events())
    assert "--no-write-json" not in asked.process.args and "--log-level-file" in asked.process.args
    assert (asked.target_path / "manifest.json").exists()
    DbtCli.remove_target(asked)


def _parsed_again(invocation: DbtCliInvocation) -> bool:
    """Whether the command parsed the whole project again (the cache it was given did not fit)."""
    messages = [event.raw_event["info"]["msg"] for event in invocation.stream_raw_events()]
    assert invocation.is_successful()
    return any("Unable to do partial parsing" in str(message) for message in messages)


def test_a_parse_cache_written_for_another_profile_serves_the_next_command(monkeypatch, tmp_path):
    # a warehouse path of its own (the profile differs from the one the project's cache was written with),
    # and a target folder of its own, which starts without a cache
    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    first = _ls(dbt_resource())
    assert _parsed_again(first)
    DbtCli.remove_target(first)
    second = _ls(dbt_resource())
    assert not _parsed_again(second), "the cache the first command wrote was not kept"
    DbtCli.remove_target(second)
    assert (tmp_path / "target" / PARSE_CACHE_NAME).is_file()


def test_a_cache_identical_to_the_projects_is_left_alone(tmp_path):
    command, project = tmp_path / "command", tmp_path / "project"
    command.mkdir()
    project.mkdir()
    (command / PARSE_CACHE_NAME).write_bytes(b"cache")
    (project / PARSE_CACHE_NAME).write_bytes(b"cache")
    before = (project / PARSE_CACHE_NAME).stat().st_mtime_ns
    keep_parse_cache(command, project)
    assert (project / PARSE_CACHE_NAME).stat().st_mtime_ns == before
    (command / PARSE_CACHE_NAME).write_bytes(b"another profile's cache")
    keep_parse_cache(command, project)
    assert (project / PARSE_CACHE_NAME).read_bytes() == b"another profile's cache"
    assert sorted(p.name for p in project.iterdir()) == [PARSE_CACHE_NAME]  # no staged copy left behind
