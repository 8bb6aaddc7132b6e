"""The records of one object type: storage, id allocation, unique-value lookups and id-ordered paging."""

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sandbox.hubspot.schema import LAST_MODIFIED_PROPERTY, MERGED_IDS_PROPERTY
from sandbox.hubspot.timestamps import iso_ms

T = TypeVar("T")
# (change, record, details) after each write: creation, propertyChange (details: the property and value),
# deletion, merge (details: the merged ids); the emulator turns them into webhook events.
ChangeListener = Callable[[str, "StoredRecord", dict[str, Any]], None]


@dataclass
class StoredRecord:
    """One CRM record; every property value is a string (or None)."""

    id: str
    properties: dict[str, str | None]
    created_at: datetime
    updated_at: datetime
    archived: bool = False
    archived_at: datetime | None = None
    history: dict[str, list[tuple[str | None, datetime]]] = field(default_factory=dict)

    def value(self, name: str) -> str | None:
        return self.properties.get(name)


class ObjectStore:
    """All records of one object type; `version` changes on every write so that caches know when to drop."""

    def __init__(self, object_type: str, unique_names: set[str], first_id: int) -> None:
        self.object_type = object_type
        self.unique_names = unique_names
        self.records: dict[str, StoredRecord] = {}
        # ids merged away -> the id of the record they were merged into (GET by an old id answers with it)
        self.aliases: dict[str, str] = {}
        self.version = 0
        self._next_id = first_id
        self._sorted_ids: list[int] | None = None
        self._unique_index: dict[tuple[str, str], str] = {}
        self._memo: dict[Any, Any] = {}
        self._memo_version = 0
        self.listener: ChangeListener | None = None

    # Reading -----------------------------------------------------------------------------------------
    def get(self, record_id: str, include_archived: bool = False) -> StoredRecord | None:
        record_id = str(record_id)
        record = self.records.get(self.aliases.get(record_id, record_id))
        if record is None or (record.archived and not include_archived):
            return None
        return record

    def find(
        self, id_property: str | None, value: str, include_archived: bool = False
    ) -> StoredRecord | None:
        """A record by id (no id_property / hs_object_id) or by a unique property's value."""
        if not id_property or id_property == "hs_object_id":
            return self.get(value, include_archived)
        record_id = self._unique_index.get((id_property, _unique_key(value)))
        return self.get(record_id, include_archived) if record_id else None

    def owner_of(self, name: str, value: str | None) -> str | None:
        """The id of the live record holding value in unique property name."""
        if value in (None, ""):
            return None
        return self._unique_index.get((name, _unique_key(value)))

    def page_by_id(self, after: int, limit: int, archived: bool) -> tuple[list[StoredRecord], str | None]:
        """Records in id order from id `after` on, and the cursor of the next page."""
        ids = self._ids()
        page: list[StoredRecord] = []
        position = bisect.bisect_left(ids, after)
        while position < len(ids):
            record = self.records[str(ids[position])]
            if record.archived == archived:
                if len(page) == limit:
                    return page, str(ids[position])
                page.append(record)
            position += 1
        return page, None

    def live(self) -> list[StoredRecord]:
        return [r for r in self.records.values() if not r.archived]

    def memo(self, key: Any, build: Callable[[], T]) -> T:
        """build()'s result, kept until the next write (for indexes derived from the records)."""
        if self._memo_version != self.version:
            self._memo.clear()
            self._memo_version = self.version
        if key not in self._memo:
            self._memo[key] = build()
        return self._memo[key]

    # Writing -----------------------------------------------------------------------------------------
    def new_id(self) -> str:
        while str(self._next_id) in self.records:
            self._next_id += 1
        self._next_id += 1
        return str(self._next_id - 1)

    def _announce(self, change: str, record: StoredRecord, **details: Any) -> None:
        if self.listener is not None:
            self.listener(change, record, details)

    def insert(self, record: StoredRecord, announce: bool = True) -> StoredRecord:
        """Store a new record; announce=False for seeding, which HubSpot would not report as a change."""
        if not record.history:
            record.history = {
                n: [(v, record.created_at)] for n, v in record.properties.items() if v is not None
            }
        self._stamp_system(record)
        self.records[record.id] = record
        if record.id.isdigit():
            self._next_id = max(self._next_id, int(record.id) + 1)
        self._index(record)
        self._sorted_ids = None
        self.version += 1
        if announce:
            self._announce("creation", record)
        return record

    def update(self, record: StoredRecord, values: dict[str, str | None], now: datetime) -> StoredRecord:
        self._unindex(record)
        changed = []
        for name, value in values.items():
            if record.properties.get(name) != value:
                record.history.setdefault(name, []).append((value, now))
                changed.append(name)
            record.properties[name] = value
        record.updated_at = now
        self._stamp_system(record)
        self._index(record)
        self.version += 1
        for name in changed:
            self._announce("propertyChange", record, propertyName=name, propertyValue=values[name])
        return record

    def merge(self, primary: StoredRecord, merged: StoredRecord, now: datetime) -> StoredRecord:
        """Both records replaced by a new one under a new id (HubSpot's merge): the primary's values win,
        the other's fill what the primary lacks; the old ids (and ids merged into them) become aliases."""
        old_ids = {primary.id, merged.id}
        for record in (primary, merged):
            old_ids.update(i for i in (record.properties.get(MERGED_IDS_PROPERTY) or "").split(";") if i)
            self._unindex(record)
            del self.records[record.id]
        values = {**merged.properties, **{k: v for k, v in primary.properties.items() if v not in (None, "")}}
        values[MERGED_IDS_PROPERTY] = ";".join(sorted(old_ids, key=_id_key))
        history: dict[str, list[tuple[str | None, datetime]]] = {}
        for record in (merged, primary):
            for name, changes in record.history.items():
                history.setdefault(name, []).extend(changes)
        created = min(primary.created_at, merged.created_at)
        survivor = StoredRecord(self.new_id(), values, created, now, history=history)
        self.insert(survivor, announce=False)
        for old_id in old_ids:
            self.aliases[old_id] = survivor.id
        for old_id, target in self.aliases.items():
            if target in old_ids:
                self.aliases[old_id] = survivor.id
        self._announce("merge", survivor, primaryObjectId=primary.id, mergedObjectIds=[merged.id],
                       newObjectId=survivor.id)
        return survivor

    def archive(self, record: StoredRecord, now: datetime) -> None:
        self._unindex(record)
        record.archived, record.archived_at = True, now
        self.version += 1
        self._announce("deletion", record, changeFlag="DELETED")

    # Internals ---------------------------------------------------------------------------------------
    def _stamp_system(self, record: StoredRecord) -> None:
        props = record.properties
        props["hs_object_id"] = record.id
        props["createdate"] = iso_ms(record.created_at)
        props[LAST_MODIFIED_PROPERTY[self.object_type]] = iso_ms(record.updated_at)
        props["hs_lastmodifieddate"] = iso_ms(record.updated_at)

    def _index(self, record: StoredRecord) -> None:
        if record.archived:
            return
        for name in self.unique_names:
            value = record.properties.get(name)
            if value not in (None, ""):
                self._unique_index[(name, _unique_key(value))] = record.id

    def _unindex(self, record: StoredRecord) -> None:
        for name in self.unique_names:
            value = record.properties.get(name)
            if value not in (None, "") and self._unique_index.get((name, _unique_key(value))) == record.id:
                del self._unique_index[(name, _unique_key(value))]

    def _ids(self) -> list[int]:
        if self._sorted_ids is None:
            self._sorted_ids = sorted(int(i) for i in self.records)
        return self._sorted_ids

    def reindex(self) -> None:
        """Rebuild the unique index (after a property became unique)."""
        self._unique_index.clear()
        for record in self.records.values():
            self._index(record)


def _id_key(record_id: str) -> tuple[int, str]:
    return (int(record_id), "") if record_id.isdigit() else (0, record_id)


def _unique_key(value: Any) -> str:
    # HubSpot matches e-mails and other unique values case-insensitively.
    return str(value).strip().lower()


def record_json(
    record: StoredRecord,
    names: list[str] | None,
    defaults: tuple[str, ...],
    with_history: list[str] | None = None,
) -> dict[str, Any]:
    """A record as the objects API returns it: asked-for properties, or the default set."""
    if names:
        properties = {n: record.properties.get(n) for n in names}
    else:
        properties = {n: record.properties[n] for n in defaults if record.properties.get(n) is not None}
    body: dict[str, Any] = {
        "id": record.id,
        "properties": properties,
        "createdAt": iso_ms(record.created_at),
        "updatedAt": iso_ms(record.updated_at),
        "archived": record.archived,
    }
    if record.archived_at:
        body["archivedAt"] = iso_ms(record.archived_at)
    if with_history:
        body["propertiesWithHistory"] = {
            n: [
                {"value": v, "timestamp": iso_ms(t), "sourceType": "API"}
                for v, t in reversed(record.history[n])
            ]
            for n in with_history
            if n in record.history
        }
    return body
