"""The warehouse: where it lives, the one place connections are opened, table lookups, and the dlt pipelines
that load into it."""

import contextlib
import logging
import math
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

# dlt is imported where a pipeline is built: the path helpers serve light CLIs (segment preview) too,
# and importing dlt costs ~2 s.
if TYPE_CHECKING:
    import dlt
    from dlt.common.destination import TDestinationReferenceArg

DEFAULT_WAREHOUSE_PATH = "data/warehouse.duckdb"
DEFAULT_EVENTS_DIR = "data/events"
# DuckDB's own default is 80% of RAM per process, but a run holds several beside each other (the Dagster
# worker's steps, dbt, a reader): each gets this share of the machine's memory (4 GB of 24 GB) and its CPUs.
MEMORY_SHARE = 6
_MEMORY = re.compile(r"^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", re.IGNORECASE)
# How long a writer waits for another process (an analyst's session, a reader) to release the DuckDB file
# before it gives up; REVLOOP_WAREHOUSE_LOCK_WAIT overrides it (seconds). dbt_project/profiles.yml waits
# about as long (dbt-duckdb's connect_attempts).
DEFAULT_LOCK_WAIT_SECONDS = 120.0
_LOCK_ERROR = "Could not set lock"
_HOLDER = re.compile(r"Conflicting lock is held in (.+?) \(PID (\d+)\)")
_FIRST_BACKOFF_SECONDS = 0.2
_MAX_BACKOFF_SECONDS = 10.0
# Rows a streamed read (iter_dicts) takes from the engine at a time.
FETCH_BATCH_ROWS = 10_000

log = logging.getLogger(__name__)


# Every Python layer types its warehouse connections with this name, not with the engine's class.
Connection = duckdb.DuckDBPyConnection


class WarehouseConfigError(ValueError):
    """A REVLOOP_DUCKDB_* variable is set but unusable."""


class WarehouseLocked(RuntimeError):
    """Another process held the DuckDB warehouse file for longer than a writer waits."""


def warehouse_path() -> Path:
    """The DuckDB warehouse file (WAREHOUSE_PATH), absolute."""
    return Path(os.environ.get("WAREHOUSE_PATH") or DEFAULT_WAREHOUSE_PATH).resolve()


def events_dir() -> Path:
    """The landing folder of event files (EVENTS_DIR), absolute."""
    return Path(os.environ.get("EVENTS_DIR") or DEFAULT_EVENTS_DIR).resolve()


def state_dir(warehouse: Path | None = None) -> Path:
    """A folder beside the warehouse for its local state (dlt pipelines, model registry, ...).

    Derived from the warehouse file, so that two warehouses never share incremental cursors.
    """
    warehouse = warehouse or warehouse_path()
    return warehouse.parent / f".{warehouse.stem}.state"


def machine_memory() -> int:
    """Bytes of memory this process may use: the machine's, or its cgroup's limit when lower (a container)."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        with contextlib.suppress(OSError, ValueError):
            total = min(total, int(Path(limit_file).read_text().strip()))  # "max": no limit
    return total


def machine_cpus() -> int:
    """CPUs this process may run on: its affinity, or its cgroup's CPU quota when lower."""
    cpus = len(os.sched_getaffinity(0))
    with contextlib.suppress(OSError, ValueError, ZeroDivisionError):
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        cpus = min(cpus, max(1, math.ceil(int(quota) / int(period))))  # "max": no quota
    return cpus


def default_duckdb_settings() -> dict[str, str]:
    """memory_limit (MEMORY_SHARE of machine_memory(), at least 256 MiB) and threads (machine_cpus())."""
    return {
        "memory_limit": f"{max(256, machine_memory() // MEMORY_SHARE // 2**20)}MiB",
        "threads": str(machine_cpus()),
    }


def duckdb_settings(warehouse: Path | None = None, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """DuckDB's memory_limit, threads and temp_directory, the same for every connection revloop opens.

    REVLOOP_DUCKDB_MEMORY_LIMIT and REVLOOP_DUCKDB_THREADS, or default_duckdb_settings() for the machine;
    what does not fit in memory spills to `<warehouse>.tmp` beside the warehouse file. dbt receives them
    as the var `duckdb` (revloop.dbt.dbt_vars), which dbt_project/profiles.yml reads.
    """
    env = os.environ if env is None else env
    memory = env.get("REVLOOP_DUCKDB_MEMORY_LIMIT", "").strip()
    threads = env.get("REVLOOP_DUCKDB_THREADS", "").strip()
    if not (memory and threads):
        defaults = default_duckdb_settings()
        memory, threads = memory or defaults["memory_limit"], threads or defaults["threads"]
    if not _MEMORY.match(memory):
        raise WarehouseConfigError(f"REVLOOP_DUCKDB_MEMORY_LIMIT must be a size such as 4GB, got {memory!r}")
    if not threads.isdigit() or int(threads) < 1:
        raise WarehouseConfigError(f"REVLOOP_DUCKDB_THREADS must be a positive integer, got {threads!r}")
    warehouse = warehouse or warehouse_path()
    return {"memory_limit": memory, "threads": threads, "temp_directory": f"{warehouse}.tmp"}


def configure_duckdb(connection: Connection, warehouse: Path | None = None) -> None:
    """Apply duckdb_settings() to an open connection.

    Set after connecting rather than passed to duckdb.connect(config=...): DuckDB refuses a second
    connection to an open database file with a different config, and these settings are database-wide.
    """
    for name, value in duckdb_settings(warehouse).items():
        # temp_directory cannot change once the database spilled (a second connection to an open file)
        if name == "temp_directory":
            current = connection.execute("select current_setting('temp_directory')").fetchone()[0]
            if current == value:
                continue
        connection.execute(f"set {name} = '{value}'")


def lock_wait_seconds(env: Mapping[str, str] | None = None) -> float:
    """How long a writer waits for the warehouse file lock (REVLOOP_WAREHOUSE_LOCK_WAIT, default 120 s)."""
    env = os.environ if env is None else env
    text = env.get("REVLOOP_WAREHOUSE_LOCK_WAIT", "").strip()
    if not text:
        return DEFAULT_LOCK_WAIT_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:
        raise WarehouseConfigError(f"REVLOOP_WAREHOUSE_LOCK_WAIT must be seconds >= 0, got {text!r}")
    return seconds


def is_lock_error(error: BaseException) -> bool:
    """Whether a DuckDB error says another process holds the database file."""
    return isinstance(error, duckdb.IOException) and _LOCK_ERROR in str(error)


def wait_for_lock(
    open_file: Callable[[], duckdb.DuckDBPyConnection],
    path: str,
    wait_seconds: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> duckdb.DuckDBPyConnection:
    """open_file(), retried with a doubling back-off while another process holds the file's lock.

    Gives up with WarehouseLocked (naming the holder DuckDB reports) once wait_seconds have passed.
    """
    wait_seconds = lock_wait_seconds() if wait_seconds is None else wait_seconds
    deadline = time.monotonic() + wait_seconds
    backoff, waited = _FIRST_BACKOFF_SECONDS, False
    while True:
        try:
            connection = open_file()
        except duckdb.IOException as error:
            if not is_lock_error(error):
                raise
            left = deadline - time.monotonic()
            if left <= 0:
                found = _HOLDER.search(str(error))
                holder = f"{found[1]} (PID {found[2]})" if found else "another process"
                raise WarehouseLocked(
                    f"the warehouse {path} stayed locked by {holder} for "
                    f"{wait_seconds:.0f} s: close that session (an open DuckDB shell or notebook, say) or "
                    "read from a copy; REVLOOP_WAREHOUSE_LOCK_WAIT sets how long writers wait"
                ) from error
            if not waited:
                log.warning("The warehouse %s is locked by another process; waiting up to %.0f s for it",
                            path, wait_seconds)
                waited = True
            sleep(min(backoff, left))
            backoff = min(backoff * 2, _MAX_BACKOFF_SECONDS)
            continue
        if waited:
            log.info("The warehouse %s is free again", path)
        return connection


def connect_warehouse(
    path: Path | str | None = None,
    read_only: bool = False,
    warehouse: Path | None = None,
    lock_wait: float | None = None,
) -> Connection:
    """A DuckDB connection with the project's settings: the warehouse file by default, ':memory:' allowed.

    warehouse: the file whose temp directory an in-memory or scratch database spills to (default: path, or
    WAREHOUSE_PATH for ':memory:'). A file another process holds is waited for (wait_for_lock) up to
    lock_wait seconds (default lock_wait_seconds()).
    """
    path = str(path or warehouse_path())
    connection = wait_for_lock(lambda: duckdb.connect(path, read_only=read_only), path, lock_wait)
    try:
        file = None if path == ":memory:" else Path(path)
        configure_duckdb(connection, warehouse or file)
    except Exception:
        connection.close()
        raise
    return connection


def table_exists(connection: Connection, relation: str) -> bool:
    """Whether the table or view `schema.table` exists."""
    schema, dot, table = relation.partition(".")
    if not dot or not schema or not table or "." in table:
        raise ValueError(f"a relation is named schema.table, got {relation!r}")
    # fetchall, not fetchone: DuckDB refuses other work on a connection whose result is not read to the end
    found = connection.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchall()
    return bool(found[0][0])


def list_tables(connection: Connection) -> list[tuple[str, str]]:
    """(schema, table) of every table and view, catalogs left out, ordered by schema and table."""
    return connection.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_schema not in ('information_schema', 'pg_catalog') order by 1, 2"
    ).fetchall()


def column_names(connection: Connection, schema: str, table: str) -> list[str]:
    """The columns of the table or view schema.table in their order (none if it does not exist)."""
    rows = connection.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
        "order by ordinal_position",
        [schema, table],
    ).fetchall()
    return [name for (name,) in rows]


def quote(identifier: str) -> str:
    """An identifier quoted for SQL."""
    return '"' + identifier.replace('"', '""') + '"'


def fetch_dicts(connection: Connection, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    """The rows of a query as dicts keyed by column name."""
    cursor = connection.execute(sql, params or [])
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def iter_dicts(
    connection: Connection, sql: str, params: list[Any] | None = None, batch_size: int = FETCH_BATCH_ROWS
) -> Iterator[dict[str, Any]]:
    """The rows of a query as dicts, fetched batch_size rows at a time, so that a large table is never held
    whole. Read it to the end before the connection runs another query."""
    cursor = connection.execute(sql, params or [])
    names = [column[0] for column in cursor.description]
    while rows := cursor.fetchmany(batch_size):
        for row in rows:
            yield dict(zip(names, row, strict=True))


def database_file(connection: Connection) -> Path:
    """The file of the connection's current database."""
    return Path(
        connection.execute(
            "select path from duckdb_databases() where database_name = current_database()"
        ).fetchall()[0][0]
    )


def duckdb_destination(warehouse: Path):
    """The DuckDB warehouse as a dlt destination, whose connections wait for the file lock."""
    import dlt

    from revloop.dlt_destination import WaitingDuckDbCredentials

    # Loads need not keep file order (queries sort): without it DuckDB inserts ~25% faster.
    settings = {"preserve_insertion_order": False, **duckdb_settings(warehouse)}
    credentials = WaitingDuckDbCredentials.resolved(str(warehouse), settings)
    return dlt.destinations.duckdb(credentials=credentials)


def make_pipeline(
    pipeline_name: str,
    dataset_name: str,
    warehouse: Path | None = None,
    destination: "TDestinationReferenceArg | None" = None,
) -> "dlt.Pipeline":
    """A dlt pipeline loading dataset_name (a schema) of the warehouse, state kept beside the DuckDB file.

    `destination` (e.g. dlt.destinations.postgres(credentials)) loads elsewhere instead of the DuckDB file;
    the local state still lives beside `warehouse`, so give each destination its own `warehouse` path.
    """
    import dlt

    warehouse = warehouse or warehouse_path()
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    return dlt.pipeline(
        pipeline_name=pipeline_name,
        pipelines_dir=str(state_dir(warehouse) / "dlt"),
        destination=destination or duckdb_destination(warehouse),
        dataset_name=dataset_name,
        progress="log" if os.environ.get("REVLOOP_PROGRESS") else None,
    )
