"""The segment builder's HTTP API on the fixture warehouse (werkzeug test client)."""

import yaml
from werkzeug.test import Client

from segments.builder import Builder
from segments.definitions import load_segment
from tests.integration.test_segments_engine import fixture_warehouse  # noqa: F401 (pytest fixture)

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
    assert by_name["lead_score"]["kind"] == "numeric" and "contains" not in by_name["lead_score"]["operators"]
    assert "starts_with" in by_name["job_title"]["operators"]
    assert fields["events"] == ["Demo Requested", "Order Completed"]
    assert fields["conversions"] == ["handoff", "opportunity", "order", "customer"]
    assert fields["scores"] == ["lead_score", "churn_risk", "purchase_likelihood", "engagement_potential"]


def test_live_preview_and_errors(fixture_warehouse, tmp_path):  # noqa: F811
    app = client(fixture_warehouse, tmp_path)
    body = app.post("/api/preview", json={"segment": SEGMENT}).json
    assert (body["count"], body["total"]) == (4, 6)
    assert [row["profile_id"] for row in body["sample"]] == ["p1", "p2", "p5", "p6"]
    assert body["metric"] == "opportunity rate" and body["base"] == 0.25 and body["note"] is None
    customer = app.post("/api/preview", json={"segment": SEGMENT, "conversion": "customer"}).json
    assert (customer["metric"], customer["base"]) == ("customer rate", 0.5)
    handoff = app.post("/api/preview", json={"segment": SEGMENT, "conversion": "handoff"}).json
    assert handoff["note"] == "handoff conversion unavailable: marts.lead_handoffs is not in the warehouse"
    unknown = app.post("/api/preview", json={"segment": SEGMENT, "conversion": "sales"})
    assert unknown.status_code == 400 and "unknown conversion 'sales'" in unknown.json["error"]
    bad = dict(SEGMENT, rules={"all": [{"field": "industry", "op": "like", "value": "F%"}]})
    response = app.post("/api/preview", json={"segment": bad})
    assert response.status_code == 400 and "unknown operator 'like'" in response.json["error"]


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
