"""The sandbox portal as plain data and back: what the sandbox keeps across restarts (sandbox/state.py).

The stores' internals are read and set here, in one place, so that the emulator itself needs no save code.
"""

from collections import defaultdict
from dataclasses import asdict
from typing import Any

from sandbox.hubspot.emulator import HubSpotEmulator, object_type_of
from sandbox.hubspot.errors import HubSpotError
from sandbox.hubspot.schema import HsProperty
from sandbox.hubspot.store import StoredRecord


def snapshot(emulator: HubSpotEmulator) -> dict[str, Any]:
    """Records (archived ones included) with their histories, associations, owners and properties."""
    with emulator.lock:
        registry = emulator.properties
        return {
            "stores": {
                object_type: {
                    "records": [_fields(record) for record in store.records.values()],
                    "next": store._next_id,
                }
                for object_type, store in emulator.stores.items()
            },
            "associations": {key: {to: set(ids) for to, ids in links.items()}
                             for key, links in emulator.associations._links.items() if links},
            "owners": {owner_id: dict(owner) for owner_id, owner in emulator.owners.items()},
            "properties": {
                object_type: [asdict(prop) for prop in props.values()]
                for object_type, props in registry._by_type.items()
            },
            "property_times": dict(registry._timestamps),
        }


def _fields(record: StoredRecord) -> tuple:
    """A record's fields in StoredRecord's order, its mutable parts copied (values are immutable)."""
    history = {name: list(changes) for name, changes in record.history.items()}
    return (record.id, dict(record.properties), record.created_at, record.updated_at, record.archived,
            record.archived_at, history)


def restore(emulator: HubSpotEmulator, state: dict[str, Any]) -> None:
    """Replace the portal's contents by a snapshot's."""
    with emulator.lock:
        unknown = sorted(set(state["stores"]) - set(emulator.stores))
        if unknown:
            raise ValueError(f"the saved HubSpot portal has object types this sandbox lacks: {unknown}")
        registry = emulator.properties
        for object_type, props in state["properties"].items():
            registry._by_type[object_type] = {p["name"]: HsProperty(**p) for p in props}
        registry._timestamps = dict(state["property_times"])
        for object_type, saved in state["stores"].items():
            store = emulator.stores[object_type]
            store.unique_names = registry.unique_names(object_type)
            store.records.clear()
            for fields in saved["records"]:
                record = StoredRecord(*fields)
                store.records[record.id] = record
            store._next_id = saved["next"]
            store._sorted_ids = None
            store.version += 1
            store.reindex()
        emulator.associations._links = defaultdict(dict, state["associations"])
        emulator.owners = state["owners"]
        emulator._search_cache.clear()


def holds(emulator: HubSpotEmulator, object_type: str, record_id: str) -> bool:
    """Whether the portal has record_id of that type, live or archived."""
    try:
        store = emulator.stores[object_type_of(object_type)]
    except HubSpotError:
        return False
    with emulator.lock:
        return str(record_id) in store.records
