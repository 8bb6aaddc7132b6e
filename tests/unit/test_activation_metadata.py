"""Dagster metadata of the CRM sync: records per object/CRM/operation/status, API calls, dry-run plan."""

from datetime import date

from activation.crm_sync import CrmSyncReport, sync_crms, sync_mode
from activation.plan import Plan, RecordWrite
from activation.sync import SyncReport
from orchestration.defs.activation import sync_metadata

MODE = sync_mode(salesforce=True, hubspot=True)


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
    metadata = sync_metadata(CrmSyncReport(MODE, [report]))
    assert metadata["records_updated"] == 250 and metadata["records_failed"] == 1
    assert (metadata["api_calls_used"], metadata["api_calls_minimum"]) == (4, 3)  # ceil(250/200) + 1
    assert "| contact | salesforce | Lead | update | failed | 1 |" in metadata["records"].value
    assert "| contact | salesforce | Lead | update | 3 | 2 |" in metadata["api_calls"].value
    assert "plan" not in metadata and metadata["dry_run"] is False


def test_dry_run_shows_the_plan_and_what_it_would_send():
    report = SyncReport("run1", "contact", True, _plan().summary())
    metadata = sync_metadata(CrmSyncReport(MODE, [report]))
    assert metadata["dry_run"] is True and "api_calls_used" not in metadata
    assert "| contact | salesforce |  | update | planned | 250 |" in metadata["records"].value
    plan = metadata["plan"].value["contact"]
    assert plan["counts"] == {"salesforce.update": 250, "hubspot.update": 1}
    assert plan["api_calls"] == {"hubspot.deals.update": 1, "salesforce.Lead.update": 2}
    # a date among the sample values is shown as text, so the metadata stays JSON
    assert plan["sample_diffs"][0]["changes"] == {"closedate": ["2026-01-01", "2026-11-01"]}


def test_the_mode_names_what_runs_and_what_to_set():
    assert sync_mode(True, True).startswith("two-way sync")
    assert sync_mode(False, True).startswith("write-back to HubSpot only")
    assert "Salesforce is configured too" in sync_mode(False, True)
    assert sync_mode(False, False).startswith("not configured: set SALESFORCE_INSTANCE_URL")


def test_without_a_crm_nothing_runs_and_the_report_says_what_to_set(tmp_path):
    report = sync_crms(tmp_path / "warehouse.duckdb", None, None)
    assert not report.ran and report.errors == []
    assert report.mode == sync_mode(False, False)
    assert not (tmp_path / "warehouse.duckdb").exists(), "no warehouse connection is opened"


def test_errors_name_their_object():
    failing = SyncReport("run1", "deal", False, {}, errors=["HubSpot said 400"])
    report = CrmSyncReport(MODE, [SyncReport("run1", "contact", False, {}), failing])
    assert report.errors == ["deal: HubSpot said 400"]
    assert sync_metadata(report)["mode"] == MODE
