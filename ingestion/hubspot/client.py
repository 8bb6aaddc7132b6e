"""How revloop talks to HubSpot: the connection, keyset paging of the search, lists and batch reads."""

import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from hubspot import HubSpot
from hubspot.crm.associations.v4.models import (
    BatchInputPublicFetchAssociationsBatchRequest,
    PublicFetchAssociationsBatchRequest,
)
from hubspot.crm.objects.models import (
    BatchReadInputSimplePublicObjectId,
    PublicObjectSearchRequest,
    SimplePublicObjectId,
)

from ingestion.hubspot import settings
from ingestion.hubspot.records import epoch_ms, parse_moment
from ingestion.retry import retry_policy

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.hubapi.com"


@dataclass(frozen=True)
class HubSpotConnection:
    """Where the HubSpot API is and the private-app token that opens it (never shown in repr)."""

    access_token: str = field(repr=False)
    base_url: str = DEFAULT_BASE_URL
    ca_bundle: str | None = None  # extra CA bundle to trust (self-signed sandboxes); None: system store

    @classmethod
    def from_env(cls) -> "HubSpotConnection | None":
        """The connection HUBSPOT_ACCESS_TOKEN, HUBSPOT_BASE_URL and REQUESTS_CA_BUNDLE describe, or None."""
        token = (os.environ.get("HUBSPOT_ACCESS_TOKEN") or "").strip()
        if not token:
            return None
        base_url = (os.environ.get("HUBSPOT_BASE_URL") or "").strip() or DEFAULT_BASE_URL
        return cls(token, base_url.rstrip("/"), os.environ.get("REQUESTS_CA_BUNDLE") or None)

    def hubspot(self) -> HubSpot:
        """A hubspot-api-client HubSpot on this connection, with the shared retry policy."""
        # host and ssl_ca_cert go to HubSpot() itself: each api object builds its own configuration from it.
        options: dict[str, Any] = {"host": self.base_url}
        if self.ca_bundle:
            options["ssl_ca_cert"] = self.ca_bundle
        return HubSpot(access_token=self.access_token, retry=retry_policy(), **options)


@dataclass(frozen=True)
class SearchPage:
    """The first page of a CRM search, and whether the query matched more than it holds."""

    results: list[dict[str, Any]]
    has_more: bool


# (filters, sort property, limit) -> the first page of that query, sorted ascending on the property.
SearchCall = Callable[[list[dict[str, Any]], str, int], SearchPage]


def _filter(property_name: str, operator: str, value: Any) -> dict[str, Any]:
    return {"propertyName": property_name, "operator": operator, "value": str(value)}


def _modified_ms(record: Mapping[str, Any], property_name: str) -> int | None:
    value = (record.get("properties") or {}).get(property_name) or record.get("updatedAt")
    try:
        return epoch_ms(parse_moment(value)) if value else None
    except (TypeError, ValueError):
        return None  # flattening rejects the record; its time cannot move the scan


def _id_of(record: Mapping[str, Any]) -> int | None:
    value = str(record.get("id") or "")
    return int(value) if value.isdigit() else None


def search_modified_since(search: SearchCall, modified_property: str, since: datetime | None, *,
                          page_size: int = settings.SEARCH_PAGE_SIZE,
                          id_property: str = settings.OBJECT_ID_PROPERTY) -> Iterator[list[dict[str, Any]]]:
    """Pages of every record modified at or after since (all when None), never near the search cap.

    Every page is a fresh query from the last modification time read (keyset paging): lastmodified GTE
    that time, sorted ascending. No query pages with `after`, so none reaches the 10,000-result cap,
    and a record edited during the scan cannot shift the others past an offset and hide one (it moves
    to the end and is read there). Records sharing the boundary time are read again and merge away on
    id. A page that is all one instant cannot move the bound (more records modified in one millisecond
    than a page holds, as bulk imports do): that instant is then read by hs_object_id (EQ time, GT
    last id, sorted by id) and the scan goes on after it.
    """
    lower = None if since is None else epoch_ms(since)
    operator = "GTE"
    while True:
        filters = [] if lower is None else [_filter(modified_property, operator, lower)]
        page = search(filters, modified_property, page_size)
        if page.results:
            yield page.results
        if not page.has_more:
            return
        moments = [m for m in (_modified_ms(r, modified_property) for r in page.results) if m is not None]
        if not moments:
            raise RuntimeError(f"HubSpot search of {modified_property} returned a page without a readable "
                               "modification time to continue from")
        first, last = min(moments), max(moments)
        if first == last:
            log.info("More than a page of records share %s=%s: reading them by %s", modified_property, last,
                     id_property)
            yield from _walk_instant(search, modified_property, last, id_property, page_size)
            operator = "GT"
        else:
            operator = "GTE"
        lower = last


def _walk_instant(search: SearchCall, modified_property: str, moment_ms: int, id_property: str,
                  page_size: int) -> Iterator[list[dict[str, Any]]]:
    """Pages of every record modified exactly at moment_ms, by ascending id."""
    after_id: int | None = None
    while True:
        filters = [_filter(modified_property, "EQ", moment_ms)]
        if after_id is not None:
            filters.append(_filter(id_property, "GT", after_id))
        page = search(filters, id_property, page_size)
        if page.results:
            yield page.results
        if not page.has_more:
            return
        ids = [i for i in (_id_of(r) for r in page.results) if i is not None]
        if not ids or (after_id is not None and max(ids) <= after_id):
            raise RuntimeError(f"HubSpot search by {id_property} made no progress at "
                               f"{modified_property}={moment_ms}")
        after_id = max(ids)


def chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Consecutive lists of at most size items."""
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _body(response: Any) -> Any:
    """The JSON of a raw (unpreloaded) client response: records are parsed one by one, not as a page."""
    try:
        return json.loads(response.data or b"null")
    finally:
        response.release_conn()


class HubSpotClient:
    """The CRM reads the source needs, through hubspot-api-client, as raw JSON records."""

    def __init__(self, connection: HubSpotConnection) -> None:
        self._hubspot = connection.hubspot()

    # Each property access of hubspot-api-client builds a new ApiClient and pool: keep one of each.
    @cached_property
    def _objects(self) -> Any:
        return self._hubspot.crm.objects.basic_api

    @cached_property
    def _objects_batch(self) -> Any:
        return self._hubspot.crm.objects.batch_api

    @cached_property
    def _search(self) -> Any:
        return self._hubspot.crm.objects.search_api

    @cached_property
    def _properties(self) -> Any:
        return self._hubspot.crm.properties.core_api

    @cached_property
    def _owners(self) -> Any:
        return self._hubspot.crm.owners.owners_api

    @cached_property
    def _associations(self) -> Any:
        return self._hubspot.crm.associations.v4.batch_api

    @staticmethod
    def _raw(**kwargs: Any) -> dict[str, Any]:
        return {"_preload_content": False, "_request_timeout": settings.REQUEST_TIMEOUT, **kwargs}

    def property_types(self, object_type: str) -> dict[str, str]:
        """Every property of the object type (custom ones included) -> its HubSpot type."""
        body = _body(self._properties.get_all(object_type, **self._raw()))
        return {p["name"]: p.get("type") or "string" for p in body.get("results") or []}

    def search_page(self, object_type: str, properties: list[str], filters: list[dict[str, Any]],
                    sort_property: str, limit: int) -> SearchPage:
        """The first page of POST /crm/v3/objects/{type}/search, sorted ascending on sort_property."""
        request = PublicObjectSearchRequest(
            filter_groups=[{"filters": filters}] if filters else [],
            sorts=[{"propertyName": sort_property, "direction": "ASCENDING"}],
            properties=properties,
            limit=limit,
        )
        body = _body(self._search.do_search(object_type, request, **self._raw()))
        results = body.get("results") or []
        # A next page, or a total above what came: a server cap below the page size truncates silently.
        has_more = bool(((body.get("paging") or {}).get("next") or {}).get("after")) or (
            int(body.get("total") or 0) > len(results))
        return SearchPage(results, has_more)

    def modified_since(self, object_type: str, properties: list[str],
                       since: datetime | None) -> Iterator[list[dict[str, Any]]]:
        """Pages of live records modified at or after since, with the given properties (search)."""

        def search(filters: list[dict[str, Any]], sort_property: str, limit: int) -> SearchPage:
            return self.search_page(object_type, properties, filters, sort_property, limit)

        return search_modified_since(search, settings.LAST_MODIFIED_PROPERTY[object_type], since)

    def archived_since(self, object_type: str, properties: list[str],
                       since: datetime | None) -> Iterator[list[dict[str, Any]]]:
        """Pages of records archived at or after since, read in full (search never returns archived ones)."""
        recent = (record["id"] for page in self._list_archived(object_type) for record in page
                  if _archived_since(record, since))
        for ids in chunks(recent, settings.BATCH_READ_SIZE):
            yield self.read_batch(object_type, ids, properties, archived=True)

    def _list_archived(self, object_type: str) -> Iterator[list[dict[str, Any]]]:
        after = None
        while True:
            body = _body(self._objects.get_page(
                object_type, limit=settings.LIST_PAGE_SIZE, after=after,
                properties=list(settings.ARCHIVED_LIST_PROPERTIES), archived=True, **self._raw(),
            ))
            yield body.get("results") or []
            after = ((body.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return

    def read_batch(self, object_type: str, ids: list[str], properties: list[str],
                   archived: bool = False) -> list[dict[str, Any]]:
        """POST /crm/v3/objects/{type}/batch/read: the records of ids (at most 100) with the properties."""
        request = BatchReadInputSimplePublicObjectId(
            inputs=[SimplePublicObjectId(id=i) for i in ids], properties=properties,
        )
        body = _body(self._objects_batch.read(object_type, request, archived=archived, **self._raw()))
        for error in body.get("errors") or []:
            log.warning("HubSpot batch read of %s: %s", object_type, error.get("message"))
        return body.get("results") or []

    def owners(self) -> Iterator[list[dict[str, Any]]]:
        """Pages of every owner, active then archived (GET /crm/v3/owners)."""
        for archived in (False, True):
            after = None
            while True:
                body = _body(self._owners.get_page(
                    limit=settings.OWNERS_PAGE_SIZE, after=after, archived=archived, **self._raw(),
                ))
                yield body.get("results") or []
                after = ((body.get("paging") or {}).get("next") or {}).get("after")
                if not after:
                    break

    def associations(self, from_type: str, to_type: str, ids: list[str]) -> Iterator[dict[str, Any]]:
        """The v4 association results ({from, to}) of the ids, every page of each record's targets."""
        pending = [(record_id, None) for record_id in ids]
        size = settings.ASSOCIATION_BATCH_SIZE
        while pending:
            batch, pending = pending[:size], pending[size:]
            request = BatchInputPublicFetchAssociationsBatchRequest(
                inputs=[PublicFetchAssociationsBatchRequest(id=i, after=a) for i, a in batch],
            )
            # 207 lists the ids without associations as errors: not a failure.
            body = _body(self._associations.get_page(from_type, to_type, request, **self._raw()))
            for result in body.get("results") or []:
                yield result
                next_after = ((result.get("paging") or {}).get("next") or {}).get("after")
                if next_after:
                    pending.append((str((result.get("from") or {}).get("id")), str(next_after)))


def _archived_since(record: Mapping[str, Any], since: datetime | None) -> bool:
    """Whether a listed archived record was archived at or after since (an unreadable time counts)."""
    value = record.get("archivedAt")
    try:
        return since is None or not value or parse_moment(value) >= since
    except (TypeError, ValueError):
        return True
