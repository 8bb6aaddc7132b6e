"""Current CRM records read through the real clients, and paired across the CRMs by a matching value."""

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from hubspot import HubSpot
from simple_salesforce import Salesforce

from activation.plan import CrmRecord, SyncPair


def read_salesforce(sf: Salesforce, object_name: str, fields: Sequence[str]) -> list[CrmRecord]:
    """Every live record of object_name with fields, as of its SystemModstamp."""
    names = ["Id", "SystemModstamp", *dict.fromkeys(f for f in fields if f not in ("Id", "SystemModstamp"))]
    rows = sf.query_all(f"SELECT {', '.join(names)} FROM {object_name}")["records"]
    return [
        CrmRecord(
            "salesforce",
            object_name,
            row["Id"],
            datetime.fromisoformat(row["SystemModstamp"].replace("Z", "+00:00").replace("+0000", "+00:00")),
            {k: v for k, v in row.items() if k not in ("attributes", "Id", "SystemModstamp")},
        )
        for row in rows
    ]


def read_hubspot(hs: HubSpot, object_type: str, properties: Sequence[str]) -> list[CrmRecord]:
    """Every live record of object_type with properties, as of its last modification."""
    existing = {p.name for p in hs.crm.properties.core_api.get_all(object_type).results}
    wanted = [p for p in properties if p in existing]
    records, after = [], None
    while True:
        page = hs.crm.objects.basic_api.get_page(object_type, limit=100, after=after, properties=wanted)
        records += [
            CrmRecord("hubspot", object_type, r.id, r.updated_at, dict(r.properties)) for r in page.results
        ]
        if not page.paging or not page.paging.next:
            return records
        after = page.paging.next.after


def pair_records(
    salesforce: Iterable[CrmRecord],
    hubspot: Iterable[CrmRecord],
    match: Callable[[CrmRecord], str | None],
    desired: Callable[[str], dict] = lambda key: {},
) -> list[SyncPair]:
    """Pairs of records sharing a match value (the pair's key); first record per CRM wins."""
    sides: dict[str, dict[str, CrmRecord]] = {}
    for record in [*salesforce, *hubspot]:
        key = match(record)
        if key:
            sides.setdefault(key, {}).setdefault(record.crm, record)
    return [
        SyncPair(key, side.get("salesforce"), side.get("hubspot"), desired(key))
        for key, side in sides.items()
    ]
