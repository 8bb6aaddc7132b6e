"""An hourly HubSpot read asks only for what changed: no listing of whole objects, archives or owners."""

from datetime import UTC, datetime

from ingestion.hubspot import DATASET_NAME, PIPELINE_NAME, HubSpotConnection, hubspot_source
from revloop.warehouse import make_pipeline

T0 = datetime(2026, 6, 1, 9, tzinfo=UTC)


def _run(hs_sandbox, warehouse, full_reconciliation=False) -> None:
    connection = HubSpotConnection(hs_sandbox.token, hs_sandbox.url, str(hs_sandbox.ca_cert))
    pipeline = make_pipeline(PIPELINE_NAME, DATASET_NAME, warehouse)
    info = pipeline.run(hubspot_source(connection, full_reconciliation=full_reconciliation))
    assert not info.has_failed_jobs


def full_scans(requests) -> list[str]:
    """Requests that read a whole object (a list, an owners page, a search without a cursor filter)."""
    scans = []
    for r in requests:
        listing = r.path.startswith("/crm/v3/objects/") and r.path.count("/") == 4
        if r.method == "GET" and (listing or r.path.startswith("/crm/v3/owners")):
            scans.append(f"GET {r.path}?{r.query}")
        elif r.path.endswith("/search") and '"filters": [{' not in r.body and '"filters":[{' not in r.body:
            scans.append(f"POST {r.path}")
    return scans


def test_hourly_runs_read_by_cursor_and_the_reconciliation_lists_archives(hs_sandbox, warehouse):
    emulator = hs_sandbox.emulator
    for object_type, name in (("contacts", "email"), ("companies", "name"), ("deals", "dealname")):
        emulator.seed(object_type, [{"properties": {name: f"{object_type}{i}@x.io"}, "updatedAt": T0}
                                    for i in range(3)])
    _run(hs_sandbox, warehouse)
    first = len(emulator.request_log)
    assert full_scans(emulator.request_log)  # the first run reads everything once

    _run(hs_sandbox, warehouse)
    hourly = emulator.request_log[first:]
    assert full_scans(hourly) == []
    searches = [r for r in hourly if r.path.endswith("/search")]
    assert sorted(r.path.split("/")[4] for r in searches) == ["companies", "contacts", "deals"]

    second = len(emulator.request_log)
    _run(hs_sandbox, warehouse, full_reconciliation=True)
    reconciliation = full_scans(emulator.request_log[second:])
    archives = [s for s in reconciliation if "/objects/" in s and "archived=true" in s.lower()]
    assert len(archives) == 3  # one listing per object
    assert any("/owners" in s for s in reconciliation)
