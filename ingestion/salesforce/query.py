"""Pure pieces of a Salesforce extract: which fields to select and the incremental SOQL."""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from ingestion.salesforce.settings import CURSOR_FIELD, PRIMARY_KEY, UNLOADABLE_FIELD_TYPES


@dataclass(frozen=True)
class FieldSelection:
    """The fields to query for one object, their describe types, and the wanted ones the org lacks."""

    fields: list[str]
    types: dict[str, str]
    missing: list[str]

    @property
    def has_is_deleted(self) -> bool:
        """Whether the object soft-deletes (User, for one, has no IsDeleted and is never in the bin)."""
        return "IsDeleted" in self.types


def select_fields(object_name: str, wanted: list[str], described: list[dict]) -> FieldSelection:
    """The wanted standard fields describe reports, in order, then every custom field describe reports."""
    described_types = {f["name"]: f["type"] for f in described}
    for required in (PRIMARY_KEY, CURSOR_FIELD):
        if required not in described_types:
            raise ValueError(f"Salesforce describe of {object_name} has no {required} field: cannot load it")
    fields = [name for name in wanted if name in described_types]
    missing = [name for name in wanted if name not in described_types]
    fields += [
        f["name"] for f in described
        if f.get("custom") and f["name"] not in fields and f["type"] not in UNLOADABLE_FIELD_TYPES
    ]
    for required in (CURSOR_FIELD, PRIMARY_KEY):
        if required not in fields:
            fields.insert(0, required)
    return FieldSelection(fields, {name: described_types[name] for name in fields}, missing)


def soql_datetime(value: datetime) -> str:
    """A SOQL datetime literal, floored to the second (the documented SOQL formats carry no fraction)."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: Salesforce cursors are UTC instants")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_soql(object_name: str, fields: list[str], since: datetime | None) -> str:
    """SOQL for every record changed at or after since, in cursor order with Id breaking ties.

    `>=` rather than `>` (and flooring to the second) re-reads the records that share the last cursor
    value, so none is lost when a run ends amid a tie; the merge on Id removes the overlap.
    """
    where = f" WHERE {CURSOR_FIELD} >= {soql_datetime(since)}" if since is not None else ""
    return f"SELECT {', '.join(fields)} FROM {object_name}{where} ORDER BY {CURSOR_FIELD}, {PRIMARY_KEY}"


_RECORD_ID = re.compile(r"^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$")


def build_soql_for_ids(object_name: str, fields: list[str], ids: Iterable[str]) -> str:
    """SOQL for the records of the given ids (15 or 18 characters; anything else is refused)."""
    ids = list(ids)
    for record_id in ids:
        if not _RECORD_ID.match(record_id):
            raise ValueError(f"not a Salesforce record id: {record_id!r}")
    quoted = ", ".join(f"'{record_id}'" for record_id in ids)
    return f"SELECT {', '.join(fields)} FROM {object_name} WHERE {PRIMARY_KEY} IN ({quoted})"
