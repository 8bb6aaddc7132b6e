"""Cheap "has anything changed since the cursor?" probes of both CRMs, the event folders and webhooks.

Each probe reads one marker per object (the newest modification time, or a digest of a channel's files)
and compares it with the cursor a caller kept from the last probe. An object without a cursor value
gets its marker recorded without counting as changed: the scheduled full sync covers history. An object
that cannot be read (CRM down, bad token, throttled) is skipped with the reason and keeps its cursor.
"""

import dataclasses
import hashlib
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import urllib3
from hubspot import HubSpot
from hubspot.crm.objects.exceptions import ApiException
from hubspot.crm.objects.models import PublicObjectSearchRequest
from simple_salesforce import Salesforce

from ingestion.events.files import event_files, fingerprint
from ingestion.events.settings import CHANNELS
from ingestion.hubspot.client import HubSpotConnection
from ingestion.hubspot.records import epoch_ms, parse_moment
from ingestion.hubspot.settings import LAST_MODIFIED_PROPERTY
from ingestion.retry import retry_policy
from ingestion.salesforce.client import (
    SalesforceApiError,
    SalesforceConnection,
    SalesforceRequestLimitExceeded,
    connect,
    salesforce_errors,
)
from ingestion.salesforce.query import soql_datetime
from ingestion.salesforce.settings import CURSOR_FIELD, PRIMARY_KEY
from ingestion.webhooks.spool import WebhookSpool
from revloop.salesforce_user import made_by

# A probe runs inside a sensor tick (Dagster gives it 60 s): one quick retry, then skip until the next tick.
PROBE_RETRIES = 1
PROBE_TIMEOUT_S = 10.0
# The marker of an object that had no record when first probed: its first record is then a change.
NOTHING_YET = datetime(1970, 1, 1, tzinfo=UTC).isoformat()
# With own writes to recognise, a probe reads who and when of up to this many changes.
OWN_WRITE_PAGE = 200
# HubSpot says no author for an app's write: a change stamped at most this long after revloop noted its write
# to the record is revloop's own (the CRM stamps a write before answering, so only clock skew needs room).
# A colleague's edit inside it waits for the hourly sync. Salesforce names the author: LastModifiedById.
OWN_WRITE_SLACK = timedelta(seconds=2)
# record ids -> when revloop last wrote each (those it never wrote absent); None when that is unknown now.
OwnWrites = Callable[[list[str]], Mapping[str, datetime] | None]
# The Salesforce field naming the user who last changed a record.
MODIFIED_BY_FIELD = "LastModifiedById"


@dataclass
class ProbeResult:
    """One probe of one source: the marker read per object, those that moved, and those not readable."""

    markers: dict[str, str] = field(default_factory=dict)
    changed: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    def cursor(self, previous: Mapping[str, str]) -> dict[str, str]:
        """The cursor after this probe: the markers read, the previous values of the objects skipped."""
        return {**previous, **self.markers}


def _moment(value: str | None) -> datetime | None:
    """A stored timestamp, or None when absent or unreadable (the object then starts from a new baseline)."""
    try:
        return parse_moment(value) if value else None
    except (TypeError, ValueError):
        return None


def _result(readings: Iterable[tuple], cursor: Mapping[str, str],
            newer: Callable[[str, str | None], bool]) -> ProbeResult:
    """Fold (object, marker or None, skip reason or None[, only own writes]) readings into a ProbeResult.

    A marker moved by revloop's own writes alone advances the cursor without counting as a change.
    """
    result = ProbeResult()
    for name, marker, reason, *own in readings:
        if reason is not None:
            result.skipped[name] = reason
        elif marker is not None:
            previous = cursor.get(name)
            moved = newer(marker, previous)
            result.markers[name] = marker if moved or previous is None else previous
            if moved and previous is not None and not (own and own[0]):
                result.changed.append(name)
    return result


def only_own_writes(
    changes: list[tuple[str, datetime]], own_writes: OwnWrites | None, complete: bool
) -> bool:
    """Whether every (record id, modification time) read is revloop's own write: a record it wrote, changed
    no later than OWN_WRITE_SLACK after. complete: the changes are all there are since the cursor."""
    if not changes or own_writes is None or not complete:
        return False
    written = own_writes([record_id for record_id, _ in changes])
    if written is None:
        return False
    return all(
        record_id in written and moment <= written[record_id] + OWN_WRITE_SLACK
        for record_id, moment in changes
    )


def _later(marker: str, previous: str | None) -> bool:
    """Whether a timestamp marker is newer than the stored one."""
    return previous is None or parse_moment(marker) > parse_moment(previous)


def _readable(cursor: Mapping[str, str]) -> dict[str, str]:
    """The cursor's readable timestamps: an object with a damaged one starts again from a baseline."""
    return {name: value for name, value in cursor.items() if _moment(value) is not None}


def salesforce_probe_client(connection: SalesforceConnection) -> Salesforce:
    """simple-salesforce for probing: the connection's org and CAs, a short timeout, one retry."""
    return connect(dataclasses.replace(connection, max_retries=PROBE_RETRIES, timeout_s=PROBE_TIMEOUT_S))


def probe_salesforce(sf: Salesforce, objects: Iterable[str], cursor: Mapping[str, str],
                     own_user: str | None = None) -> ProbeResult:
    """Each sObject's newest SystemModstamp after its cursor, one query per object (LIMIT 1, or with
    own_user, revloop's Salesforce user id, the newest OWN_WRITE_PAGE changes and who made them): changes
    all last made by own_user are revloop's own writes, whenever they happened.

    queryAll (include_deleted) so that a deletion, which moves SystemModstamp, counts as a change.
    """
    cursor = _readable(cursor)

    def read(name: str) -> tuple[str, str | None, str | None, bool]:
        since = _moment(cursor.get(name))
        # The literal is floored to the second; the exact comparison happens in _later.
        where = f" WHERE {CURSOR_FIELD} > {soql_datetime(since)}" if since else ""
        limit = OWN_WRITE_PAGE if since and own_user else 1
        author = f", {MODIFIED_BY_FIELD}" if own_user else ""
        soql = (f"SELECT {PRIMARY_KEY}, {CURSOR_FIELD}{author} FROM {name}{where} "
                f"ORDER BY {CURSOR_FIELD} DESC LIMIT {limit}")
        try:
            with salesforce_errors(f"change probe of {name}"):
                records = sf.query(soql, include_deleted=True)["records"]
        except (SalesforceApiError, SalesforceRequestLimitExceeded) as exc:
            return name, None, str(exc), False
        if not records:
            return name, None if since else NOTHING_YET, None, False
        stamps = [
            (r.get(CURSOR_FIELD), _moment(r.get(CURSOR_FIELD)), r.get(MODIFIED_BY_FIELD)) for r in records
        ]
        unreadable = next((stamp for stamp, moment, _ in stamps if moment is None), None)
        if unreadable is not None or not stamps[0][1]:
            return name, None, f"Salesforce {name} {CURSOR_FIELD} {unreadable!r} is not a time", False
        # the floored literal lets the cursor's own second back in: only later changes count
        authors = [author for _, moment, author in stamps if since is None or moment > since]
        # complete (fewer than the limit): no change by another user is left unread
        own = bool(authors) and len(records) < limit and all(made_by(a, own_user) for a in authors)
        return name, stamps[0][1].isoformat(), None, own

    return _result((read(name) for name in objects), cursor, _later)


_HINTS = {
    401: " (check HUBSPOT_ACCESS_TOKEN: the private-app token may be revoked)",
    403: " (the private-app token lacks the CRM read scope)",
    429: " (rate limited: the next poll tries again)",
}


def hubspot_probe_client(connection: HubSpotConnection) -> HubSpot:
    """hubspot-api-client for probing: the connection's portal and CAs, one retry."""
    options: dict[str, Any] = {"host": connection.base_url}
    if connection.ca_bundle:
        options["ssl_ca_cert"] = connection.ca_bundle
    return HubSpot(access_token=connection.access_token, retry=retry_policy(PROBE_RETRIES), **options)


def probe_hubspot(hs: HubSpot, object_types: Iterable[str], cursor: Mapping[str, str],
                  own_writes: OwnWrites | None = None) -> ProbeResult:
    """Each object type's newest modification after its cursor: one search, newest first (limit 1, or the
    newest OWN_WRITE_PAGE changes when own_writes can tell revloop's own writes from other changes).

    Search never returns archived records: an archive reaches the warehouse with the daily reconciliation.
    """
    search = hs.crm.objects.search_api
    cursor = _readable(cursor)

    def read(object_type: str) -> tuple[str, str | None, str | None, bool]:
        modified = LAST_MODIFIED_PROPERTY[object_type]
        since = _moment(cursor.get(object_type))
        after = {"propertyName": modified, "operator": "GT", "value": str(epoch_ms(since))} if since else None
        limit = OWN_WRITE_PAGE if since and own_writes else 1
        request = PublicObjectSearchRequest(
            filter_groups=[{"filters": [after]}] if after else [],
            sorts=[{"propertyName": modified, "direction": "DESCENDING"}],
            properties=[modified],
            limit=limit,
        )
        failed = f"HubSpot search of {object_type} failed"
        try:
            page = search.do_search(object_type, request, _request_timeout=PROBE_TIMEOUT_S)
        except ApiException as exc:
            return object_type, None, f"{failed}: HTTP {exc.status}{_HINTS.get(exc.status, '')}", False
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            return object_type, None, f"{failed}: {type(exc).__name__}: {exc}", False
        results = page.results or []
        if not results:
            return object_type, None if since else NOTHING_YET, None, False
        changes = []
        for record in results:
            value = (record.properties or {}).get(modified) or record.updated_at
            if value is None:
                reason = f"HubSpot search of {object_type} returned a record without {modified}"
                return object_type, None, reason, False
            moment = value if isinstance(value, datetime) else _moment(value)
            if moment is None:
                return object_type, None, f"HubSpot {object_type} {modified} {value!r} is not a time", False
            changes.append((str(record.id), moment))
        complete = not (page.paging and page.paging.next) and len(results) < limit
        own = only_own_writes(changes, own_writes, complete)
        return object_type, changes[0][1].isoformat(), None, own

    return _result((read(object_type) for object_type in object_types), cursor, _later)


def channel_digest(channel_dir: Path) -> str:
    """A digest of the names, sizes and modification times of the files the events source would read."""
    digest = hashlib.sha256()
    for path in event_files(channel_dir):
        print_ = fingerprint(path)
        digest.update(f"{path.name}\t{print_['size']}\t{print_['mtime_ns']}\n".encode())
    return digest.hexdigest()


def probe_event_files(events_dir: Path, cursor: Mapping[str, str],
                      channels: Iterable[str] = CHANNELS) -> ProbeResult:
    """The channels under events_dir whose files were added, grown, rewritten or removed since the cursor."""

    def read(channel: str) -> tuple[str, str | None, str | None]:
        try:
            return channel, channel_digest(events_dir / channel), None
        except OSError as exc:
            return channel, None, f"cannot list {events_dir / channel}: {exc.strerror or exc}"

    return _result((read(channel) for channel in channels), cursor,
                   lambda marker, previous: marker != previous)


def probe_webhooks(spool: WebhookSpool, object_types: Iterable[str], cursor: Mapping[str, str],
                   own_writes: OwnWrites | None = None) -> ProbeResult:
    """Each object type with HubSpot webhook events spooled after its cursor (the last event number seen).

    Unlike a poll, an event is news from the first probe on: HubSpot sent it because a record changed.
    Events that are all revloop's own writes (as probe_hubspot tells them) advance the cursor only.
    """
    cursor = {name: value for name, value in cursor.items() if isinstance(value, str) and value.isdigit()}

    def read(object_type: str) -> tuple[str, str | None, str | None, bool]:
        try:
            events = spool.since(int(cursor.get(object_type, "0")), object_type, OWN_WRITE_PAGE)
        except sqlite3.Error as exc:
            return object_type, None, f"webhook spool {spool.path} unreadable: {exc}", False
        if not events:
            return object_type, None, None, False
        changes = [(event.object_id, event.occurred_at) for event in events]
        own = only_own_writes(changes, own_writes, complete=len(events) < OWN_WRITE_PAGE)
        return object_type, str(events[0].seq), None, own

    baseline = {name: cursor.get(name, "0") for name in object_types}
    return _result((read(name) for name in object_types), baseline,
                   lambda marker, previous: previous is None or int(marker) > int(previous))


def with_announced(written: Mapping[str, datetime] | None, spool: WebhookSpool,
                   ids: list[str]) -> Mapping[str, datetime] | None:
    """revloop's own writes plus the changes webhooks announced, the newest per record: a poll's change
    that a webhook announced is the webhook sensor's to run. None when the own writes cannot be read now."""
    if written is None:
        return None
    try:
        announced = spool.announced(ids)
    except sqlite3.Error:
        return written  # the poll then runs it, as it would without webhooks
    both = (written, announced)
    return {i: max(known[i] for known in both if i in known) for i in {*written, *announced}}
