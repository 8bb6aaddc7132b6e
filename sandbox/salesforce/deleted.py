"""sObject Get Deleted and Get Updated (GET /services/data/vXX.X/sobjects/{type}/deleted/ and /updated/
?start=&end=), as documented.

Lists the records of one type deleted within [start, end]: those in the recycle bin (IsDeleted, deleted
at their SystemModstamp) and those purged from it (hard deletes), which no query returns any more. The
seconds of both bounds are ignored; start may not lie more than 30 days back; latestDateCovered is the end
bound so floored, and earliestDateAvailable the oldest purge the org still remembers.

Get Updated lists the ids of the records added or changed (by SystemModstamp) within [start, end], at most
600,000 (else EXCEEDED_ID_LIMIT). Both stop their latestDateCovered before the start of a transaction still
open (SandboxOrg.open_transactions): what it commits later is stamped before that point.
"""

from datetime import datetime, timedelta

from sandbox.salesforce.errors import SalesforceError
from sandbox.salesforce.store import SandboxOrg, SObjectTable
from sandbox.salesforce.values import format_datetime, parse_datetime

OLDEST_START = timedelta(days=30)
INVALID_DATE = "INVALID_REPLICATION_DATE"
MAX_UPDATED_IDS = 600_000


def _bound(args, name: str) -> datetime:
    text = args.get(name)
    if not text:
        raise SalesforceError(400, "MALFORMED_QUERY", f"Missing required parameter: {name}")
    try:
        moment = parse_datetime(text)
    except ValueError:
        raise SalesforceError(400, "MALFORMED_QUERY", f"{name}: invalid date/time {text!r}") from None
    return moment.replace(second=0, microsecond=0)


def _span(org: SandboxOrg, args) -> tuple[datetime, datetime, datetime]:
    """The request's [start, end] (seconds dropped) and the latestDateCovered it earns."""
    start, end = _bound(args, "start"), _bound(args, "end")
    now = org.now()
    if end < start:
        raise SalesforceError(400, INVALID_DATE, "startDate must chronologically precede endDate")
    if start < now - OLDEST_START:
        raise SalesforceError(400, INVALID_DATE, "startDate cannot be more than 30 days ago")
    covered = min([end, now.replace(second=0, microsecond=0),
                   *(t.replace(second=0, microsecond=0) for t in org.open_transactions)])
    return start, end, covered


def updated_records(org: SandboxOrg, table: SObjectTable, args, limit: int = MAX_UPDATED_IDS) -> dict:
    """The Get Updated body for `table`: ids of live records whose SystemModstamp lies in [start, end]."""
    start, end, covered = _span(org, args)
    found = sorted(
        (record["SystemModstamp"], record["Id"]) for record in org.rows(table, include_deleted=False)
        if record.get("SystemModstamp") and start <= record["SystemModstamp"] <= end
    )
    if len(found) > limit:
        raise SalesforceError(400, "EXCEEDED_ID_LIMIT", f"Exceeded limit of {limit:,} ids returned")
    return {"ids": [record_id for _, record_id in found], "latestDateCovered": format_datetime(covered)}


def deleted_records(org: SandboxOrg, table: SObjectTable, args, purged: dict[str, datetime]) -> dict:
    """The Get Deleted body for `table`; `purged` maps the ids hard-deleted from it to when."""
    if "IsDeleted" not in table.fields:
        raise SalesforceError(400, "INVALID_TYPE", f"sObject type '{table.name}' is not replicable")
    start, end, covered = _span(org, args)
    deletions = {
        record["Id"]: record["SystemModstamp"] for record in org.rows(table, include_deleted=True)
        if record.get("IsDeleted")
    }
    deletions.update(purged)
    found = sorted(
        (moment, record_id) for record_id, moment in deletions.items() if start <= moment <= end
    )
    earliest = min(purged.values(), default=start)
    return {
        "deletedRecords": [
            {"id": record_id, "deletedDate": format_datetime(moment)} for moment, record_id in found
        ],
        "earliestDateAvailable": format_datetime(earliest),
        "latestDateCovered": format_datetime(covered),
    }
