"""Segments on a small fixture warehouse: every operator (on DuckDB and PostgreSQL), injection, static lists,
history, preview, CLI."""

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
import yaml
from dagster import materialize

from ml.registry import ModelRegistry
from orchestration.defs.segments import segment_memberships
from orchestration.resources import WarehouseResource
from revloop.cli import main
from segments.analytics import report_markdown, size_history, size_plot
from segments.compiler import compile_segment, profile_columns
from segments.conversions import customer_query
from segments.definitions import SegmentError, load_segment
from segments.materialize import materialize_segments
from segments.preview import preview_segment, render
from segments.suggestions import model_importances, suggest
from tests.fixtures.dbt import assert_dbt_ok, run_dbt
from tests.fixtures.engines import ENGINES
from tests.fixtures.postgres import PostgresDatabase

AS_OF = dt.datetime(2026, 6, 30, 12, tzinfo=dt.UTC)
PROFILES = [
    # id, email, job_title, country, industry, lifecycle, lead_score, churn, purchase, employees,
    # last seen (days before AS_OF), is_customer
    ("p1", "Ann@Acme.com", "CTO", "United States", "Technology", "customer", 80, 0.9, 0.2, 1200, 1, True),
    ("p2", "bob@beta.io", "VP Sales", "Germany", "Finance", "lead", 40, None, 0.8, 300, 10, False),
    ("p3", "cy@gamma.fr", "Engineer", "France", None, "lead", 10, 0.1, 0.7, None, 100, False),
    (
        "p4",
        "x' OR 1=1 --",
        "Head of IT",
        "United States",
        "Retail",
        "opportunity",
        65,
        0.4,
        0.65,
        50,
        3,
        False,
    ),
    ("p5", None, "Director of Ops", None, "Technology", "customer", 0, 0.6, 0.1, 5000, 400, True),
    ("p6", "eve@delta.com", "CEO", "Canada", "Finance", "lead", 95, None, None, 20, None, False),
]
TOUCHES = [
    # profile, event, page_path, days ago
    ("p1", "Demo Requested", None, 2),
    ("p1", "Demo Requested", None, 5),
    ("p1", "Demo Requested", None, 50),
    ("p2", "Demo Requested", None, 1),
    ("p2", None, "/pricing", 3),
    ("p2", None, "/pricing/enterprise", 4),
    ("p3", None, "/pricing", 40),
    ("p3", None, "/blog", 1),
    ("p6", "Demo Requested", None, -1),  # after as_of: never counts
    ("p2", "Order Completed", None, 20),
    ("p5", "Order Completed", None, 300),
]
DEALS = [("p4", 5), ("p6", -2)]  # profile, days before AS_OF the deal was created (p6's is in the future)


@pytest.fixture
def fixture_warehouse(tmp_path) -> Path:
    return write_fixture_warehouse(tmp_path / "warehouse.duckdb")


def write_fixture_warehouse(path: Path) -> Path:
    """The fixture profiles, touchpoints and deals in a new DuckDB file."""
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA marts")
    con.execute("""CREATE TABLE marts.customer_profiles (profile_id VARCHAR, email VARCHAR, job_title VARCHAR,
        country VARCHAR, industry VARCHAR, lifecycle_stage VARCHAR, lead_score INTEGER, churn_risk FLOAT,
        purchase_likelihood FLOAT, engagement_potential FLOAT, employee_count BIGINT,
        last_seen_at TIMESTAMP WITH TIME ZONE, is_customer BOOLEAN)""")
    for pid, email, title, country, industry, stage, score, churn, buy, employees, seen, customer in PROFILES:
        last_seen = None if seen is None else AS_OF - dt.timedelta(days=seen)
        con.execute(
            "INSERT INTO marts.customer_profiles VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0.5, ?, ?, ?)",
            [pid, email, title, country, industry, stage, score, churn, buy, employees, last_seen, customer],
        )
    con.execute("""CREATE TABLE marts.touchpoints (profile_id VARCHAR, event_name VARCHAR, page_path VARCHAR,
        occurred_at TIMESTAMP WITH TIME ZONE)""")
    for pid, event, page, days in TOUCHES:
        con.execute(
            "INSERT INTO marts.touchpoints VALUES (?, ?, ?, ?)",
            [pid, event, page, AS_OF - dt.timedelta(days=days)],
        )
    con.execute("CREATE SCHEMA intermediate")
    con.execute(
        "CREATE TABLE intermediate.int_ml_deals (profile_id VARCHAR, deal_id VARCHAR, created_at TIMESTAMP)"
    )
    for pid, days in DEALS:
        created = (AS_OF - dt.timedelta(days=days)).replace(tzinfo=None)
        con.execute("INSERT INTO intermediate.int_ml_deals VALUES (?, ?, ?)", [pid, f"deal-{pid}", created])
    con.close()
    return path


def segment_file(folder: Path, rules=None, name="s", kind="dynamic", **extra) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    data = {"name": name, "type": kind, "description": "test", "owner": "tests", **extra}
    if rules is not None:
        data["rules"] = rules
    path = folder / f"{name}.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def members(warehouse: Path, path: Path) -> set[str]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        compiled = compile_segment(load_segment(path), profile_columns(con), AS_OF)
        return {row[0] for row in con.execute(compiled.select(), list(compiled.params)).fetchall()}
    finally:
        con.close()


# every operator and nesting, with the profiles each must select
OPERATOR_CASES = [
    ({"field": "country", "op": "eq", "value": "united states"}, {"p1", "p4"}),
    ({"field": "industry", "op": "ne", "value": "Technology"}, {"p2", "p4", "p6"}),
    ({"field": "lead_score", "op": "lt", "value": 40}, {"p3", "p5"}),
    ({"field": "lead_score", "op": "lte", "value": 40}, {"p2", "p3", "p5"}),
    ({"field": "lead_score", "op": "gt", "value": 80}, {"p6"}),
    ({"field": "employee_count", "op": "gte", "value": 1200}, {"p1", "p5"}),
    ({"field": "job_title", "op": "contains", "value": "of"}, {"p4", "p5"}),
    ({"field": "job_title", "op": "starts_with", "value": "vp "}, {"p2"}),
    ({"field": "industry", "op": "in", "value": ["Finance", "Retail"]}, {"p2", "p4", "p6"}),
    ({"field": "industry", "op": "not_in", "value": ["Finance", "Retail"]}, {"p1", "p5"}),
    ({"field": "industry", "op": "is_null"}, {"p3"}),
    ({"field": "churn_risk", "op": "not_null"}, {"p1", "p3", "p4", "p5"}),
    ({"field": "last_seen_at", "op": "within_days", "value": 7}, {"p1", "p4"}),
    ({"field": "last_seen_at", "op": "gte", "value": "2026-06-01"}, {"p1", "p2", "p4"}),
    ({"field": "is_customer", "op": "eq", "value": True}, {"p1", "p5"}),
    ({"event": "Demo Requested", "at_least": 2, "within_days": 30}, {"p1"}),
    ({"event": "Demo Requested", "within_days": 30}, {"p1", "p2"}),
    ({"page_path_prefix": "/pricing", "at_least": 2, "within_days": 7}, {"p2"}),
    ({"page_path_prefix": "/pricing", "within_days": 60}, {"p2", "p3"}),
    ({"score": "purchase_likelihood", "min": 0.65}, {"p2", "p3", "p4"}),
    ({"score": "churn_risk", "min": 0.4, "max": 0.6}, {"p4", "p5"}),
    ({"score": "lead_score", "max": 10}, {"p3", "p5"}),
    (
        {
            "all": [
                {"field": "industry", "op": "eq", "value": "Technology"},
                {"any": [{"field": "country", "op": "is_null"}, {"score": "lead_score", "min": 90}]},
            ]
        },
        {"p5"},
    ),
    (
        {
            "any": [
                {"field": "country", "op": "eq", "value": "Canada"},
                {
                    "all": [
                        {"field": "lifecycle_stage", "op": "eq", "value": "lead"},
                        {"event": "Demo Requested", "within_days": 30},
                    ]
                },
            ]
        },
        {"p2", "p6"},
    ),
    ({"not": {"field": "industry", "op": "eq", "value": "Technology"}}, {"p2", "p3", "p4", "p6"}),
]


# on PostgreSQL: a schema of the test's own (the compiler names marts.customer_profiles; SQL rewritten to it)
SCHEMA = "segments_test"
PROFILES_TABLE = """CREATE TABLE {table} (profile_id TEXT, email TEXT, job_title TEXT, country TEXT,
    industry TEXT, lifecycle_stage TEXT, lead_score INTEGER, churn_risk REAL, purchase_likelihood REAL,
    engagement_potential REAL, employee_count BIGINT, last_seen_at TIMESTAMPTZ, is_customer BOOLEAN)"""
TOUCHPOINTS_TABLE = """CREATE TABLE {table} (profile_id TEXT, event_name TEXT, page_path TEXT,
    occurred_at TIMESTAMPTZ)"""


def fill(cursor, schema: str) -> None:
    """The fixture profiles and touchpoints into <schema>.customer_profiles and .touchpoints (PostgreSQL)."""
    for row in PROFILES:
        *values, seen, customer = row
        last_seen = None if seen is None else AS_OF - dt.timedelta(days=seen)
        cursor.execute(
            f"INSERT INTO {schema}.customer_profiles (profile_id, email, job_title, country, industry, "
            "lifecycle_stage, lead_score, churn_risk, purchase_likelihood, employee_count, last_seen_at, "
            "is_customer, engagement_potential) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 0.5)",
            [*values, last_seen, customer],
        )
    for pid, event, page, days in TOUCHES:
        cursor.execute(
            f"INSERT INTO {schema}.touchpoints VALUES (%s, %s, %s, %s)",
            [pid, event, page, AS_OF - dt.timedelta(days=days)],
        )


@pytest.fixture(scope="module")
def profiles_on_postgres(postgres_database: PostgresDatabase):
    """The fixture profiles and touchpoints in PostgreSQL, and the profile columns' types."""
    connection = postgres_database.connect()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        cursor.execute(f"CREATE SCHEMA {SCHEMA}")
        cursor.execute(PROFILES_TABLE.format(table=f"{SCHEMA}.customer_profiles"))
        cursor.execute(TOUCHPOINTS_TABLE.format(table=f"{SCHEMA}.touchpoints"))
        fill(cursor, SCHEMA)
        cursor.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = 'customer_profiles' ORDER BY ordinal_position",
            [SCHEMA],
        )
        columns = {name: data_type.upper() for name, data_type in cursor.fetchall()}
    yield connection, columns
    connection.close()


@pytest.fixture(scope="module", params=ENGINES)
def select_members(request: pytest.FixtureRequest, tmp_path_factory) -> Callable[[Path], set[str]]:
    """The profiles a segment file selects from the fixture profiles, on DuckDB, then on PostgreSQL."""
    if request.param == "duckdb":
        warehouse = write_fixture_warehouse(tmp_path_factory.mktemp("segments") / "warehouse.duckdb")
        return lambda path: members(warehouse, path)
    connection, columns = request.getfixturevalue("profiles_on_postgres")

    def on_postgres(path: Path) -> set[str]:
        compiled = compile_segment(load_segment(path), columns, AS_OF)
        sql = compiled.select(paramstyle="format").replace("marts.", f"{SCHEMA}.")
        with connection.cursor() as cursor:
            cursor.execute(sql, list(compiled.params))
            return {row[0] for row in cursor.fetchall()}

    return on_postgres


@pytest.mark.parametrize(("rules", "expected"), OPERATOR_CASES)
def test_every_operator(select_members, tmp_path, rules, expected):
    assert select_members(segment_file(tmp_path / "segments", rules)) == expected


@pytest.mark.parametrize("attack", ["x' OR 1=1 --", "'); DROP TABLE marts.customer_profiles; --", "%", "_"])
def test_injection_matches_literally(fixture_warehouse, tmp_path, attack):
    literal = {"p4"} if attack == "x' OR 1=1 --" else set()
    for op, value in (
        ("eq", attack),
        ("contains", attack),
        ("starts_with", attack),
        ("in", [attack, "nobody"]),
    ):
        found = members(
            fixture_warehouse,
            segment_file(tmp_path / "segments", {"field": "email", "op": op, "value": value}),
        )
        assert found == literal
    for rule in ({"event": attack, "within_days": 999}, {"page_path_prefix": attack, "within_days": 999}):
        assert members(fixture_warehouse, segment_file(tmp_path / "segments", rule)) == set()
    static = segment_file(
        tmp_path / "segments", name="listed", kind="static", members=[attack], review_by="2030-01-01"
    )
    assert members(fixture_warehouse, static) == literal
    con = duckdb.connect(str(fixture_warehouse), read_only=True)
    assert con.execute("SELECT count(*) FROM marts.customer_profiles").fetchone()[0] == len(PROFILES)
    con.close()


def test_values_never_reach_the_sql_text(fixture_warehouse, tmp_path):
    path = segment_file(tmp_path / "segments", {"field": "job_title", "op": "eq", "value": "zz'; --"})
    con = duckdb.connect(str(fixture_warehouse), read_only=True)
    compiled = compile_segment(load_segment(path), profile_columns(con), AS_OF)
    con.close()
    assert "zz" not in compiled.where and compiled.params == ("zz'; --",)


def write_config(config: Path, review_by: dt.date, industries: list[str]) -> None:
    segments = config / "segments"
    segment_file(segments, {"field": "industry", "op": "in", "value": industries}, name="by_industry")
    segment_file(
        segments, {"all": [{"score": "purchase_likelihood", "min": 0.6}]}, name="buyers", kind="predictive"
    )
    (segments / "vip.txt").write_text("p1\nbob@BETA.io\nghost@nowhere.com\n")
    segment_file(segments, name="vip", kind="static", members_file="vip.txt", review_by=review_by)


def add_handoffs(warehouse: Path, handoffs: list[tuple[str, dt.datetime]]) -> None:
    """marts.lead_handoffs as dbt builds it over the handoff step's table (contract columns)."""
    con = duckdb.connect(str(warehouse))
    con.execute("""CREATE TABLE marts.lead_handoffs (profile_id VARCHAR, trigger VARCHAR, priority VARCHAR,
        owner_id VARCHAR, assignment_rule VARCHAR, handed_off_at TIMESTAMPTZ, crm VARCHAR,
        crm_record_id VARCHAR)""")
    for profile_id, at in handoffs:
        con.execute(
            "INSERT INTO marts.lead_handoffs "
            "VALUES (?, 'score', 'immediate', 'u1', 'default', ?, 'salesforce', ?)",
            [profile_id, at, f"00Q{profile_id}"],
        )
    con.close()


def table(warehouse: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_materialize_twice_records_entries_and_exits(fixture_warehouse, tmp_path):
    config = tmp_path / "config"
    write_config(config, dt.date(2026, 6, 1), ["Technology"])
    with pytest.warns(UserWarning, match="due for review on 2026-06-01"):
        first = materialize_segments(fixture_warehouse, config, as_of=AS_OF)
    assert first.ok, first.errors
    # the unmatched member is named by its line: a members_file's content never reaches a warning
    unmatched = "1 of 3 listed members match no profile: members_file 'vip.txt' line(s) 3"
    assert any(unmatched in w for w in first.warnings)
    assert not any("ghost@nowhere.com" in w for w in first.warnings)
    assert table(
        fixture_warehouse,
        "SELECT segment_name, segment_type, profile_id FROM segments.segment_memberships ORDER BY 1, 3",
    ) == [
        ("buyers", "predictive", "p2"),
        ("buyers", "predictive", "p3"),
        ("buyers", "predictive", "p4"),
        ("by_industry", "dynamic", "p1"),
        ("by_industry", "dynamic", "p5"),
        ("vip", "static", "p1"),
        ("vip", "static", "p2"),
    ]
    write_config(config, dt.date(2026, 12, 1), ["Technology", "Finance"])
    (config / "segments" / "buyers.yml").unlink()
    add_handoffs(
        fixture_warehouse, [("p2", AS_OF - dt.timedelta(hours=1)), ("p6", AS_OF + dt.timedelta(hours=2))]
    )
    second_at = AS_OF + dt.timedelta(hours=1)
    second = materialize_segments(fixture_warehouse, config, as_of=second_at)
    assert second.unavailable == {}
    by_industry = next(run for run in second.segments if run.segment_name == "by_industry")
    assert [(c.kind, c.count, c.rate) for c in by_industry.conversions] == [
        ("handoff", 1, 0.25),
        ("opportunity", 0, 0.0),
        ("order", 2, 0.5),
        ("customer", 2, 0.5),
    ]
    assert second.warnings == [w for w in second.warnings if "review" not in w]
    assert second.removed == ["buyers"]
    history = table(
        fixture_warehouse,
        "SELECT run_at, segment_name, segment_type, size, entries, exits, handoff_count, handoff_rate, "
        "opportunity_count, order_count, order_rate, customer_count, conversion_notes "
        "FROM segments.segment_history ORDER BY run_at, segment_name",
    )
    missing = "handoff: marts.lead_handoffs is not in the warehouse"
    assert [row[1:] for row in history] == [
        ("buyers", "predictive", 3, 3, 0, None, None, 1, 1, pytest.approx(1 / 3), 0, missing),
        ("by_industry", "dynamic", 2, 2, 0, None, None, 0, 1, 0.5, 2, missing),
        ("vip", "static", 2, 2, 0, None, None, 0, 1, 0.5, 1, missing),
        ("buyers", "predictive", 0, 0, 3, 0, None, 0, 0, None, 0, None),
        ("by_industry", "dynamic", 4, 2, 0, 1, 0.25, 0, 2, 0.5, 2, None),
        ("vip", "static", 2, 0, 0, 1, 0.5, 0, 1, 0.5, 1, None),
    ]
    assert {row[0] for row in history[3:]} == {second_at}
    assert table(
        fixture_warehouse, "SELECT DISTINCT segment_name FROM segments.segment_memberships ORDER BY 1"
    ) == [("by_industry",), ("vip",)]


def test_broken_definition_keeps_previous_members(fixture_warehouse, tmp_path):
    config = tmp_path / "config"
    write_config(config, dt.date(2027, 1, 1), ["Technology"])
    assert materialize_segments(fixture_warehouse, config, as_of=AS_OF).ok
    segment_file(config / "segments", {"field": "no_such_column", "op": "eq", "value": 1}, name="by_industry")
    report = materialize_segments(fixture_warehouse, config, as_of=AS_OF + dt.timedelta(hours=1))
    assert not report.ok and "unknown field 'no_such_column'" in report.errors[0]
    assert report.removed == []
    assert table(
        fixture_warehouse,
        "SELECT profile_id FROM segments.segment_memberships WHERE segment_name = 'by_industry' ORDER BY 1",
    ) == [("p1",), ("p5",)]


def test_preview_counts_samples_and_reads_only(fixture_warehouse, tmp_path):
    path = segment_file(
        tmp_path / "segments", {"field": "lifecycle_stage", "op": "in", "value": ["lead", "customer"]}
    )
    preview = preview_segment(path, fixture_warehouse, sample_size=2, as_of=AS_OF, conversion="customer")
    assert (preview.count, preview.total_profiles) == (5, 6)
    assert [row["profile_id"] for row in preview.sample] == ["p1", "p2"]
    assert preview.suggestions is not None and preview.suggestions.base == pytest.approx(2 / 5)
    text = render(preview)
    assert "5 of 6 profiles match" in text and "p2" in text
    assert table(
        fixture_warehouse, "SELECT count(*) FROM information_schema.tables WHERE table_name LIKE 'segment_%'"
    ) == [(0,)]


def test_cli_preview_and_errors(fixture_warehouse, tmp_path, capsys):
    good = segment_file(tmp_path / "segments", {"field": "industry", "op": "eq", "value": "Finance"})
    assert (
        main(["segments", "preview", str(good), "--warehouse", str(fixture_warehouse), "--no-suggestions"])
        == 0
    )
    assert "segment s (dynamic): 2 of 6 profiles match" in capsys.readouterr().out
    config = tmp_path / "config"
    write_config(config, dt.date(2026, 6, 1), ["Technology"])
    assert (
        main(["segments", "materialize", "--warehouse", str(fixture_warehouse), "--config-dir", str(config)])
        == 0
    )
    out, err = capsys.readouterr()
    assert (
        "by_industry (dynamic): 2 members, +2 -0; conversion handoff n/a, opportunity 0.0%, order 50.0%"
        in out
    )
    assert "note: handoff conversion unavailable: marts.lead_handoffs is not in the warehouse" in out
    assert "warning: " in err and "due for review on 2026-06-01" in err
    bad = segment_file(tmp_path / "bad", {"field": "industry", "op": "like", "value": "F%"})
    assert main(["segments", "preview", str(bad), "--warehouse", str(fixture_warehouse)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "unknown operator 'like'" in err and "allowed: eq, ne" in err


def test_history_of_an_older_version_is_migrated_without_losing_rows(fixture_warehouse, tmp_path):
    con = duckdb.connect(str(fixture_warehouse))
    con.execute("""CREATE TABLE marts.segment_history (run_at TIMESTAMPTZ NOT NULL,
        segment_name VARCHAR NOT NULL, segment_type VARCHAR NOT NULL, size BIGINT NOT NULL,
        entries BIGINT NOT NULL, exits BIGINT NOT NULL, converted BIGINT NOT NULL, conversion_rate DOUBLE)""")
    con.execute(
        "INSERT INTO marts.segment_history VALUES (?, 'by_industry', 'dynamic', 4, 4, 0, 1, 0.25)", [AS_OF]
    )
    # older versions kept the members in marts too: the step adopts them, so the diff goes on from them
    con.execute("""CREATE TABLE marts.segment_memberships (segment_name VARCHAR NOT NULL,
        segment_type VARCHAR NOT NULL, profile_id VARCHAR NOT NULL, evaluated_at TIMESTAMPTZ NOT NULL)""")
    con.execute("INSERT INTO marts.segment_memberships VALUES ('by_industry', 'dynamic', 'p1', ?)", [AS_OF])
    con.close()
    config = tmp_path / "config"
    write_config(config, dt.date(2027, 1, 1), ["Technology"])
    report = materialize_segments(fixture_warehouse, config, as_of=AS_OF + dt.timedelta(hours=1))
    assert report.ok
    by_industry = next(run for run in report.segments if run.segment_name == "by_industry")
    assert (by_industry.size, by_industry.entries, by_industry.exits) == (2, 1, 0)
    assert table(
        fixture_warehouse,
        "SELECT size, customer_count, customer_rate, order_count, order_rate FROM segments.segment_history "
        "WHERE segment_name = 'by_industry' ORDER BY run_at",
    ) == [(4, 1, 0.25, None, None), (2, 2, 1.0, 1, 0.5)]


def test_dbt_builds_the_marts_over_the_steps_tables(fixture_warehouse, tmp_path):
    config = tmp_path / "config"
    write_config(config, dt.date(2027, 1, 1), ["Technology"])
    materialize_segments(fixture_warehouse, config, as_of=AS_OF)
    write_config(config, dt.date(2027, 1, 1), ["Technology", "Finance"])
    materialize_segments(fixture_warehouse, config, as_of=AS_OF + dt.timedelta(hours=1))
    env = {"WAREHOUSE_PATH": str(fixture_warehouse), "DBT_TARGET": "duckdb"}
    selection = ["segment_memberships", "segment_history"]
    assert_dbt_ok(run_dbt(["build", "--select", *selection], tmp_path, env))
    for name in ("segment_memberships", "segment_history"):
        step = table(fixture_warehouse, f"SELECT * FROM segments.{name} ORDER BY ALL")
        assert step and table(fixture_warehouse, f"SELECT * FROM marts.{name} ORDER BY ALL") == step, name


def test_size_plot_and_report_markdown(fixture_warehouse, tmp_path):
    config = tmp_path / "config"
    write_config(config, dt.date(2027, 1, 1), ["Technology"])
    materialize_segments(fixture_warehouse, config, as_of=AS_OF)
    write_config(config, dt.date(2027, 1, 1), ["Technology", "Finance"])
    report = materialize_segments(fixture_warehouse, config, as_of=AS_OF + dt.timedelta(hours=1))
    history = size_history(fixture_warehouse, ["by_industry", "vip"])
    assert [size for _, size in history["by_industry"]] == [2, 4]
    png = size_plot(history)
    assert png.startswith(b"\x89PNG") and len(png) > 2000
    text = report_markdown(report, png)
    assert "| by_industry | dynamic | 4 | 2 | 0 | n/a | 0.0% | 50.0% | 50.0% |" in text
    assert "- handoff rate n/a: marts.lead_handoffs is not in the warehouse" in text
    assert "data:image/png;base64," in text
    assert "- warning: " in text and "members_file 'vip.txt' line(s) 3" in text


@pytest.mark.parametrize(
    ("conversion", "metric", "base"),
    [
        ("order", "order rate", 2 / 5),
        ("customer", "customer rate", 2 / 5),
        ("opportunity", "opportunity rate", 0),
    ],
)
def test_preview_suggestions_aim_at_a_conversion_kind(fixture_warehouse, tmp_path, conversion, metric, base):
    path = segment_file(
        tmp_path / "segments", {"field": "lifecycle_stage", "op": "in", "value": ["lead", "customer"]}
    )
    found = preview_segment(path, fixture_warehouse, as_of=AS_OF, conversion=conversion).suggestions
    if base == 0:
        # nobody in the segment converted this way: lift is measured on the purchase score instead
        assert found.metric == "mean purchase_likelihood"
    else:
        assert (found.metric, found.base) == (metric, pytest.approx(base))
    with pytest.raises(SegmentError, match="unknown conversion 'sales'; allowed: handoff, opportunity"):
        preview_segment(path, fixture_warehouse, as_of=AS_OF, conversion="sales")


def test_suggestions_use_the_model_feature_importances(fixture_warehouse, tmp_path):
    con = duckdb.connect(str(fixture_warehouse))
    con.execute("""CREATE TABLE marts.ml_features (profile_id VARCHAR, as_of_date DATE,
        is_scoring_snapshot BOOLEAN, web_recent BIGINT, purchase_count BIGINT)""")
    for pid, web, purchases in (
        ("p1", 5, 2),
        ("p2", 1, 0),
        ("p3", 0, 0),
        ("p4", 0, 0),
        ("p5", 3, 1),
        ("p6", 0, 0),
    ):
        con.execute(
            "INSERT INTO marts.ml_features VALUES (?, '2026-06-30', true, ?, ?)", [pid, web, purchases]
        )
        # an older snapshot must not count
        con.execute("INSERT INTO marts.ml_features VALUES (?, '2026-05-31', false, 9, 9)", [pid])
    con.close()
    registry = ModelRegistry(warehouse=fixture_warehouse)
    card = {
        "top_features": [
            {"feature": "purchase_count", "importance": 0.3},
            {"feature": "employee_count", "importance": 0.2},
            {"feature": "web_recent", "importance": 0.1},
            {"feature": "country", "importance": 0.0},
        ]
    }
    registry.promote("purchase", registry.save("purchase", {"stub": True}, card, {}).version, "test")
    importances = model_importances(fixture_warehouse)
    assert [f["feature"] for f in importances] == ["purchase_count", "employee_count", "web_recent"]
    path = segment_file(tmp_path / "segments", {"field": "lead_score", "op": "not_null"})
    con = duckdb.connect(str(fixture_warehouse), read_only=True)
    columns = profile_columns(con)
    compiled = compile_segment(load_segment(path), columns, AS_OF)
    outcome = customer_query(columns)
    found = suggest(con, compiled, columns, outcome, AS_OF, importances, min_members=1)
    con.close()
    assert (found.metric, found.base) == ("customer rate", pytest.approx(2 / 6))
    best = found.items[0]
    assert best.rule == {"field": "employee_count", "op": "gte", "value": 1200.0}
    assert (best.members, best.value, best.lift, best.importance) == (2, 1.0, pytest.approx(3), 0.2)
    # purchase_count restates the customer outcome, so only web_recent is a signal
    assert [(s.feature, s.cut, s.members, s.lift) for s in found.signals] == [
        ("web_recent", 3.0, 2, pytest.approx(3))
    ]


def test_asset_reports_sizes_rates_and_the_plot_as_metadata(fixture_warehouse, tmp_path, monkeypatch):
    config = tmp_path / "config"
    write_config(config, dt.date(2027, 1, 1), ["Technology"])
    monkeypatch.setenv("REVLOOP_CONFIG_DIR", str(config))
    resources = {"warehouse": WarehouseResource(path=str(fixture_warehouse))}
    for _ in range(2):
        result = materialize([segment_memberships], resources=resources)
    assert result.success
    [memberships, history] = result.asset_materializations_for_node("segment_memberships")
    assert (memberships.asset_key.path, history.asset_key.path) == (
        ["segments", "segment_memberships"],
        ["segments", "segment_history"],
    )
    assert history.metadata["dagster/row_count"].value == 3 * 2  # three segments, two runs
    metadata = memberships.metadata
    assert metadata["size by_industry"].value == 2 and metadata["entries by_industry"].value == 0
    assert metadata["dagster/row_count"].value == 2 + 3 + 2  # by_industry, buyers, vip
    assert metadata["customer rate by_industry"].value == 1.0
    assert "handoff rate by_industry" not in metadata  # not measurable without marts.lead_handoffs
    report = metadata["segment_report"].value
    assert "| by_industry | dynamic | 2 | 0 | 0 | n/a | 0.0% | 50.0% | 100.0% |" in report
    assert "![segment size per run](data:image/png;base64," in report
