"""Segments on a small fixture warehouse: every operator, injection, static lists, history, preview, CLI."""

import datetime as dt
from pathlib import Path

import duckdb
import pytest
import yaml

from revloop.cli import main
from segments.compiler import compile_segment, profile_columns
from segments.definitions import load_segment
from segments.materialize import materialize_segments
from segments.preview import preview_segment, render

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
]


@pytest.fixture
def fixture_warehouse(tmp_path) -> Path:
    path = tmp_path / "warehouse.duckdb"
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


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
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
    ],
)
def test_every_operator(fixture_warehouse, tmp_path, rules, expected):
    assert members(fixture_warehouse, segment_file(tmp_path / "segments", rules)) == expected


@pytest.mark.parametrize("attack", ["x' OR 1=1 --", "'); DROP TABLE marts.customer_profiles; --", "%", "_"])
def test_injection_matches_literally(fixture_warehouse, tmp_path, attack):
    for op, value in (("eq", attack), ("contains", attack), ("in", [attack, "nobody"])):
        found = members(
            fixture_warehouse,
            segment_file(tmp_path / "segments", {"field": "email", "op": op, "value": value}),
        )
        assert found == ({"p4"} if attack == "x' OR 1=1 --" else set())
    found = members(
        fixture_warehouse, segment_file(tmp_path / "segments", {"event": attack, "within_days": 999})
    )
    assert found == set()
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
    assert any("1 of 3 listed members match no profile: ghost@nowhere.com" in w for w in first.warnings)
    assert table(
        fixture_warehouse,
        "SELECT segment_name, segment_type, profile_id FROM marts.segment_memberships ORDER BY 1, 3",
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
    second_at = AS_OF + dt.timedelta(hours=1)
    second = materialize_segments(fixture_warehouse, config, as_of=second_at)
    assert second.warnings == [w for w in second.warnings if "review" not in w]
    assert second.removed == ["buyers"]
    history = table(
        fixture_warehouse,
        "SELECT run_at, segment_name, segment_type, size, entries, exits, converted "
        "FROM marts.segment_history ORDER BY run_at, segment_name",
    )
    assert [row[1:] for row in history] == [
        ("buyers", "predictive", 3, 3, 0, 0),
        ("by_industry", "dynamic", 2, 2, 0, 2),
        ("vip", "static", 2, 2, 0, 1),
        ("buyers", "predictive", 0, 0, 3, 0),
        ("by_industry", "dynamic", 4, 2, 0, 2),
        ("vip", "static", 2, 0, 0, 1),
    ]
    assert {row[0] for row in history[3:]} == {second_at}
    assert table(
        fixture_warehouse, "SELECT DISTINCT segment_name FROM marts.segment_memberships ORDER BY 1"
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
        "SELECT profile_id FROM marts.segment_memberships WHERE segment_name = 'by_industry' ORDER BY 1",
    ) == [("p1",), ("p5",)]


def test_preview_counts_samples_and_reads_only(fixture_warehouse, tmp_path):
    path = segment_file(
        tmp_path / "segments", {"field": "lifecycle_stage", "op": "in", "value": ["lead", "customer"]}
    )
    preview = preview_segment(path, fixture_warehouse, sample_size=2, as_of=AS_OF)
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
    bad = segment_file(tmp_path / "bad", {"field": "industry", "op": "like", "value": "F%"})
    assert main(["segments", "preview", str(bad), "--warehouse", str(fixture_warehouse)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "unknown operator 'like'" in err and "allowed: eq, ne" in err
