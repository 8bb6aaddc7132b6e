"""The segment builder page driven in headless Chromium (Debian's package) through Playwright."""

import contextlib
import datetime as dt
import functools
import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
import yaml
from werkzeug.serving import make_server

from revloop.config.segments import Condition
from segments.builder import Builder
from segments.compiler import compile_segment, profile_columns
from segments.definitions import load_segment
from segments.suggestions import suggest
from tests.fixtures.browser import CHROMIUM, CHROMIUM_ARGS, PNG_SIGNATURE, require_browser
from tests.integration.test_segments_engine import fixture_warehouse  # noqa: F401 (pytest fixture)


@contextlib.contextmanager
def served(builder: Builder) -> Iterator[str]:
    """A builder served on a free 127.0.0.1 port; yields the URL it would print."""
    server = make_server("127.0.0.1", 0, builder, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="segment-builder", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/?token={builder.token}"  # as `make builder` prints it
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def builder_url(fixture_warehouse, tmp_path) -> Iterator[str]:  # noqa: F811
    """The builder on the fixture warehouse, served until the test ends."""
    with served(Builder(fixture_warehouse, tmp_path)) as url:
        yield url


def profiles_where(warehouse: Path, condition: str) -> list[str]:
    """The profile ids a hand-written SQL filter selects, in id order: the truth the page must show."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        sql = f"SELECT profile_id FROM marts.customer_profiles WHERE {condition} ORDER BY profile_id"
        return [row[0] for row in con.execute(sql).fetchall()]
    finally:
        con.close()


def sample_ids(page) -> list[str]:
    """The profile_id column of the sample table as rendered."""
    return page.eval_on_selector(
        "#sample",
        """(table) => {
            const rows = [...table.rows];
            if (!rows.length) return [];
            const at = [...rows[0].cells].findIndex((c) => c.textContent === "profile_id");
            return rows.slice(1).map((r) => r.cells[at].textContent);
        }""",
    )


def test_builder_in_headless_chromium(builder_url, fixture_warehouse, tmp_path):  # noqa: F811
    require_browser("the segment builder")
    from playwright.sync_api import expect, sync_playwright

    scoring = profiles_where(fixture_warehouse, "lead_score >= 40")
    hot = profiles_where(fixture_warehouse, "lead_score >= 80")
    total = len(profiles_where(fixture_warehouse, "true"))
    assert len(scoring) > len(hot) > 0  # the two steps must differ, or "the count updated" proves nothing

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(10_000)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(builder_url)
            expect(page.locator("h1")).to_have_text("Segment builder")
            # the field catalogue arrives by fetch; rules can only be built once it is there
            page.wait_for_function("() => catalogue !== null && catalogue.fields.length > 0")

            page.click("#add-field")
            rule = page.locator("#rules .rule").first
            # a new rule starts empty, with a field picker grouped by criteria family
            assert rule.locator("select.field").input_value() == ""
            expect(rule.locator(".problem")).to_have_text("choose a field")
            assert page.locator("#rules optgroup[label=predictive] option[value=lead_score]").count() == 1
            rule.locator("select.field").select_option("lead_score")
            operators = rule.locator("select.op option").evaluate_all("(os) => os.map((o) => o.value)")
            assert "gte" in operators and "contains" not in operators  # numeric column: no text matches
            assert "is at least" in rule.locator("select.op option").all_text_contents()
            rule.locator("select.op").select_option("gte")
            assert rule.locator("input.value").get_attribute("step") == "1"  # an integer column
            rule.locator("input.value").fill("40")
            expect(page.locator("#count")).to_have_text(f"count: {len(scoring)} of {total} profiles")
            assert sample_ids(page) == scoring

            # editing the value re-runs the preview: count and sample follow without a reload
            rule.locator("input.value").fill("80")
            expect(page.locator("#count")).to_have_text(f"count: {len(hot)} of {total} profiles")
            assert sample_ids(page) == hot
            assert page.locator("#error").text_content() == ""

            # the suggestions aim at the conversion picked: its rate in the segment is shown
            customers = profiles_where(fixture_warehouse, "lead_score >= 80 AND lifecycle_stage = 'customer'")
            assert 0 < len(customers) < len(hot)
            page.select_option("#conversion", "customer")
            expect(page.locator("#metric")).to_have_text(
                f"customer rate: {100 * len(customers) / len(hot):.1f}%"
            )

            page.fill("#name", "hot_leads_from_browser")
            page.fill("#owner", "analyst")
            page.fill("#description", "lead score of at least 80, built in the browser")
            page.click("#save")
            expect(page.locator("#saved")).to_contain_text("saved ")
            path = tmp_path / "segments" / "hot_leads_from_browser.yml"
            expect(page.locator("#saved")).to_contain_text(str(path))

            # saving the same name again must not silently overwrite the file; the tick box allows it
            page.click("#save")
            expect(page.locator("#error")).to_contain_text("exists; tick overwrite")
            page.check("#overwrite")
            page.click("#save")
            expect(page.locator("#saved")).to_contain_text(str(path))
            expect(page.locator("#error")).to_have_text("")

            screenshot = tmp_path / "builder.png"
            page.screenshot(path=str(screenshot), full_page=True)
            assert errors == []
        finally:
            browser.close()

    assert yaml.safe_load(path.read_text()) == {
        "name": "hot_leads_from_browser",
        "type": "dynamic",
        "description": "lead score of at least 80, built in the browser",
        "owner": "analyst",
        "rules": {"all": [{"field": "lead_score", "op": "gte", "value": 80}]},
    }
    loaded = load_segment(path)
    assert loaded.segment.name == "hot_leads_from_browser" and loaded.segment.type == "dynamic"
    assert loaded.segment.rules.all == [Condition(field="lead_score", op="gte", value=80)]
    image = screenshot.read_bytes()
    assert len(image) > 1000 and image.startswith(PNG_SIGNATURE)


@pytest.fixture
def chromium_page():
    """A fresh page in headless Chromium; page errors are collected in page.errors."""
    require_browser("the segment builder")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(10_000)
            page.errors = []
            page.on("pageerror", lambda exc: page.errors.append(str(exc)))
            yield page
        finally:
            browser.close()


def opened(page, url):
    page.goto(url)
    page.wait_for_function("() => catalogue !== null && catalogue.fields.length > 0")
    return page


SHIPPED = sorted((Path(__file__).parents[2] / "config" / "segments").glob("*.yml"))


def conditions(rule) -> Iterator[dict]:
    """Every field condition of a rule tree as the YAML holds it."""
    if isinstance(rule, dict):
        if "field" in rule:
            yield rule
        for child in [*rule.get("all", []), *rule.get("any", []), *([rule["not"]] if "not" in rule else [])]:
            yield from conditions(child)


def add_fields_of(warehouse: Path, paths: list[Path]) -> None:
    """Add to the fixture's profile table the columns the given segment files use and it lacks: BIGINT where
    a rule compares it with whole numbers, else VARCHAR."""
    types: dict[str, str] = {}
    for path in paths:
        for rule in conditions(yaml.safe_load(path.read_text()).get("rules")):
            value = rule.get("value")
            first = value[0] if isinstance(value, list) else value
            whole = isinstance(first, int) and not isinstance(first, bool)
            if whole or types.get(rule["field"]) != "BIGINT":
                types[rule["field"]] = "BIGINT" if whole else "VARCHAR"
    con = duckdb.connect(str(warehouse))
    try:
        have = {row[0] for row in con.execute("DESCRIBE marts.customer_profiles").fetchall()}
        for field, sql_type in types.items():
            if field not in have:
                con.execute(f'ALTER TABLE marts.customer_profiles ADD COLUMN "{field}" {sql_type}')
    finally:
        con.close()


def test_every_shipped_segment_round_trips_through_the_page(chromium_page, fixture_warehouse, tmp_path):  # noqa: F811
    """Each segment of config/segments, opened in the builder and saved, is the same definition."""
    from playwright.sync_api import expect

    folder = tmp_path / "segments"
    shutil.copytree(SHIPPED[0].parent, folder)
    add_fields_of(fixture_warehouse, SHIPPED)  # saving compiles the rules: their columns must exist
    builder = Builder(fixture_warehouse, tmp_path)
    with served(builder) as url:
        page = opened(chromium_page, url)
        assert page.locator("#open option").all_text_contents()[1:] == [p.stem for p in SHIPPED]
        for path in SHIPPED:
            page.select_option("#open", path.stem)
            expect(page.locator("#name")).to_have_value(path.stem)
            shown = page.evaluate("() => definition()")
            original = yaml.safe_load(path.read_text())
            assert shown == json.loads(json.dumps(original, default=str)), path.name
            (folder / path.name).unlink()
            page.click("#save")
            expect(page.locator("#saved")).to_contain_text(f"saved {folder / path.name}")
            assert yaml.safe_load((folder / path.name).read_text()) == original, path.name
        assert page.errors == []


def test_nested_groups_static_lists_events_and_pages(chromium_page, fixture_warehouse, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    builder = Builder(fixture_warehouse, tmp_path)
    with served(builder) as url:
        page = opened(chromium_page, url)
        total = len(profiles_where(fixture_warehouse, "true"))
        page.fill("#name", "nested_in_browser")
        page.fill("#owner", "analyst")
        page.fill("#description", "Technology, or a demo request, or a pricing page, but not a customer")
        page.click("#add-field")
        first = page.locator("#rules .rule").first
        first.locator("select.field").select_option("lifecycle_stage")
        first.locator("select.op").select_option("ne")
        first.locator("input.value").fill("customer")
        first.locator("input.not").check()  # not (stage is not customer) = customer: unticked again below
        first.locator("input.not").uncheck()
        page.click("#add-group")
        nested = page.locator("#rules .group .group").first
        nested.locator("button.add-field").click()
        inner = nested.locator(".rule").nth(0)
        inner.locator("select.field").select_option("industry")
        inner.locator("select.op").select_option("in")
        inner.locator("input.item").first.fill("Technology")
        inner.locator("button", has_text="+ value").click()
        inner.locator("input.item").nth(1).fill("Retail")
        nested.locator("button.add-event").click()
        event = nested.locator(".rule").nth(1)
        event.locator("input.event").fill("Demo Requested")
        event.locator("input.within_days").fill("60")
        nested.locator("button.add-page").click()
        nested.locator(".rule").nth(2).locator("input.page_path_prefix").fill("/pricing")
        expected = {
            "all": [
                {"field": "lifecycle_stage", "op": "ne", "value": "customer"},
                {
                    "any": [
                        {"field": "industry", "op": "in", "value": ["Technology", "Retail"]},
                        {"event": "Demo Requested", "at_least": 1, "within_days": 60},
                        {"page_path_prefix": "/pricing", "at_least": 1, "within_days": 30},
                    ]
                },
            ]
        }
        assert page.evaluate("() => definition().rules") == expected
        # "not" wraps the rule it is ticked on, and the page reads it back from YAML the same way
        event.locator("input.not").check()
        negated = page.evaluate("() => definition().rules")
        assert negated["all"][1]["any"][1] == {
            "not": {"event": "Demo Requested", "at_least": 1, "within_days": 60}
        }
        page.evaluate("(rules) => load({...definition(), rules})", negated)
        assert page.evaluate("() => definition().rules") == negated
        assert page.locator("#rules .group .group .rule").nth(1).locator("input.not").is_checked()
        page.locator("#rules .group .group .rule").nth(1).locator("input.not").uncheck()
        assert page.evaluate("() => definition().rules") == expected
        path = tmp_path / "segments" / "nested.yml"
        path.parent.mkdir(exist_ok=True)
        path.write_text(
            yaml.safe_dump(
                {"name": "nested", "type": "dynamic", "description": "d", "owner": "o", "rules": expected}
            )
        )
        con = duckdb.connect(str(fixture_warehouse), read_only=True)
        try:  # the page counts as of now: so does the truth
            compiled = compile_segment(load_segment(path), profile_columns(con), dt.datetime.now(dt.UTC))
            count = con.execute(
                f"SELECT count(*) FROM ({compiled.select()})", list(compiled.params)
            ).fetchone()[0]
        finally:
            con.close()
        assert count > 0
        expect(page.locator("#count")).to_have_text(f"count: {count} of {total} profiles")
        assert page.locator("#error").text_content() == ""

        # a static list: members one a line and a review date; no rules box
        page.select_option("#type", "static")
        expect(page.locator("#rules-box")).to_be_hidden()
        page.fill("#members", "p1\nP2@EXAMPLE.COM\n")
        page.fill("#review_by", "2027-06-30")
        page.fill("#name", "static_in_browser")
        page.click("#save")
        expect(page.locator("#saved")).to_contain_text("saved ")
        saved = yaml.safe_load((tmp_path / "segments" / "static_in_browser.yml").read_text())
        assert saved["members"] == ["p1", "P2@EXAMPLE.COM"] and saved["review_by"] == dt.date(2027, 6, 30)
        assert "rules" not in saved and load_segment(tmp_path / "segments" / "static_in_browser.yml")
        assert page.errors == []


def test_errors_beside_their_field_and_suggestions_in_words(chromium_page, fixture_warehouse, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    builder = Builder(fixture_warehouse, tmp_path)
    with served(builder) as url:
        page = opened(chromium_page, url)
        page.fill("#name", "Bad Name")
        page.fill("#owner", "analyst")
        page.fill("#description", "d")
        page.click("#add-group")
        page.locator("#rules .group .group button.add-score").click()
        score = page.locator("#rules .group .group .rule").first
        score.locator("input.min").fill("0.9")
        score.locator("input.max").fill("0.1")
        expect(page.locator('.problem[data-for="name"]')).to_have_text(
            "lower-case letters, digits and _ only, starting with a letter"
        )
        page.fill("#name", "good_name")
        expect(score.locator(".problem")).to_contain_text("min (0.9) is above max (0.1)")
        expect(score.locator(".problem")).to_have_text("min (0.9) is above max (0.1)")  # words, no file name
        expect(page.locator('.problem[data-for="name"]')).to_have_text("")
        assert score.locator("input.min").get_attribute("aria-invalid") == "true"

        # a segment of six profiles is too small to split: the page says why there is no suggestion
        score.locator("select.score").select_option("purchase_likelihood")
        score.locator("input.min").fill("0")
        score.locator("input.max").fill("1")
        expect(page.locator("#note")).to_contain_text("no suggestions: the segment has")
        expect(page.locator("#note")).to_contain_text("too small to split")
        assert page.locator("#suggestions li").count() == 0
        assert page.errors == []


def test_suggestions_are_readable_rules_with_their_lift(
    chromium_page,
    fixture_warehouse,  # noqa: F811
    tmp_path,
    monkeypatch,
):
    from playwright.sync_api import expect

    # six profiles: let groups of one count, so that the fixture warehouse has something to suggest
    monkeypatch.setattr("segments.preview.suggest", functools.partial(suggest, min_members=1))
    builder = Builder(fixture_warehouse, tmp_path)
    with served(builder) as url:
        page = opened(chromium_page, url)
        page.fill("#owner", "analyst")
        page.fill("#description", "d")
        page.click("#add-field")
        rule = page.locator("#rules .rule").first
        rule.locator("select.field").select_option("lead_score")
        rule.locator("select.op").select_option("not_null")
        page.select_option("#conversion", "customer")
        expect(page.locator("#suggestions li").first).to_be_visible()
        texts = page.locator("#suggestions li strong").all_text_contents()
        assert texts and all("{" not in t and "'" not in t for t in texts), texts
        assert len(texts) == len(set(texts))
        first = page.locator("#suggestions li").first
        assert "lift ×" in first.text_content() and " member" in first.text_content()
        first.locator("button").click()
        assert len(page.evaluate("() => definition().rules.all")) == 2
        assert page.errors == []
