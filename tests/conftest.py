"""Fixtures shared by the whole suite; each area's fixtures live in tests/fixtures/."""

from pathlib import Path

import pytest

from sandbox.tls import TlsFiles, create_tls_files

pytest_plugins = [
    "tests.fixtures.salesforce", "tests.fixtures.hubspot", "tests.fixtures.warehouse", "tests.fixtures.built",
    "tests.fixtures.postgres", "tests.fixtures.smtp",
]


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
