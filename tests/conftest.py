"""Fixtures shared by the whole suite; each area's fixtures live in tests/fixtures/."""

import os
import signal
from pathlib import Path

import pytest

from revloop.warehouse import machine_cpus
from sandbox.tls import TlsFiles, create_tls_files

pytest_plugins = [
    "tests.fixtures.salesforce", "tests.fixtures.hubspot", "tests.fixtures.warehouse", "tests.fixtures.built",
    "tests.fixtures.postgres", "tests.fixtures.smtp", "tests.fixtures.engines", "tests.fixtures.installation",
]

# The longest test files, started first (`make test` turns off xdist's own order, most tests first, which
# left the single-test system files for the end). xdist hands files 1 and 3 to one worker, 2 and 4 to the
# other, then the next file to whichever is free: the two halves of the installation shapes side by side,
# then the demo's system tests (the longest file) beside a builder of the shared warehouses (test_dbt_staging
# builds raw_warehouse and built_warehouse, test_dbt_postgres the templates) and the sync-at-rest rounds.
SLOWEST_FIRST = (
    "test_installation_shapes.py", "test_installation_shapes_hubspot.py",
    "test_demo_path.py", "test_dbt_staging.py", "test_sync_at_rest.py", "test_ml_models.py",
    "test_dbt_postgres.py", "test_dagster_ui_browser.py",
)


def pytest_configure(config: pytest.Config) -> None:
    """Under a background job SIGINT is ignored, and an in-process Dagster run maps SIGTERM to SIGINT's
    handler: every process a test starts afterwards would ignore SIGTERM too and outlive its terminate().
    Ctrl-C's own handler instead (a caught signal is reset in a child). Then the workers' CPU shares."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    share_the_cpus_between_workers()


def share_the_cpus_between_workers() -> None:
    """Each pytest-xdist worker's DuckDB (in its own process, dbt's and Dagster's) gets its share of the
    machine's CPUs, as REVLOOP_DUCKDB_THREADS (a value already set wins): the workers run side by side, and
    on tables this small more threads only add scheduling."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 0)
    if workers > 1:
        os.environ.setdefault("REVLOOP_DUCKDB_THREADS", str(max(1, machine_cpus() // workers)))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Move the files of SLOWEST_FIRST to the front, in that order; the rest keep theirs (a stable sort)."""
    rank = {name: position for position, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The controller (or a run without workers) drops the run's shared PostgreSQL templates."""
    if not hasattr(session.config, "workerinput"):
        from tests.fixtures.postgres import drop_run_databases  # a plugin: imported once pytest rewrites it

        drop_run_databases()


@pytest.fixture(scope="session")
def tls(tmp_path_factory) -> TlsFiles:
    """One sandbox certificate authority for the test session."""
    return create_tls_files(Path(tmp_path_factory.mktemp("tls")))


@pytest.fixture
def warehouse(tmp_path, monkeypatch) -> Path:
    """An empty warehouse path in a temp dir, exported as WAREHOUSE_PATH."""
    path = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("WAREHOUSE_PATH", str(path))
    return path
