"""The README's analyst snippets run as written on the pinned duckdb (issue 21): every ```python and ```sql
block, and every `.venv/bin/python -c` line of a ```sh block, against a copy of the built warehouse at the
path the README names (data/warehouse.duckdb)."""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.fixtures.built import BuiltWarehouse
from tests.fixtures.shared import copy_warehouse

README = Path(__file__).resolve().parents[2] / "README.md"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)
PYTHON_ONE_LINER = ".venv/bin/python -c "


def _blocks(language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(README.read_text()) if lang == language]


def _one_liners() -> list[str]:
    return [
        line.strip()
        for body in _blocks("sh")
        for line in body.splitlines()
        if line.strip().startswith(PYTHON_ONE_LINER)
    ]


@pytest.fixture(scope="module")
def analyst_folder(built_warehouse: BuiltWarehouse, tmp_path_factory) -> Path:
    """A folder holding data/warehouse.duckdb, as a checkout after `make demo` does."""
    folder = tmp_path_factory.mktemp("analyst")
    copy_warehouse(built_warehouse.path, folder / "data" / "warehouse.duckdb")
    return folder


def _run_python(arguments: list[str], folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *arguments], cwd=folder, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(README.parent)},
    )


def test_the_readme_has_analyst_snippets():
    assert _blocks("python") and _blocks("sql") and _one_liners()


@pytest.mark.parametrize("snippet", _blocks("python"), ids=lambda s: s.strip().splitlines()[-1][:40])
def test_python_snippets_run(snippet: str, analyst_folder: Path):
    ran = _run_python(["-c", snippet], analyst_folder)
    assert ran.returncode == 0, f"{snippet}\n{ran.stderr[-3000:]}"
    assert ran.stdout.strip(), "the snippet printed nothing"


@pytest.mark.parametrize("one_liner", _one_liners(), ids=lambda s: s[len(PYTHON_ONE_LINER):][:40])
def test_python_one_liners_run(one_liner: str, analyst_folder: Path):
    arguments = shlex.split(one_liner)[1:]
    ran = _run_python(arguments, analyst_folder)
    assert ran.returncode == 0, f"{one_liner}\n{ran.stderr[-3000:]}"


@pytest.mark.parametrize("query", _blocks("sql"), ids=lambda s: s.strip().splitlines()[0][:40])
def test_sql_snippets_return_rows(query: str, analyst_folder: Path):
    with duckdb.connect(str(analyst_folder / "data" / "warehouse.duckdb"), read_only=True) as con:
        rows = con.sql(query.strip().rstrip(";")).fetchall()
    assert rows, f"{query} returned no rows on the built warehouse"
