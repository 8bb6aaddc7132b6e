"""activation.sync_record_baselines: when each record revloop wrote was last changed by anyone else.

A CRM moves a record's modification time on every write, revloop's too. Survivorship ranks a record's values
by that time, so without this table revloop's own write (a score, a cross id) would make every value of the
record look newest and move the profile on the next build. A record revloop created has no such time
(modified_before is null) until someone else changes it: every value it holds is a copy or a CRM default.
written_by, revloop's Salesforce user, lets the models tell a Salesforce record revloop changed last
(LastModifiedById) from one someone else changed since, whatever the clocks say.
"""

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import duckdb
import pyarrow as pa

from activation.plan import KEY_FIELDS, CrmRecord, Plan, SyncPair
from revloop.salesforce_user import made_by

_SCHEMA = """
create schema if not exists activation;
create table if not exists activation.sync_record_baselines (
    crm varchar, record_id varchar, modified_before timestamptz, written_at timestamptz,
    primary key (crm, record_id)
);
-- revloop's Salesforce user at that write: a record whose last author it still is has no newer change
alter table activation.sync_record_baselines add column if not exists written_by varchar;
"""

# A record whose state as read before this write is revloop's own has not been changed by anyone else since
# revloop's previous write: its baseline stays. Salesforce says who changed it last (by_revloop); elsewhere a
# record last modified at or before revloop's previous write (plus a margin, for the CRM's clock running
# ahead of ours) counts as unchanged.
_UPSERT = """
update activation.sync_record_baselines t set
    modified_before = case
        when b.by_revloop then t.modified_before
        when b.by_revloop is null and b.modified_before <= t.written_at + interval '1 minute'
        then t.modified_before
        else b.modified_before
    end,
    written_at = b.written_at,
    written_by = b.written_by
from baselines b
where t.crm = b.crm and t.record_id = b.record_id;
insert into activation.sync_record_baselines
select crm, record_id, modified_before, written_at, written_by from baselines b
where not exists (
    select 1 from activation.sync_record_baselines t where t.crm = b.crm and t.record_id = b.record_id
);
"""


def written_records(plan: Plan, pairs: Sequence[SyncPair]) -> list[CrmRecord]:
    """The existing records a plan writes: those it updates, and the partners a create links back."""
    records = {
        (record.crm, record.record_id): record
        for pair in pairs
        for record in (pair.salesforce, pair.hubspot)
        if record is not None
    }
    partners = {"salesforce": "hubspot", "hubspot": "salesforce"}
    touched = set()
    for write in plan.writes:
        if write.operation == "update" and write.record_id:
            touched.add((write.crm, write.record_id))
        partner_id = write.fields.get(KEY_FIELDS[write.crm][1]) if write.operation == "create" else None
        if partner_id:
            touched.add((partners[write.crm], str(partner_id)))
    return [records[key] for key in touched if key in records]


def record_baselines(
    connection: duckdb.DuckDBPyConnection, records: Sequence[CrmRecord], own_user: str | None = None
) -> None:
    """Remember, right after revloop wrote them, the records' modification times as read before the write.

    own_user: revloop's Salesforce user id; a Salesforce record it changed last keeps its baseline."""
    connection.execute(_SCHEMA)
    if not records:
        return
    now = datetime.now(UTC)
    latest = {(r.crm, r.record_id): r for r in records}

    def by_revloop(record: CrmRecord) -> bool | None:
        known = own_user and record.crm == "salesforce" and record.modified_by
        return made_by(record.modified_by, own_user) if known else None

    table = pa.table(
        {
            "crm": [crm for crm, _ in latest],
            "record_id": [record_id for _, record_id in latest],
            "modified_before": pa.array(
                [r.modified_at for r in latest.values()], pa.timestamp("us", tz="UTC")
            ),
            "written_at": pa.array([now] * len(latest), pa.timestamp("us", tz="UTC")),
            "by_revloop": pa.array([by_revloop(r) for r in latest.values()], pa.bool_()),
            "written_by": pa.array([_author(crm, own_user) for crm, _ in latest], pa.string()),
        }
    )
    connection.register("baselines", table)
    try:
        connection.execute(_UPSERT)
    finally:
        connection.unregister("baselines")


def _author(crm: str, own_user: str | None) -> str | None:
    """The author revloop's writes carry in crm: its Salesforce user; HubSpot names none."""
    return own_user if crm == "salesforce" else None


def record_created(
    connection: duckdb.DuckDBPyConnection, created: Iterable[tuple[str, str]], own_user: str | None = None
) -> None:
    """Give each record revloop created a baseline without a time: nobody but revloop has changed it."""
    connection.execute(_SCHEMA)
    rows = list(created)
    if not rows:
        return
    table = pa.table(
        {
            "crm": [crm for crm, _ in rows],
            "record_id": [record_id for _, record_id in rows],
            "written_at": pa.array([datetime.now(UTC)] * len(rows), pa.timestamp("us", tz="UTC")),
            "written_by": pa.array([_author(crm, own_user) for crm, _ in rows], pa.string()),
        }
    )
    connection.register("created", table)
    try:
        connection.execute(
            "insert into activation.sync_record_baselines (crm, record_id, modified_before, written_at,"
            " written_by) select crm, record_id, null, written_at, written_by from created"
            " on conflict do nothing"
        )
    finally:
        connection.unregister("created")
