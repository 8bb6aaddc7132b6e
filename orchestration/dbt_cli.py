"""dbt's command line as the warehouse assets run it: dagster-dbt's resource, without the work it does in
the Dagster process before each command that revloop never uses."""

from functools import cached_property

from dagster_dbt import DbtCliResource
from packaging import version


class DbtCli(DbtCliResource):
    """dagster-dbt's DbtCliResource minus two costs paid before every `dbt build` (5 per full run).

    - The in-process dbt adapter (profile, project and every base macro parsed with Jinja: seconds of CPU per
      command) only serves `fetch_row_counts()` / `fetch_column_metadata()`; the assets read row counts and
      column types themselves (orchestration.table_metadata), after dbt has released the DuckDB file.
    - `dbt --version` in a subprocess, run once per resource instance (once per step), to learn the dbt
      version: it is the dbt-core installed beside dagster-dbt (dbt_executable is this venv's dbt).
    Both hooks are private to dagster-dbt 0.29 (pinned); tests/unit/test_dbt_cli.py notices if they move.
    """

    def _initialize_dbt_core_adapter(self, args):  # noqa: ARG002 - the signature dagster-dbt calls
        return None

    @cached_property
    def _cli_version(self) -> version.Version:
        from dbt.version import __version__

        return version.parse(__version__)
