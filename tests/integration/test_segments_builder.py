"""The segment builder's HTTP API on the fixture warehouse (werkzeug test client)."""

import duckdb
import yaml
from werkzeug.test import Client

from segments.builder import Builder
from segments.compiler import compile_segment, profile_columns
from segments.conversions import customer_query
from segments.definitions import load_segment
from segments.suggestions import suggest
from tests.integration.test_segments_engine import AS_OF, fixture_warehouse  # noqa: F401 (pytest fixture)

SEGMENT = {
    "name": "built_in_browser",
    "type": "dynamic",
    "description": "made in the builder",
    "owner": "analyst",
    "rules": {"all": [{"field": "industry", "op": "in", "value": ["Finance", "Technology"]}]},
}


TOKEN = "builder-test-token"


class TokenClient(Client):
    """A test client that shows the builder's token on every request, as the page does."""

    def open(self, *args, **kwargs):
        kwargs["headers"] = {"X-Revloop-Token": TOKEN, **dict(kwargs.get("headers") or {})}
        return super().open(*args, **kwargs)


def client(warehouse, config) -> Client:
    return TokenClient(Builder(warehouse, config, token=TOKEN))


def test_page_and_field_catalogue(fixture_warehouse, tmp_path):  # noqa: F811
    app = client(fixture_warehouse, tmp_path)
    page = app.get(f"/?token={TOKEN}")
    assert page.status_code == 200 and "Segment builder" in page.text and "/api/preview" in page.text
    fields = app.get("/api/fields").json
    by_name = {f["name"]: f for f in fields["fields"]}
    operators = {name: {o["op"]: o["value"] for o in f["operators"]} for name, f in by_name.items()}
    assert by_name["lead_score"]["kind"] == "numeric" and "contains" not in operators["lead_score"]
    assert operators["lead_score"]["gte"] == "integer" and operators["churn_risk"]["gte"] == "number"
    assert operators["employee_count"]["in"] == "list" and operators["job_title"]["is_null"] == "none"
    assert (
        operators["job_title"]["starts_with"] == "text" and operators["last_seen_at"]["within_days"] == "days"
    )
    assert operators["is_customer"] == {
        "eq": "boolean",
        "ne": "boolean",
        "is_null": "none",
        "not_null": "none",
    }
    # families come from the profile model's docs: a column the docs call firmographic is filed there
    assert by_name["employee_count"]["family"] == "firmographic"
    assert by_name["churn_risk"]["family"] == "predictive" and by_name["churn_risk"]["description"]
    families = {f["name"]: f["description"] for f in fields["families"]}
    assert {
        "demographic",
        "firmographic",
        "behavioural",
        "technographic",
        "psychographic",
        "predictive",
    } <= set(families)
    assert all(families.values())
    # filed by segments.definitions.FAMILIES, not by the page
    assert by_name["country"]["family"] == "demographic" and by_name["job_title"]["family"] == "firmographic"
    assert fields["types"] == ["static", "dynamic", "predictive"]
    assert fields["events"] == ["Demo Requested", "Order Completed"]
    assert fields["conversions"] == ["handoff", "opportunity", "order", "customer"]
    assert fields["scores"] == ["lead_score", "churn_risk", "purchase_likelihood", "engagement_potential"]


def test_live_preview_and_errors(fixture_warehouse, tmp_path):  # noqa: F811
    app = client(fixture_warehouse, tmp_path)
    body = app.post("/api/preview", json={"segment": SEGMENT}).json
    assert (body["count"], body["total"]) == (4, 6)
    assert [row["profile_id"] for row in body["sample"]] == ["p1", "p2", "p5", "p6"]
    assert body["metric"] == "opportunity rate" and body["base"] == 0.25 and body["suggestions"] == []
    # six profiles cannot be split into groups of ten: the page says so rather than showing nothing
    assert body["note"] == (
        "no suggestions: the segment has 4 members; a suggestion must keep at least 10 of them and leave "
        "some out, so it is too small to split"
    )
    customer = app.post("/api/preview", json={"segment": SEGMENT, "conversion": "customer"}).json
    assert (customer["metric"], customer["base"]) == ("customer rate", 0.5)
    handoff = app.post("/api/preview", json={"segment": SEGMENT, "conversion": "handoff"}).json
    assert handoff["note"].startswith(
        "handoff conversion unavailable: marts.lead_handoffs is not in the warehouse; no suggestions: "
    )
    unknown = app.post("/api/preview", json={"segment": SEGMENT, "conversion": "sales"})
    assert unknown.status_code == 400 and "unknown conversion 'sales'" in unknown.json["error"]
    bad = dict(SEGMENT, rules={"all": [{"field": "industry", "op": "like", "value": "F%"}]})
    response = app.post("/api/preview", json={"segment": bad})
    assert response.status_code == 400 and "unknown operator 'like'" in response.json["error"]
    [problem] = response.json["problems"]
    assert problem["where"] == "rules.all[0]" and problem["message"].startswith("unknown operator 'like'")


def test_problems_name_the_setting_or_rule_in_words(fixture_warehouse, tmp_path):  # noqa: F811
    app = client(fixture_warehouse, tmp_path)
    nested = {
        "all": [
            {"field": "industry", "op": "eq", "value": "Finance"},
            {"any": [{"event": "Demo Requested"}, {"not": {"score": "lead_score"}}]},
        ]
    }
    bad = dict(SEGMENT, name="Bad Name", description="", rules=nested)
    response = app.post("/api/preview", json={"segment": bad})
    assert response.status_code == 400
    problems = {p["where"]: p["message"] for p in response.json["problems"]}
    assert problems == {
        "name": "lower-case letters, digits and _ only, starting with a letter",
        "description": "required",
        "rules.all[1].any[0]": "within_days: required",
    }
    # the compiler's errors point at the rule too; no file name (the segment is not saved yet)
    unknown = dict(
        SEGMENT,
        rules={
            "any": [
                {"field": "industry", "op": "eq", "value": "x"},
                {"not": {"field": "no_column", "op": "eq", "value": 1}},
            ]
        },
    )
    response = app.post("/api/save", json={"segment": unknown})
    [problem] = response.json["problems"]
    assert problem["where"] == "rules.any[1].not"
    assert problem["message"].startswith("unknown field 'no_column'; allowed: profile_id, email")
    assert ".yml" not in response.json["error"] and str(tmp_path) not in response.json["error"]
    # a family label the criteria do not bear out is shown beside the family picker
    mislabelled = dict(SEGMENT, family="technographic")
    [problem] = app.post("/api/preview", json={"segment": mislabelled}).json["problems"]
    assert problem["where"] == "family" and "firmographic" in problem["message"]
    static = {
        "name": "vip",
        "type": "static",
        "description": "d",
        "owner": "o",
        "members": ["p1"],
        "review_by": "31/12/2027",
    }
    problems = app.post("/api/preview", json={"segment": static}).json["problems"]
    assert problems == [{"where": "review_by", "message": "a date like 2027-03-31"}]
    del static["review_by"]
    problems = app.post("/api/preview", json={"segment": static}).json["problems"]
    assert problems == [
        {
            "where": "review_by",
            "message": "a static segment needs review_by (the date its list must be checked again)",
        }
    ]


def test_segments_open_from_the_config_folder_only(fixture_warehouse, tmp_path):  # noqa: F811
    app = client(fixture_warehouse, tmp_path)
    assert app.post("/api/save", json={"segment": SEGMENT}).status_code == 200
    (tmp_path / "secret.yml").write_text("name: secret\n")
    assert app.get("/api/segments").json == {"segments": ["built_in_browser"]}
    assert app.get("/api/segments/built_in_browser").json == {"segment": SEGMENT}
    for name in ("..%2Fsecret", "../secret", "Secret", "missing"):
        assert app.get(f"/api/segments/{name}").status_code == 404, name
    assert Client(Builder(fixture_warehouse, tmp_path, token=TOKEN)).get("/api/segments").status_code == 401


def test_save_writes_yaml_that_loads_back(fixture_warehouse, tmp_path):  # noqa: F811
    app = client(fixture_warehouse, tmp_path)
    saved = app.post("/api/save", json={"segment": SEGMENT})
    assert saved.status_code == 200
    path = tmp_path / "segments" / "built_in_browser.yml"
    assert yaml.safe_load(path.read_text()) == SEGMENT
    assert load_segment(path).segment.name == "built_in_browser"
    again = app.post("/api/save", json={"segment": SEGMENT})
    assert again.status_code == 409
    assert app.post("/api/save", json={"segment": SEGMENT, "overwrite": True}).status_code == 200
    unknown = dict(SEGMENT, name="other", rules={"field": "no_column", "op": "eq", "value": 1})
    response = app.post("/api/save", json={"segment": unknown})
    assert response.status_code == 400 and "unknown field 'no_column'" in response.json["error"]
    assert not (tmp_path / "segments" / "other.yml").exists()


def test_suggestions_do_not_repeat_and_keep_integer_limits_whole(fixture_warehouse, tmp_path):  # noqa: F811
    con = duckdb.connect(str(fixture_warehouse))
    # the company's industry says what the person's does: the same condition twice under two names
    con.execute("ALTER TABLE marts.customer_profiles ADD COLUMN company_industry VARCHAR")
    con.execute("UPDATE marts.customer_profiles SET company_industry = industry")
    con.close()
    path = tmp_path / "everyone.yml"
    path.write_text(yaml.safe_dump(dict(SEGMENT, rules={"field": "profile_id", "op": "not_null"})))
    con = duckdb.connect(str(fixture_warehouse), read_only=True)
    try:
        columns = profile_columns(con)
        compiled = compile_segment(load_segment(path), columns, AS_OF)
        found = suggest(con, compiled, columns, customer_query(columns), AS_OF, min_members=1)
    finally:
        con.close()
    assert found.items and found.note is None
    values = [s.rule["value"] for s in found.items if "field" in s.rule and s.rule["op"] == "eq"]
    assert "Technology" in values and len(values) == len(set(values))  # industry or company_industry, once
    # lead_score is INTEGER: its 75% quantile 76.25 becomes the whole-number limit 77
    assert {"score": "lead_score", "min": 77} in [s.rule for s in found.items]
    limits = [s.rule for s in found.items if s.rule.get("score") == "lead_score" or s.rule.get("op") == "gte"]
    assert all(isinstance(r.get("min", r.get("value")), int) for r in limits), limits
    texts = [s.describe() for s in found.items]
    assert all("{" not in t for t in texts) and any(t.startswith("add industry is Technology") for t in texts)
