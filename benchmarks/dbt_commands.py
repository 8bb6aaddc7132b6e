"""dbt commands for the benchmarks and the tests: `python -m revloop.dbt <args>` with the target and log
folders in a work folder of their own, so that commands on different warehouses may overlap.

Each command runs in a process forked from a server that loaded revloop.dbt_preload once (multiprocessing's
forkserver): dbt's import and the serialisers and schemas every command builds cost about three seconds of
CPU, paid once per process that runs commands instead of once per command. Each command is still a
process of its own, with its own environment, and no dbt or DuckDB state outlives it.
"""

import multiprocessing
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from revloop.dbt_host import PRELOADED

COMMANDS = multiprocessing.get_context("forkserver")
COMMANDS.set_forkserver_preload([*PRELOADED, "revloop.dbt"])


def dbt_environment(work_dir: Path, env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a dbt command: this process's, its target and log folders in work_dir, then env."""
    return {
        **os.environ,
        "DBT_TARGET_PATH": str(work_dir / "dbt_target"),
        "DBT_LOG_PATH": str(work_dir / "dbt_logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        **(env or {}),
    }


def run_dbt(
    args: list[str], work_dir: Path, env: dict[str, str] | None = None, timeout: float = 900
) -> subprocess.CompletedProcess:
    """`python -m revloop.dbt <args>` in work_dir's folders: its exit status, output and error output."""
    with tempfile.TemporaryDirectory(prefix="dbt-command-") as folder:
        stdout, stderr = Path(folder) / "stdout", Path(folder) / "stderr"
        stdout.touch()
        stderr.touch()
        command = COMMANDS.Process(
            target=_dbt_command, args=(args, dbt_environment(work_dir, env), os.getcwd(), stdout, stderr)
        )
        command.start()
        command.join(timeout=timeout)
        if command.is_alive():
            command.kill()
            command.join()
        return subprocess.CompletedProcess(
            ["revloop.dbt", *args], command.exitcode, stdout.read_text(), stderr.read_text()
        )


def run_dbt_checked(args: list[str], work_dir: Path, env: dict[str, str] | None = None) -> None:
    """run_dbt, raising RuntimeError with dbt's own report when the command did not succeed."""
    result = run_dbt(args, work_dir, env)
    if result.returncode != 0:
        raise RuntimeError(f"dbt {' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}")


def _dbt_command(args: list[str], env: dict[str, str], cwd: str, stdout: Path, stderr: Path) -> None:
    """One `python -m revloop.dbt` command in this (forked) process: its environment, its output files."""
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    with stdout.open("w") as out, stderr.open("w") as err:
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
    from revloop.dbt import checked_args
    from revloop.dbt_host import run_dbt_in_process

    dbt_argv = checked_args(list(args), env)
    code = 2 if dbt_argv is None else run_dbt_in_process(dbt_argv)
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(code)
