"""dbt's command line as the warehouse assets run it: dagster-dbt's resource, without the work it does in
the Dagster process before each command that revloop never uses."""

import filecmp
import os
import shutil
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

from dagster_dbt import DbtCliResource
from dagster_dbt.core.dbt_cli_invocation import DbtCliInvocation, _get_dbt_target_path
from packaging import version

from revloop.dbt_host import start_host

PARSE_CACHE_NAME = "partial_parse.msgpack"  # dbt's parse cache, in a target folder
# What dbt writes beside the structured events Dagster reads from its output, per command: the manifest,
# semantic manifest and run results as JSON (about a second of CPU for this project) and a log file repeating
# the events. Off unless the user's own DBT_WRITE_JSON / DBT_LOG_LEVEL_FILE ask for them.
ARTIFACT_DEFAULTS = {
    "DBT_WRITE_JSON": ("--no-write-json",),
    "DBT_LOG_LEVEL_FILE": ("--log-level-file", "none"),
}


def keep_parse_cache(command_target: Path, project_target: Path) -> None:
    """Make the parse cache a command wrote the one the next command starts from (dagster-dbt copies the
    project's into each command's folder).

    dbt parses the whole project again when the cache was written with another profile (another warehouse
    path, another memory limit: `make manifest` wrote it with the defaults) and writes the new cache into the
    command's folder, which goes with the folder: every command of every run parsed again (3-5 s each).
    The project's cache is replaced atomically; one identical to it (nothing parsed anew) is left."""
    written, kept = command_target / PARSE_CACHE_NAME, project_target / PARSE_CACHE_NAME
    if not written.is_file() or (kept.is_file() and filecmp.cmp(written, kept, shallow=False)):
        return
    project_target.mkdir(parents=True, exist_ok=True)
    staged = project_target / f".{PARSE_CACHE_NAME}.{os.getpid()}"
    shutil.copyfile(written, staged)
    os.replace(staged, kept)


class DbtCli(DbtCliResource):
    """dagster-dbt's DbtCliResource minus two costs paid before every `dbt build` (5 per full run).

    - The in-process dbt adapter (profile, project and every base macro parsed with Jinja: seconds of CPU per
      command) only serves `fetch_row_counts()` / `fetch_column_metadata()`; the assets read row counts and
      column types themselves (orchestration.table_metadata), after dbt has released the DuckDB file.
    - `dbt --version` in a subprocess, run once per resource instance (once per step), to learn the dbt
      version: it is the dbt-core installed beside dagster-dbt (dbt_executable is this venv's dbt).
    Both hooks are private to dagster-dbt 0.29 (pinned); tests/unit/test_dbt_cli.py notices if they move.
    dbt's JSON artifacts and log file are off by default (ARTIFACT_DEFAULTS), and `remove_target` drops a
    command's own target folder (dagster-dbt gives each command one) once its events have been read.
    With `revloop-dbt` as dbt_executable, the commands are forked from a host that imported dbt once for
    the process (revloop.dbt_host), instead of each importing it anew.
    """

    def cli(self, args: Sequence[str], **kwargs) -> DbtCliInvocation:
        defaults = [flag for variable, flags in ARTIFACT_DEFAULTS.items() if not os.environ.get(variable)
                    for flag in flags]
        start_host()
        return super().cli([*args, *defaults], **kwargs)

    @staticmethod
    def remove_target(invocation: DbtCliInvocation) -> None:
        """Remove the folder of one finished command (compiled SQL, a copy of the parse cache): every run
        would otherwise leave five behind. A parse cache the command wrote anew is kept first."""
        keep_parse_cache(invocation.target_path, invocation.project_dir / _get_dbt_target_path())
        shutil.rmtree(invocation.target_path, ignore_errors=True)

    def _initialize_dbt_core_adapter(self, args):  # noqa: ARG002 - the signature dagster-dbt calls
        return None

    @cached_property
    def _cli_version(self) -> version.Version:
        from dbt.version import __version__

        return version.parse(__version__)
