"""Quarantine rate of a source's last load: records it refused over records it read (refused + loaded).

The last load is the dlt pipeline's last trace beside the warehouse: its normalized row counts (top-level
tables) are the records loaded, and quarantine.rejected_records rows of the source (`salesforce`,
`hubspot.<object>`, `events.<channel>`) refused while that run ran are the records refused.
"""

from pathlib import Path

from ingestion.quarantine import QUARANTINE_DATASET, REJECTED_RECORDS_TABLE
from revloop.checks import CheckOutcome, rounded
from revloop.warehouse import connect_warehouse, state_dir, table_exists

REJECTED_IN_WINDOW_SQL = f"""
select count(*) from {QUARANTINE_DATASET}.{REJECTED_RECORDS_TABLE}
where (source = ? or starts_with(source, ? || '.')) and rejected_at between ? and ?
"""


def _last_trace(pipeline_name: str, warehouse: Path):
    """The trace of the pipeline's last run, or None before its first."""
    import dlt

    pipelines_dir = state_dir(warehouse) / "dlt"
    if not (pipelines_dir / pipeline_name).exists():
        return None
    return dlt.attach(pipeline_name=pipeline_name, pipelines_dir=str(pipelines_dir)).last_trace


def loaded_records(trace) -> int:
    """Rows the traced run normalized into the source's own top-level tables (not dlt's, not nested)."""
    info = trace.last_normalize_info
    counts = info.row_counts if info else {}
    return sum(n for table, n in counts.items() if not table.startswith("_dlt") and "__" not in table)


def quarantine_rate(source: str, pipeline_name: str, warehouse: Path, max_rate: float) -> CheckOutcome:
    """Passes when the share of records `source` refused in its last load is at most `max_rate`."""
    trace = _last_trace(pipeline_name, warehouse)
    if trace is None or trace.finished_at is None or not warehouse.exists():
        return CheckOutcome(True, f"{source} has not been loaded yet: nothing to check")
    rejected = 0
    with connect_warehouse(warehouse, read_only=True) as con:
        if table_exists(con, f"{QUARANTINE_DATASET}.{REJECTED_RECORDS_TABLE}"):
            window = [source, source, trace.started_at, trace.finished_at]
            rejected = con.execute(REJECTED_IN_WINDOW_SQL, window).fetchall()[0][0]
    loaded = loaded_records(trace)
    rate = rejected / (rejected + loaded) if rejected + loaded else 0.0
    metadata: dict[str, float | int | str] = {
        "load_started_at": trace.started_at.isoformat(),
        "loaded": loaded,
        "rejected": rejected,
        "rejected_share": rounded(rate),
        "max_rejected_share": rounded(max_rate),
    }
    verdict = "at most" if rate <= max_rate else "above"
    read = rejected + loaded
    summary = f"{rejected} of {read} {source} records quarantined ({rate:.2%}), {verdict} {max_rate:.2%}"
    return CheckOutcome(rate <= max_rate, summary, metadata)
