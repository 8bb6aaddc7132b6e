"""The warehouse assets' dbt resource runs dbt without building a dbt adapter or asking `dbt --version`."""

import json

import dagster_dbt.core.resource as dagster_dbt_resource
from dagster_dbt import DbtCliResource
from dagster_dbt.core.dbt_cli_invocation import DbtCliInvocation
from dbt.version import __version__ as dbt_core_version

from orchestration.dbt_cli import DbtCli
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
