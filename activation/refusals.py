"""Refused writes of the latest CRM sync, read from activation.sync_log: new refusals and repeated ones.

A refusal is logged once and counted (first_seen_at, last_seen_at, seen_count); a run that meets it again
moves its last_seen_at on. The latest sync therefore starts at the earliest row it logged, or, when it only
met known refusals, at the earliest last_seen_at after every logged row.
"""

from pathlib import Path

from activation.store import REFUSALS
from revloop.checks import CheckOutcome, rounded
from revloop.warehouse import Connection, connect_warehouse, table_exists

LATEST_RUN_START_SQL = """
with bounds as (select max(logged_at) as logged, max(last_seen_at) as seen from activation.sync_log)
select case
    when b.seen > b.logged
        then (select min(last_seen_at) from activation.sync_log where last_seen_at > b.logged)
    else (select min(logged_at) from activation.sync_log
          where run_id = (select arg_max(run_id, logged_at) from activation.sync_log))
end
from bounds b
"""
LATEST_RUN_SQL = f"""
select
    count(*) filter (where logged_at >= $start and status in {REFUSALS}) as new_refusals,
    count(*) filter (where logged_at < $start and last_seen_at >= $start and status in {REFUSALS})
        as repeated,
    count(*) filter (where logged_at >= $start or last_seen_at >= $start) as operations
from activation.sync_log
"""
BY_OBJECT_SQL = f"""
select crm || ' ' || crm_object || ' ' || status as what, count(*) as n from activation.sync_log
where logged_at >= $start and status in {REFUSALS} group by all order by n desc, what
"""


def _latest_run(con: Connection) -> tuple[int, int, int, list[tuple[str, int]]] | None:
    start = con.execute(LATEST_RUN_START_SQL).fetchall()[0][0]
    if start is None:
        return None
    new, repeated, operations = con.execute(LATEST_RUN_SQL, {"start": start}).fetchall()[0]
    return new, repeated, operations, con.execute(BY_OBJECT_SQL, {"start": start}).fetchall()


def sync_refusals(warehouse: Path, max_share: float) -> CheckOutcome:
    """Passes when new refusals are at most `max_share` of the latest sync's operations."""
    latest = None
    if warehouse.exists():
        with connect_warehouse(warehouse, read_only=True) as con:
            latest = _latest_run(con) if table_exists(con, "activation.sync_log") else None
    if latest is None:
        return CheckOutcome(True, "no CRM sync has logged anything yet: nothing to check")
    new, repeated, operations, by_object = latest
    share = new / operations if operations else 0.0
    metadata: dict[str, float | int | str] = {
        "new_refusals": new,
        "repeated_refusals": repeated,
        "operations": operations,
        "new_refusal_share": rounded(share),
        "max_new_refusal_share": rounded(max_share),
    }
    if by_object:
        metadata["new_refusals_by_object"] = ", ".join(f"{what}: {n}" for what, n in by_object)
    summary = f"{new} new and {repeated} repeated refusal(s) in the latest sync's {operations} operation(s)"
    return CheckOutcome(share <= max_share, summary, metadata)
