"""Dagster metadata of the CRM sync: records per object/CRM/operation/status, API calls, dry-run plan."""

from datetime import date

from activation.plan import Plan, RecordWrite
from activation.sync import SyncReport
from orchestration.defs.activation import sync_metadata


def _plan() -> Plan:
    deal = RecordWrite(
        "hubspot", "deals", "update", "d1", "9", {"closedate": "2026-11-01"}, {"closedate": date(2026, 1, 1)}
    )
    leads = [
        RecordWrite("salesforce", "Lead", "update", f"p{i}", f"00Q{i}", {"Title": "CEO"}) for i in range(250)
    ]
    writes = [deal, *leads]
    return Plan("contact", writes)


def test_sent_sync_counts_outcomes_and_calls_against_the_minimum():
    plan = _plan()
    report = SyncReport(
        "run1",
        "contact",
        False,
        plan.summary(),
        statuses={"updated": 250, "failed": 1},
        outcomes={
            "salesforce.Lead.update.updated": 249,
            "salesforce.Lead.update.failed": 1,
            "hubspot.deals.update.updated": 1,
        },
        api_calls={"salesforce.Lead.update": 3, "hubspot.deals.update": 1},
    )
    metadata = sync_metadata([report])
    assert metadata["records_updated"] == 250 and metadata["records_failed"] == 1
    assert (metadata["api_calls_used"], metadata["api_calls_minimum"]) == (4, 3)  # ceil(250/200) + 1
    assert "| contact | salesforce | Lead | update | failed | 1 |" in metadata["records"].value
    assert "| contact | salesforce | Lead | update | 3 | 2 |" in metadata["api_calls"].value
    assert "plan" not in metadata and metadata["dry_run"] is False


def test_dry_run_shows_the_plan_and_what_it_would_send():
    report = SyncReport("run1", "contact", True, _plan().summary())
    metadata = sync_metadata([report])
    assert metadata["dry_run"] is True and "api_calls_used" not in metadata
    assert "| contact | salesforce |  | update | planned | 250 |" in metadata["records"].value
    plan = metadata["plan"].value["contact"]
    assert plan["counts"] == {"salesforce.update": 250, "hubspot.update": 1}
    assert plan["api_calls"] == {"hubspot.deals.update": 1, "salesforce.Lead.update": 2}
    # a date among the sample values is shown as text, so the metadata stays JSON
    assert plan["sample_diffs"][0]["changes"] == {"closedate": ["2026-01-01", "2026-11-01"]}
