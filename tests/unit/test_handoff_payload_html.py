"""The handoff e-mail's HTML part: each value lands in its own table cell, escaped, whatever it holds."""

from html.parser import HTMLParser

import pytest

from activation.handoff.payload import html_page, html_sections, render_html


class _Cells(HTMLParser):
    """The text of every table cell, table by table (entities decoded)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.tables[-1][-1].append("".join(self.cell))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def _payload(value: str) -> dict:
    return {
        "profile": {"profile_id": "p1", "email": "ann@x.io", "job_title": value, "score": 640},
        "score_breakdown": [{"factor": value, "points": -2.5}],
        "marketing_touchpoints": [],
        "interaction_log": [
            {"occurred_at": "2026-06-01T12:00", "channel": "web", "event_name": value, "properties": {}},
        ],
        "interaction_count": 1,
    }


@pytest.mark.parametrize(
    "value",
    [
        "plain",
        "<script>alert('x')</script> & \"quotes\"",
        "a\x1fcell\x1erow separator",  # what the one-pass escaping joins cells with: the value stays whole
        "",
    ],
)
def test_every_value_is_one_escaped_cell(value):
    page = render_html(_payload(value), "score trigger: 640 >= 500", intro="You have a new lead <b>")
    assert "<script>" not in page and "&lt;b&gt;" in page
    parser = _Cells()
    parser.feed(page)
    profile, factors, touchpoints, log = parser.tables
    shown = value or "-"
    assert profile[1:] == [
        ["profile_id", "p1"],
        ["email", "ann@x.io"],
        ["job_title", shown],
        ["score", "640"],
    ]
    assert factors[1:] == [[value, "-2.5"]]
    assert touchpoints[1:] == []
    assert log[1:] == [["2026-06-01T12:00", "web", value, ""]]


def test_one_rendering_serves_mails_with_different_intros():
    sections = html_sections(_payload("x"), "why")
    assert html_page(sections, "For the rep.") == render_html(_payload("x"), "why", intro="For the rep.")
    assert html_page(sections) == render_html(_payload("x"), "why")
