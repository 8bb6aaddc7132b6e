"""One CRM sync of the warehouse (the two-way sync, or the write-back with one CRM) and its report."""

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from activation.run import run_sync
from activation.sync import SyncReport
from ingestion.hubspot import HubSpotConnection
from ingestion.salesforce.client import SalesforceConnection, connect
from revloop.warehouse import connect_warehouse


def sync_mode(salesforce: bool, hubspot: bool) -> str:
    """What the CRM sync does with the CRMs configured, in words for the logs and the metadata."""
    if salesforce and hubspot:
        return "two-way sync Salesforce <-> HubSpot, with the write-back to both"
    if salesforce or hubspot:
        crm, other = ("Salesforce", "HubSpot") if salesforce else ("HubSpot", "Salesforce")
        return f"write-back to {crm} only (the two-way sync starts when {other} is configured too)"
    return "not configured: set SALESFORCE_INSTANCE_URL and SALESFORCE_ACCESS_TOKEN, or HUBSPOT_ACCESS_TOKEN"


def _table_row(cells: list[object]) -> str:
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


@dataclass
class CrmSyncReport:
    """What a sync of every object did (or, in a dry run, would do), for run metadata."""

    mode: str
    reports: list[SyncReport] = field(default_factory=list)

    @property
    def ran(self) -> bool:
        """False when no CRM is configured (nothing was planned or sent)."""
        return bool(self.reports)

    @property
    def dry_run(self) -> bool:
        return any(report.dry_run for report in self.reports)

    @property
    def errors(self) -> list[str]:
        """Every object's errors, prefixed with the object."""
        return [f"{report.object_key}: {error}" for report in self.reports for error in report.errors]

    @property
    def notes(self) -> list[str]:
        """Every object's notes (what was left for later), prefixed with the object."""
        return [f"{report.object_key}: {note}" for report in self.reports for note in report.notes]

    def metadata(self) -> dict[str, object]:
        """Plain values: mode, dry run, records per status, API calls used (unless dry) and the minimum."""
        statuses: Counter[str] = Counter()
        for report in self.reports:
            statuses.update(report.statuses)
        minimum = sum(sum(report.api_calls_minimum.values()) for report in self.reports)
        values: dict[str, object] = {
            "mode": self.mode,
            "dry_run": self.dry_run,
            **{f"records_{status}": n for status, n in sorted(statuses.items())},
            "api_calls_minimum": minimum,
        }
        if not self.dry_run:
            values["api_calls_used"] = sum(sum(report.api_calls.values()) for report in self.reports)
        return values

    def records_markdown(self) -> str:
        """Records per object, CRM, CRM object, operation and status (planned ones in a dry run)."""
        lines = ["| object | CRM | CRM object | operation | status | records |", "|---|---|---|---|---|---:|"]
        for report in self.reports:
            rows = [(*key.split("."), n) for key, n in report.outcomes.items()]
            if self.dry_run:  # what would be sent: planned records per CRM and operation ('crm.operation')
                rows = [(*key.split("."), n) for key, n in report.plan.get("counts", {}).items()]
                rows = [(crm, "", operation, "planned", n) for crm, operation, n in rows]
            lines += [_table_row([report.object_key, *row]) for row in sorted(rows)]
        return "\n".join(lines)

    def api_calls_markdown(self) -> str:
        """API calls per object, CRM, CRM object and operation next to the fewest the writes could take."""
        lines = ["| object | CRM | CRM object | operation | calls | minimum |", "|---|---|---|---|---:|---:|"]
        for report in self.reports:
            minimum = report.api_calls_minimum
            for key in sorted(set(minimum) | set(report.api_calls)):
                used = "-" if self.dry_run else report.api_calls.get(key, 0)
                lines.append(_table_row([report.object_key, *key.split("."), used, minimum.get(key, 0)]))
        return "\n".join(lines)

    def plan(self) -> dict[str, Any]:
        """Each object's plan as JSON values (sample values may be dates or decimals: shown as text)."""
        plans = {report.object_key: report.plan for report in self.reports}
        return json.loads(json.dumps(plans, default=str))


def sync_crms(
    warehouse: Path,
    salesforce: SalesforceConnection | None,
    hubspot: HubSpotConnection | None,
    dry_run: bool = False,
    retry_refused: bool = False,
    changed_only: bool = False,
) -> CrmSyncReport:
    """Sync the warehouse with the CRMs configured (activation.run.run_sync); with none, nothing runs and the
    report's mode says what to set. retry_refused: writes a CRM refused are sent again even if unchanged.
    changed_only: only the pairs holding a record loaded since the last finished sync are planned."""
    mode = sync_mode(salesforce is not None, hubspot is not None)
    if salesforce is None and hubspot is None:
        return CrmSyncReport(mode)
    sf = connect(salesforce) if salesforce else None
    hs = hubspot.hubspot() if hubspot else None
    with connect_warehouse(warehouse) as connection:
        reports = run_sync(
            connection, sf, hs, dry_run=dry_run, retry_refused=retry_refused, changed_only=changed_only
        )
        return CrmSyncReport(mode, reports)
