"""dlt source of HubSpot CRM objects, owners and associations into raw_hubspot."""

import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import dlt
from dlt.sources import DltResource

from ingestion.hubspot import settings
from ingestion.hubspot.client import HubSpotClient, HubSpotConnection
from ingestion.hubspot.records import (
    ASSOCIATION_COLUMNS,
    MERGE_COLUMNS,
    OWNER_COLUMNS,
    SYSTEM_COLUMNS,
    UnparsableRecord,
    association_tombstone,
    flatten_associations,
    flatten_object,
    flatten_owner,
    merged_ids,
    property_columns,
)
from ingestion.hubspot.settings import DATASET_NAME, PIPELINE_NAME
from ingestion.quarantine import Rejections

__all__ = ["DATASET_NAME", "PIPELINE_NAME", "HubSpotConnection", "hubspot_source"]

log = logging.getLogger(__name__)

ASSOCIATION_KEY = ("from_id", "to_type", "to_id", "association_type_id")
# (source, record id, reason, payload): where a record that does not parse goes.
Reject = Callable[[str, str | None, str, Any], None]
# Parquet load files: ~3x faster end to end than dlt's default insert statements on wide CRM rows.
FILE_FORMAT = "parquet"


@dlt.source(name="hubspot", max_table_nesting=0)
def hubspot_source(
    connection: HubSpotConnection,
    rejections: Rejections | None = None,
    lookback_seconds: float = settings.SEARCH_LOOKBACK_SECONDS,
    full_reconciliation: bool = False,
) -> Iterator[DltResource]:
    """Contacts, companies, deals (incremental, archives as soft deletes), merges, owners and associations.

    Every run reads only what changed (searches from each object's cursor). HubSpot offers no filter on
    when a record was archived, nor on owners: listing those is a full scan, done on the first run and
    when full_reconciliation is set (the daily reconciliation job), never in an hourly run.

    Records that do not parse go to rejections (load them with load_rejections after the run); without
    rejections they are logged and skipped. No request is made before the pipeline extracts.
    """
    if connection is None:
        raise ValueError("HubSpot is not configured: set HUBSPOT_ACCESS_TOKEN (and HUBSPOT_BASE_URL for a "
                         "sandbox)")
    client = HubSpotClient(connection)
    reject = _rejecter(rejections)
    objects = {
        object_type: _object_resource(client, object_type, reject, lookback_seconds, full_reconciliation)
        for object_type in settings.LAST_MODIFIED_PROPERTY
    }
    yield from objects.values()
    for object_type, table in settings.MERGES.items():
        yield _merges_resource(table, objects[object_type])
    yield _owners_resource(client, reject, full_reconciliation)
    for name, (from_type, to_types) in settings.ASSOCIATIONS.items():
        yield _associations_resource(client, name, objects[from_type], from_type, to_types, reject)


def _rejecter(rejections: Rejections | None) -> Reject:
    def reject(source: str, record_id: str | None, reason: str, payload: Any) -> None:
        if rejections is None:
            log.warning("%s record %s rejected: %s", source, record_id, reason)
        else:
            rejections.add(source, record_id, reason, payload)

    return reject


def _object_resource(client: HubSpotClient, object_type: str, reject: Reject,
                     lookback_seconds: float, full_reconciliation: bool) -> DltResource:
    @dlt.resource(name=object_type, primary_key="id", write_disposition="merge", columns=SYSTEM_COLUMNS,
                  file_format=FILE_FORMAT)
    def records(
        updated_at=dlt.sources.incremental("updated_at", lag=lookback_seconds),  # noqa: B008 (dlt's idiom)
    ) -> Iterator[Any]:
        property_types = client.property_types(object_type)
        names = list(property_types)
        state = dlt.current.resource_state()
        since = _search_start(updated_at.start_value, state.get("searched_at"), lookback_seconds)
        searched_at = datetime.now(UTC)
        hints = dlt.mark.make_hints(columns=property_columns(property_types))

        def typed(pages: Iterable[list[dict[str, Any]]]) -> Iterator[Any]:
            nonlocal hints
            for page in pages:
                rows = _flatten(page, f"hubspot.{object_type}", reject,
                                lambda record: [flatten_object(record, property_types)])
                if rows:
                    # Typed columns for every property, even those still empty, come with the first rows.
                    yield dlt.mark.with_hints(rows, hints) if hints else rows
                    hints = None

        yield from typed(client.modified_since(object_type, names, since))
        state["searched_at"] = searched_at.isoformat()
        if since is not None and not full_reconciliation:
            return
        # The search applied the cursor range; archived rows (read after it, so none is missed) pass
        # unfiltered and leave the cursor where the search left it. All of them: an hourly cursor has
        # moved past archives made since the last listing, and contacts' archivedAt is not reliable.
        updated_at.advance(None)
        yield from typed(client.archived_since(object_type, names, None))

    return records


def _search_start(
    cursor: datetime | None, searched_at: str | None, lookback_seconds: float
) -> datetime | None:
    """Where a search starts: the cursor (the newest modification loaded, less the look-back) or, when later,
    the last search's start less the look-back. What was modified before that was in the search index then
    (the look-back covers its lag and the clocks' difference), so a quiet object is not read again after a
    burst of changes; None (a first run) reads everything."""
    if cursor is None or searched_at is None:
        return cursor
    return max(cursor, datetime.fromisoformat(searched_at) - timedelta(seconds=lookback_seconds))


def _merges_resource(name: str, parent: DltResource) -> DltResource:
    # A record read with hs_merged_object_ids retires the ids merged into it: their raw rows stay as they
    # were last read (the merge left nothing else of them), and staging drops them (dbt, latest_records).
    @dlt.transformer(name=name, data_from=parent, primary_key="id", write_disposition="merge",
                     columns=MERGE_COLUMNS, file_format=FILE_FORMAT)
    def merges(rows: list[dict[str, Any]]) -> Iterator[Any]:
        found = [merge for row in rows if not row["archived"]
                 for merge in merged_ids(row, settings.MERGED_IDS_PROPERTY)]
        if found:
            yield dlt.mark.with_hints(found, dlt.mark.make_hints(columns=MERGE_COLUMNS))

    return merges


def _owners_resource(client: HubSpotClient, reject: Reject, full_reconciliation: bool) -> DltResource:
    @dlt.resource(name="owners", primary_key="id", write_disposition="merge", columns=OWNER_COLUMNS,
                  file_format=FILE_FORMAT)
    def owners() -> Iterator[list[dict[str, Any]]]:
        # The owners API has no change filter: read in full on the first run and by the reconciliation.
        state = dlt.current.resource_state()
        if state.get("listed") and not full_reconciliation:
            return
        for page in client.owners():
            rows = _flatten(page, "hubspot.owners", reject, lambda o: [flatten_owner(o)])
            if rows:
                yield rows
        state["listed"] = True

    return owners


def _associations_resource(client: HubSpotClient, name: str, parent: DltResource, from_type: str,
                           to_types: Iterable[str], reject: Reject) -> DltResource:
    # merge_key from_id: a record read again replaces all of its association rows, so removed links go.
    @dlt.transformer(name=name, data_from=parent, primary_key=ASSOCIATION_KEY, merge_key="from_id",
                     write_disposition="merge", columns=ASSOCIATION_COLUMNS, file_format=FILE_FORMAT)
    def associations(rows: list[dict[str, Any]]) -> Iterator[Any]:
        live = list(dict.fromkeys(row["id"] for row in rows if not row["archived"]))
        found: list[dict[str, Any]] = []
        answered: set[str] = set()
        for to_type in to_types:
            results = list(client.associations(from_type, to_type, live))
            answered |= {str((result.get("from") or {}).get("id")) for result in results}
            found += _flatten(results, f"hubspot.{name}", reject,
                              lambda r, to_type=to_type: flatten_associations(from_type, to_type, r))
        # Records archived or now without any association replace what was stored for them with nothing.
        found += [association_tombstone(from_type, row["id"]) for row in rows if row["id"] not in answered]
        if found:
            # The parent's rows carry its column hints along; this table states its own.
            yield dlt.mark.with_hints(found, dlt.mark.make_hints(columns=ASSOCIATION_COLUMNS))

    return associations


def _flatten(items: Iterable[dict[str, Any]], source: str, reject: Reject,
             flatten: Callable[[dict[str, Any]], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Rows of every item that flattens; the others go to reject with the reason."""
    rows: list[dict[str, Any]] = []
    for item in items:
        try:
            rows += flatten(item)
        except UnparsableRecord as exc:
            record_id = item.get("id") if isinstance(item, dict) else None
            if record_id is None and isinstance(item, dict):
                record_id = (item.get("from") or {}).get("id")
            reject(source, None if record_id is None else str(record_id), str(exc), item)
    return rows
