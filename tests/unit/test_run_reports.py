"""The report objects the handoff and segment assets publish: plain values and Markdown, no Dagster."""

from datetime import UTC, datetime

from activation.handoff import HandoffReport
from segments import Conversion, SegmentReport, SegmentRun

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def test_a_handoff_report_counts_and_tabulates_what_the_run_did():
    report = HandoffReport(
        "run1",
        NOW,
        due=5,
        handed_off={"demo_request": 2, "score": 1},
        by_crm={"salesforce": 3},
        rules={"territory": 3},
        emails={"sent": 2, "queued": 1},
        skipped={"no rep": 2},
        owners_set=3,
        tasks_created=3,
        stale=1,
        errors=["HubSpot team 'EMEA' has no owner"],
    )

    metadata = report.metadata()
    assert metadata["due"] == 5 and metadata["handed_off"] == 3 and metadata["errors"] == 1
    assert (metadata["owners_set"], metadata["tasks_created"], metadata["stale_leads"]) == (3, 3, 1)
    assert all(isinstance(value, int) for value in metadata.values())
    lines = report.markdown().splitlines()
    assert lines[:2] == ["| | count |", "|---|---:|"]
    assert "| trigger demo_request | 2 |" in lines and "| crm salesforce | 3 |" in lines
    assert "| e-mail queued | 1 |" in lines and "| skipped: no rep | 2 |" in lines
    assert len(lines) == 2 + 2 + 1 + 1 + 2 + 1


def test_an_empty_handoff_run_is_an_empty_table():
    report = HandoffReport("run1", NOW)
    assert report.markdown() == "| | count |\n|---|---:|"
    assert report.metadata()["handed_off"] == 0


def test_segment_numbers_per_segment_leave_out_rates_that_could_not_be_measured():
    measured = Conversion("customer", 1, 0.5)
    unmeasured = Conversion("handoff", None, None, "no marts.lead_handoffs")
    report = SegmentReport(
        NOW,
        segments=[
            SegmentRun("vip", "static", 2, 1, 0, (measured, unmeasured)),
            SegmentRun("buyers", "dynamic", 3, 0, 2),
        ],
        errors=["broken.yml: unknown column"],
    )

    assert report.metadata() == {
        "segments": 2,
        "memberships": 5,
        "failed_definitions": 1,
        "warnings": 0,
        "size vip": 2,
        "entries vip": 1,
        "exits vip": 0,
        "customer rate vip": 0.5,
        "size buyers": 3,
        "entries buyers": 0,
        "exits buyers": 2,
    }
