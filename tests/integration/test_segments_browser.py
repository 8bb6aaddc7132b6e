"""The segment builder page driven in headless Chromium (Debian's package) through Playwright."""

import threading
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
import yaml
from werkzeug.serving import make_server

from revloop.config.segments import Condition
from segments.builder import Builder
from segments.definitions import load_segment
from tests.fixtures.browser import CHROMIUM, CHROMIUM_ARGS, PNG_SIGNATURE, require_browser
from tests.integration.test_segments_engine import fixture_warehouse  # noqa: F401 (pytest fixture)


@pytest.fixture
def builder_url(fixture_warehouse, tmp_path) -> Iterator[str]:  # noqa: F811
    """The builder on the fixture warehouse, served on a free 127.0.0.1 port until the test ends."""
    builder = Builder(fixture_warehouse, tmp_path)
    server = make_server("127.0.0.1", 0, builder, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="segment-builder", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/?token={builder.token}"  # as `make builder` prints it
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


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
            rule.locator("select.field").select_option("lead_score")
            operators = rule.locator("select.op option").all_text_contents()
            assert "gte" in operators and "contains" not in operators  # numeric column: no text matches
            rule.locator("select.op").select_option("gte")
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
