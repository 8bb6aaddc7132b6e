"""dbt commands for the benchmarks and the tests: `python -m revloop.dbt <args>` with the target and log
folders in a work folder of their own, so that commands on different warehouses may overlap.

Each command runs in a process forked from a server that loaded revloop.dbt_preload once (multiprocessing's
forkserver): dbt's import and the serialisers and schemas every command builds cost about three seconds of
CPU, paid once per process that runs commands instead of once per command. Each command is still a
process of its own, with its own environment, and no dbt or DuckDB state outlives it.

The commands share dbt's parse cache (partial_parse.msgpack) across work folders and processes (pytest's
workers): a command whose target folder has none starts from the last one written for the same profile
and vars (the caller's merged with those revloop.dbt derives from config/), where dbt would otherwise parse
the whole project (several seconds of CPU). dbt parses everything again when the profile differs, and a
DuckDB profile names the warehouse's path: so a command on DuckDB runs in its warehouse's folder, with the
file's name as WAREHOUSE_PATH, and warehouses of one name share a cache. dbt still checks every cache it is
given (project files, vars, profile, environment) before using it.
"""

import hashlib
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from revloop.dbt import DBT_PROJECT_DIR
from revloop.dbt_host import PRELOADED

COMMANDS = multiprocessing.get_context("forkserver")
# revloop.dbt validates config/ for each command, naming CRM columns with dlt's naming convention: importing
# dlt costs about half a second of CPU
COMMANDS.set_forkserver_preload([*PRELOADED, "revloop.dbt", "dlt.common.normalizers.naming.snake_case"])
PARSE_CACHE = "partial_parse.msgpack"
# The caches every command shares, one per profile and vars (the newest MAX_PARSE_CACHES kept)
PARSE_CACHES = DBT_PROJECT_DIR / "target" / "parse_caches"
MAX_PARSE_CACHES = 32
_POSTGRES_VARIABLES = ("POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_USER", "POSTGRES_DB")


def dbt_environment(work_dir: Path, env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a dbt command: this process's, its target and log folders in work_dir, then env.
    dbt's JSON artifacts (manifest.json, run_results.json) are written only when asked (DBT_WRITE_JSON=true),
    as in the Dagster runs: the manifest alone costs about a second of CPU per command."""
    return {
        "DBT_WRITE_JSON": "false",
        **os.environ,
        "DBT_TARGET_PATH": str(work_dir / "dbt_target"),
        "DBT_LOG_PATH": str(work_dir / "dbt_logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        **(env or {}),
    }


def run_dbt(
    args: list[str], work_dir: Path, env: dict[str, str] | None = None, timeout: float = 900,
    shared_parse_cache: bool = True,
) -> subprocess.CompletedProcess:
    """`python -m revloop.dbt <args>` in work_dir's folders: its exit status, output and error output.

    shared_parse_cache=False keeps the command to its own parse cache, and WAREHOUSE_PATH as given: for a
    cache that commands run elsewhere with that path will read (prepare_partial_parse).
    """
    command_env = dbt_environment(work_dir, env)
    with tempfile.TemporaryDirectory(prefix="dbt-command-") as folder:
        stdout, stderr = Path(folder) / "stdout", Path(folder) / "stderr"
        stdout.touch()
        stderr.touch()
        command = COMMANDS.Process(
            target=_dbt_command,
            args=(args, command_env, os.getcwd(), stdout, stderr, shared_parse_cache),
        )
        command.start()
        command.join(timeout=timeout)
        if command.is_alive():
            command.kill()
            command.join()
        return subprocess.CompletedProcess(
            ["revloop.dbt", *args], command.exitcode, stdout.read_text(), stderr.read_text()
        )


def _shared_cache(dbt_argv: list[str], env: Mapping[str, str]) -> Path:
    """The shared parse cache of a command: per target, its warehouse (DuckDB: the file's name) or database
    (PostgreSQL), and the vars dbt is given, what a cache depends on besides the project's files."""
    target = env.get("DBT_TARGET") or "duckdb"
    if target == "duckdb":
        connection = [Path(env.get("WAREHOUSE_PATH", "")).name]
    else:
        connection = [env.get(variable) for variable in _POSTGRES_VARIABLES]
    variables = dbt_argv[dbt_argv.index("--vars") + 1]
    digest = hashlib.sha256(json.dumps([target, connection, variables]).encode()).hexdigest()[:24]
    return PARSE_CACHES / digest


def _share(own: Path, shared: Path) -> None:
    """Publish a command's parse cache (atomically: other processes read the shared ones) and keep only the
    newest MAX_PARSE_CACHES."""
    if not own.is_file():
        return
    staged = shared.with_name(f".{shared.name}.{os.getpid()}")
    shutil.copyfile(own, staged)
    os.replace(staged, shared)
    caches = sorted(PARSE_CACHES.glob("[!.]*"), key=_modified, reverse=True)
    for old in caches[MAX_PARSE_CACHES:]:
        old.unlink(missing_ok=True)


def _modified(path: Path) -> float:
    """A cache's modification time; 0 for one another process pruned meanwhile."""
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


def _enter_warehouse_folder() -> None:
    """On DuckDB, work from the warehouse's folder and name the warehouse by its file name (see above)."""
    path = os.environ.get("WAREHOUSE_PATH")
    if (os.environ.get("DBT_TARGET") or "duckdb") == "duckdb" and path:
        warehouse = Path(os.path.abspath(path))  # links kept: the file is where its path says
        warehouse.parent.mkdir(parents=True, exist_ok=True)
        os.chdir(warehouse.parent)
        os.environ["WAREHOUSE_PATH"] = warehouse.name


def run_dbt_checked(args: list[str], work_dir: Path, env: dict[str, str] | None = None) -> None:
    """run_dbt, raising RuntimeError with dbt's own report when the command did not succeed."""
    result = run_dbt(args, work_dir, env)
    if result.returncode != 0:
        raise RuntimeError(f"dbt {' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}")


def _dbt_command(
    args: list[str], env: dict[str, str], cwd: str, stdout: Path, stderr: Path, shared_parse_cache: bool
) -> None:
    """One `python -m revloop.dbt` command in this (forked) process: its environment, its output files."""
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    with stdout.open("w") as out, stderr.open("w") as err:
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
    from revloop.dbt import checked_args
    from revloop.dbt_host import run_dbt_in_process

    dbt_argv = checked_args(list(args), env)  # reads config/ from the caller's folder
    own_cache = Path(env["DBT_TARGET_PATH"]).absolute() / PARSE_CACHE
    shared_cache = None
    if dbt_argv is not None and shared_parse_cache:
        _enter_warehouse_folder()
        shared_cache = _shared_cache(dbt_argv, os.environ)
        if shared_cache.is_file() and not own_cache.exists():
            own_cache.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shared_cache, own_cache)
    code = 2 if dbt_argv is None else run_dbt_in_process(dbt_argv)
    if shared_cache is not None and code == 0:
        PARSE_CACHES.mkdir(parents=True, exist_ok=True)
        _share(own_cache, shared_cache)
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(code)
