"""The lead scoring models built against hand-made stand-ins of their inputs, on DuckDB and PostgreSQL.

A scratch copy of the dbt project holds only the scoring models (with their YAML tests and unit tests) and
seeds named like their inputs (int_profiles_enriched, int_touchpoints), so the models build and test without
the rest of the pipeline.
"""

import csv
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import psycopg2
import pytest
import yaml
from psycopg2 import sql

from revloop.config import load
from revloop.config.scoring import ScoringConfig
from revloop.dbt import DBT_PROJECT_DIR, duckdb_vars
from tests.fixtures.postgres import (
    POSTGRES_ADMIN_DB,
    POSTGRES_HOST,
    POSTGRES_PORT,
    POSTGRES_USER,
    REQUIRE_POSTGRES,
    PostgresDatabase,
)

REPO = DBT_PROJECT_DIR.parent
AS_OF = datetime(2026, 6, 1, tzinfo=UTC)
SCORING_MODELS = {
    "intermediate": ["int_lead_score_factors.sql", "int_lead_scores.sql", "_scoring__models.yml"],
    "marts": ["lead_score_factors.sql", "_scoring__marts.yml"],
}
PROFILE_COLUMNS = {
    "profile_id": "varchar",
    "job_title": "varchar",
    "industry": "varchar",
    "country": "varchar",
    "lifecycle_stage": "varchar",
    "email_domain": "varchar",
    "employee_count": "bigint",
    "annual_revenue": "numeric(28, 6)",
}
TOUCHPOINT_COLUMNS = {
    "profile_id": "varchar",
    "channel": "varchar",
    "event_name": "varchar",
    "page_path": "varchar",
    "occurred_at": "timestamp with time zone",
    "is_interaction": "boolean",
}
FACTORS_SQL = "select profile_id, factor, points, factor_group, detail from marts.lead_score_factors"
SCORES_SQL = (
    "select profile_id, lead_score, fit_score, behavior_score, is_sales_ready"
    " from intermediate.int_lead_scores"
)
# personas: (profile_id, job_title, industry, country, lifecycle_stage, email_domain, employees, revenue)
PROFILES = [
    ("hot_vp", "VP Marketing", "Technology", "United States", "lead", "acme.com", 500, 50_000_000),
    ("cold_student", "Student", None, "Brazil", None, "gmail.com", None, None),
    ("engaged_manager", "Marketing Manager", "Retail", "Germany", "lead", "shop.de", 120, 8_000_000),
    ("quiet_cto", "CTO", "Finance", "United Kingdom", "customer", "bank.co.uk", 5000, 900_000_000),
    ("unknown", None, None, None, None, None, None, None),
]


def _ago(days: float) -> str:
    return (AS_OF - timedelta(days=days)).isoformat()


def _touchpoints() -> list[tuple]:
    """(profile_id, channel, event_name, page_path, occurred_at, is_interaction)"""
    rows = [
        ("hot_vp", "website", "Demo Requested", None, _ago(1), True),
        ("hot_vp", "website", None, "/pricing", _ago(1.5), True),
        ("hot_vp", "website", None, "/pricing/enterprise", _ago(2), True),
        ("hot_vp", "email", "Email Link Clicked", None, _ago(3), True),
        ("hot_vp", "website", "Trial Started", None, _ago(-2), True),  # after the run: ignored
        ("cold_student", "sales", "Demo Requested", None, _ago(1), False),  # a rep's task, not engagement
        ("quiet_cto", "email", "Email Opened", None, _ago(300), True),
    ]
    for day in range(40):  # a daily reader of the blog and newsletter: page views and opens hit their caps
        rows.append(("engaged_manager", "website", None, f"/blog/post-{day}", _ago(day / 4), True))
        rows.append(("engaged_manager", "email", "Email Opened", None, _ago(day / 4 + 0.1), True))
    rows.append(("engaged_manager", "website", "Form Submitted", None, _ago(5), True))
    return rows


def _write_csv(path: Path, columns: dict[str, str], rows: list[tuple]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows(["" if value is None else value for value in row] for row in rows)


def _scratch_project(folder: Path) -> Path:
    """The scoring models, the project's macros and seeds standing in for the scoring inputs."""
    project = folder / "project"
    shutil.copytree(DBT_PROJECT_DIR / "macros", project / "macros")
    shutil.copy(DBT_PROJECT_DIR / "profiles.yml", project / "profiles.yml")
    settings = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    settings["seeds"] = {
        "revloop": {
            "int_profiles_enriched": {"+column_types": PROFILE_COLUMNS},
            "int_touchpoints": {"+column_types": TOUCHPOINT_COLUMNS},
        }
    }
    (project / "dbt_project.yml").write_text(yaml.safe_dump(settings, sort_keys=False))
    for layer, files in SCORING_MODELS.items():
        (project / "models" / layer).mkdir(parents=True)
        for name in files:
            shutil.copy(DBT_PROJECT_DIR / "models" / layer / name, project / "models" / layer / name)
    (project / "models" / "marts" / "customer_profiles.sql").write_text(
        "select profile_id from {{ ref('int_profiles_enriched') }}\n"
    )
    (project / "seeds").mkdir()
    _write_csv(project / "seeds" / "int_profiles_enriched.csv", PROFILE_COLUMNS, PROFILES)
    _write_csv(project / "seeds" / "int_touchpoints.csv", TOUCHPOINT_COLUMNS, _touchpoints())
    return project


def _dbt(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    scoring = load("scoring", ScoringConfig, REPO / "config").model_dump(mode="json")
    dbt_vars = {"revloop": {"scoring": scoring}, "scoring_as_of": AS_OF.isoformat(), "duckdb": duckdb_vars()}
    command = [
        str(Path(sys.executable).parent / "dbt"), *args,
        "--project-dir", str(project), "--profiles-dir", str(project), "--vars", json.dumps(dbt_vars),
    ]
    full_env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **env}
    return subprocess.run(command, env=full_env, capture_output=True, text=True, timeout=300)


def _build(project: Path, env: dict[str, str]) -> dict:
    result = _dbt(project, env, "build")
    assert result.returncode == 0, result.stdout[-6000:]
    run_results = json.loads((project / "target" / "run_results.json").read_text())
    return {r["unique_id"]: r["status"] for r in run_results["results"]}


def _check_scores(statuses: dict, factors: list[tuple], scores: dict[str, tuple]) -> None:
    unit_tests = [uid for uid in statuses if uid.startswith("unit_test.")]
    assert len(unit_tests) == 3 and all(statuses[uid] == "pass" for uid in unit_tests), statuses
    # every profile is scored, and its factors sum to its lead score exactly
    assert set(scores) == {p[0] for p in PROFILES}
    for profile_id, (lead_score, fit_score, behavior_score, is_sales_ready) in scores.items():
        points = [f[2] for f in factors if f[0] == profile_id]
        assert sum(points) == lead_score == fit_score + behavior_score
        assert is_sales_ready == (lead_score >= 500)
    by_factor = {(f[0], f[1]): f for f in factors}
    assert scores["hot_vp"][3] is True
    assert by_factor[("hot_vp", "fit:title:vp")][2] == 130
    assert by_factor[("hot_vp", "fit:department:revenue")][2] == 40
    assert by_factor[("hot_vp", "fit:industry:software")][2] == 80
    assert by_factor[("hot_vp", "behavior:demo_requested")][2] == round(250 * 0.5 ** (1 / 30))
    assert ("hot_vp", "behavior:trial_started") not in by_factor
    assert by_factor[("cold_student", "fit:title:student")][2] == -50
    assert by_factor[("cold_student", "fit:email_domain:personal_email")][2] == -40
    assert scores["cold_student"][0] == -90 and scores["cold_student"][2] == 0
    engaged = by_factor[("engaged_manager", "behavior:page_view")]
    assert engaged[2] == 75 and "capped at 75" in engaged[4]
    assert by_factor[("engaged_manager", "behavior:email_opened")][2] == 30
    assert by_factor[("quiet_cto", "behavior:email_opened")][2] == 0  # 300 days: ten half-lives
    assert scores["unknown"] == (0, 0, 0, False)
    assert {f[3] for f in factors} == {"fit", "behavior"}


def test_scoring_builds_and_tests_on_duckdb(tmp_path):
    project = _scratch_project(tmp_path)
    warehouse = tmp_path / "warehouse.duckdb"
    statuses = _build(project, {"WAREHOUSE_PATH": str(warehouse), "DBT_TARGET": "duckdb"})
    with duckdb.connect(str(warehouse), read_only=True) as con:
        factors = con.execute(FACTORS_SQL).fetchall()
        scores = {row[0]: row[1:] for row in con.execute(SCORES_SQL).fetchall()}
        scored_at = con.execute("select distinct scored_at from intermediate.int_lead_scores").fetchall()
    _check_scores(statuses, factors, scores)
    assert scored_at == [(AS_OF,)]


def test_scoring_needs_its_config_var(tmp_path):
    project = _scratch_project(tmp_path)
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"), "compile", "--select", "int_lead_score_factors",
            "--project-dir", str(project), "--profiles-dir", str(project),
            "--vars", json.dumps({"duckdb": duckdb_vars()}),  # the profile's, not the models'
        ],
        env={**os.environ, "WAREHOUSE_PATH": str(tmp_path / "w.duckdb"), "DBT_TARGET": "duckdb"},
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode != 0
    assert "var revloop.scoring is missing" in result.stdout


@pytest.fixture
def scratch_postgres() -> Iterator[PostgresDatabase]:
    """A database of its own on the local server (the shared test database holds other rooms' builds)."""
    server = PostgresDatabase(POSTGRES_HOST, POSTGRES_PORT, POSTGRES_USER, POSTGRES_ADMIN_DB)
    try:
        admin = server.connect()
    except psycopg2.OperationalError as error:
        if os.environ.get(REQUIRE_POSTGRES) == "1":
            raise
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_HOST}:{POSTGRES_PORT}: {str(error).strip()}")
    database = replace(server, dbname=f"revloop_scoring_{uuid.uuid4().hex[:10]}")
    name = sql.Identifier(database.dbname)
    with admin.cursor() as cursor:
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(name))
    try:
        yield database
    finally:
        with admin.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        admin.close()


@pytest.mark.postgres
def test_scoring_builds_and_tests_on_postgres(tmp_path, scratch_postgres):
    project = _scratch_project(tmp_path)
    statuses = _build(project, scratch_postgres.dbt_env())
    with closing(scratch_postgres.connect()) as con, con.cursor() as cursor:
        cursor.execute(FACTORS_SQL)
        factors = cursor.fetchall()
        cursor.execute(SCORES_SQL)
        scores = {row[0]: row[1:] for row in cursor.fetchall()}
    _check_scores(statuses, factors, scores)
