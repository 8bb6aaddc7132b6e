"""Dependencies are pinned to ranges the tests cover (issue 21): every range holds the installed version and
stops before the next major, so a fresh install cannot pull an untested API (duckdb 1.4 -> 2.x did)."""

import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
UNBOUNDED = {"certifi"}  # the public CA bundle: the newest is the right one


def _requirements() -> list[Requirement]:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    extras = [r for group in project["optional-dependencies"].values() for r in group]
    listed = project["dependencies"] + extras
    return [Requirement(text) for text in listed]


@pytest.mark.parametrize("requirement", _requirements(), ids=lambda r: r.name)
def test_each_range_holds_the_tested_version_and_has_a_ceiling(requirement: Requirement):
    try:
        installed = version(requirement.name)
    except PackageNotFoundError:
        pytest.fail(f"{requirement.name} is declared but not installed: the tests do not cover it")
    assert requirement.specifier.contains(installed, prereleases=True), (
        f"{requirement} excludes {installed}, the version the tests run on"
    )
    if requirement.name not in UNBOUNDED:
        ceilings = [s for s in requirement.specifier if s.operator in ("<", "==", "~=")]
        assert ceilings, f"{requirement} has no upper bound: a new major would install untested"


def test_duckdb_is_pinned_to_the_major_the_readme_snippets_run_on():
    duckdb = next(r for r in _requirements() if r.name == "duckdb")
    assert not duckdb.specifier.contains("1.4.0") and not duckdb.specifier.contains("3.0.0")
