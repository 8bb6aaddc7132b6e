"""A HubSpot CRM v3/v4 API emulator that hubspot-api-client talks to unchanged."""

import functools
import json
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from sandbox.hubspot.associations import TYPES, AssociationGraph, AssociationType
from sandbox.hubspot.errors import HubSpotError, error_body, not_found, validation_error
from sandbox.hubspot.properties import DEFAULT_PROPERTIES, PropertyRegistry
from sandbox.hubspot.schema import LAST_MODIFIED_PROPERTY, PROPERTIES
from sandbox.hubspot.search import find_matches
from sandbox.hubspot.store import ObjectStore, StoredRecord, record_json
from sandbox.hubspot.timestamps import iso_ms, parse_moment
from sandbox.hubspot.webhooks import WebhookSender, WebhookTarget
from sandbox.server import Emulator, Faults, json_response

OBJECT_TYPE_IDS = {"0-1": "contacts", "0-2": "companies", "0-3": "deals", "0-27": "tasks"}
_SINGULAR = {"contact": "contacts", "company": "companies", "deal": "deals", "task": "tasks"}
_FIRST_IDS = {"contacts": 100_001, "companies": 200_001, "deals": 300_001, "tasks": 400_001}
MAX_BATCH_INPUTS = 100
MAX_LIST_LIMIT = 100
MAX_SEARCH_LIMIT = 200
MAX_OWNER_LIMIT = 500
MAX_REQUEST_TARGET = 8192  # bytes of path + query HubSpot's edge accepts before 414
ASSOCIATIONS_PAGE = 500
_OBJECT_NOT_FOUND = "Object not found.  objectId are usually numeric."
_NO_CREDENTIALS = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more "
    "details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)


def object_type_of(segment: str) -> str:
    """The canonical object type of a path segment: contacts, contact and 0-1 are one type."""
    name = segment.lower()
    resolved = OBJECT_TYPE_IDS.get(name) or _SINGULAR.get(name) or (name if name in PROPERTIES else None)
    if resolved is None:
        raise validation_error(f"Unable to infer object type from: {segment}")
    return resolved


def _api(handler: Callable[..., Response]) -> Callable[..., Response]:
    """Turn HubSpotError and malformed JSON into HubSpot's error responses."""

    @functools.wraps(handler)
    def wrapper(self: "HubSpotEmulator", request: Request, **args: Any) -> Response:
        try:
            return handler(self, request, **args)
        except HubSpotError as exc:
            return exc.response()

    return wrapper


class HubSpotEmulator(Emulator):
    """An in-memory HubSpot portal: objects, batch, search, associations, owners and properties."""

    url_map = Map(
        [
            Rule("/crm/v3/objects/<kind>", methods=["GET"], endpoint="list_objects"),
            Rule("/crm/v3/objects/<kind>", methods=["POST"], endpoint="create_object"),
            Rule("/crm/v3/objects/<kind>/search", methods=["POST"], endpoint="search_objects"),
            Rule("/crm/v3/objects/<kind>/merge", methods=["POST"], endpoint="merge_objects"),
            Rule("/crm/v3/objects/<kind>/batch/<operation>", methods=["POST"], endpoint="batch_objects"),
            Rule("/crm/v3/objects/<kind>/<object_id>", methods=["GET"], endpoint="get_object"),
            Rule("/crm/v3/objects/<kind>/<object_id>", methods=["PATCH"], endpoint="update_object"),
            Rule("/crm/v3/objects/<kind>/<object_id>", methods=["DELETE"], endpoint="archive_object"),
            Rule(
                "/crm/v4/objects/<kind>/<object_id>/associations/default/<to_kind>/<to_id>",
                methods=["PUT"],
                endpoint="associate_default",
            ),
            Rule(
                "/crm/v4/objects/<kind>/<object_id>/associations/<to_kind>/<to_id>",
                methods=["PUT"],
                endpoint="associate_labelled",
            ),
            Rule(
                "/crm/v4/objects/<kind>/<object_id>/associations/<to_kind>/<to_id>",
                methods=["DELETE"],
                endpoint="dissociate",
            ),
            Rule(
                "/crm/v4/objects/<kind>/<object_id>/associations/<to_kind>",
                methods=["GET"],
                endpoint="list_associations",
            ),
            Rule(
                "/crm/v4/associations/<kind>/<to_kind>/batch/read", methods=["POST"], endpoint="batch_read_v4"
            ),
            Rule(
                "/crm/v4/associations/<kind>/<to_kind>/batch/associate/default",
                methods=["POST"],
                endpoint="batch_associate_default",
            ),
            Rule(
                "/crm/v3/associations/<kind>/<to_kind>/batch/read", methods=["POST"], endpoint="batch_read_v3"
            ),
            Rule("/crm/v3/owners", methods=["GET"], endpoint="list_owners", strict_slashes=False),
            Rule("/crm/v3/owners/<owner_id>", methods=["GET"], endpoint="get_owner"),
            Rule("/crm/v3/properties/<kind>", methods=["GET"], endpoint="list_properties"),
            Rule("/crm/v3/properties/<kind>", methods=["POST"], endpoint="create_property"),
            Rule("/crm/v3/properties/<kind>/<name>", methods=["GET"], endpoint="get_property"),
        ]
    )

    def __init__(
        self,
        access_token: str = "sandbox-token",
        faults: Faults | None = None,
        search_cap: int = 10_000,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(faults)
        self.access_token = access_token
        self.search_cap = search_cap
        self.clock = clock or (lambda: datetime.now(UTC))
        self.properties = PropertyRegistry(iso_ms(self.now()))
        self.stores = {t: ObjectStore(t, self.properties.unique_names(t), _FIRST_IDS[t]) for t in PROPERTIES}
        self.associations = AssociationGraph()
        self.owners: dict[str, dict[str, Any]] = {}
        self._search_cache: OrderedDict[tuple, tuple[int, list[StoredRecord]]] = OrderedDict()
        self.webhooks: WebhookSender | None = None
        for object_type, store in self.stores.items():
            store.listener = functools.partial(self._changed, object_type)

    def deliver_webhooks(self, target: WebhookTarget | None) -> WebhookSender | None:
        """From now on, post each change of a subscribed record to target as HubSpot does (None: stop)."""
        if self.webhooks is not None:
            self.webhooks.stop()
        self.webhooks = None if target is None else WebhookSender(target, self.clock)
        return self.webhooks

    def _changed(self, object_type: str, change: str, record: StoredRecord, details: dict[str, Any]) -> None:
        if self.webhooks is not None:
            self.webhooks.announce(object_type, change, record.id, record.archived_at or record.updated_at,
                                   **details)

    def now(self) -> datetime:
        """The emulator clock, at HubSpot's millisecond precision."""
        moment = self.clock().astimezone(UTC)
        return moment.replace(microsecond=moment.microsecond // 1000 * 1000)

    # Seeding and inspection (tests and the sandbox CLI) ------------------------------------------
    def seed(self, object_type: str, records: list[dict[str, Any]]) -> list[str]:
        """Load records as they are, bypassing validation; returns their ids."""
        store = self.stores[object_type_of(object_type)]
        ids = []
        with self.lock:
            for seed in records:
                props = {
                    k: (None if v is None else str(v)) for k, v in (seed.get("properties") or {}).items()
                }
                created = _moment(seed.get("createdAt") or props.get("createdate")) or self.now()
                updated = _moment(
                    seed.get("updatedAt") or props.get(LAST_MODIFIED_PROPERTY[store.object_type])
                )
                record = StoredRecord(
                    str(seed.get("id") or store.new_id()), props, created, updated or created
                )
                if seed.get("archived"):
                    record.archived, record.archived_at = (
                        True,
                        _moment(seed.get("archivedAt")) or record.updated_at,
                    )
                store.insert(record, announce=False)
                ids.append(record.id)
        return ids

    def seed_owners(self, owners: list[dict[str, Any]]) -> None:
        """Load owners in HubSpot's owner shape (id, email, firstName, lastName, userId, teams, archived)."""
        with self.lock:
            stamp = iso_ms(self.now())
            for owner in owners:
                entry = {
                    "id": str(owner["id"]),
                    "email": owner.get("email"),
                    "type": "PERSON",
                    "firstName": owner.get("firstName"),
                    "lastName": owner.get("lastName"),
                    "userId": owner.get("userId"),
                    "userIdIncludingInactive": owner.get("userId"),
                    "createdAt": stamp,
                    "updatedAt": stamp,
                    "archived": bool(owner.get("archived")),
                    "teams": owner.get("teams") or [],
                }
                for key in ("createdAt", "updatedAt"):
                    if owner.get(key):
                        entry[key] = iso_ms(_moment(owner[key]))
                self.owners[entry["id"]] = entry
            choices = tuple(o["id"] for o in self.owners.values() if not o["archived"])
            for object_type in PROPERTIES:
                self.properties.with_options(object_type, "hubspot_owner_id", choices)

    def seed_association(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        """Associate two records with HubSpot's default type (and primary, when first of its kind)."""
        with self.lock:
            self.associations.link_default(
                object_type_of(from_type), str(from_id), object_type_of(to_type), str(to_id)
            )

    def records(self, object_type: str, archived: bool = False) -> list[dict[str, Any]]:
        """Every live (or every archived) record with all of its properties, in id order."""
        store = self.stores[object_type_of(object_type)]
        with self.lock:
            chosen = sorted((r for r in store.records.values() if r.archived == archived), key=_id_order)
            return [
                {
                    "id": r.id,
                    "properties": dict(r.properties),
                    "createdAt": r.created_at,
                    "updatedAt": r.updated_at,
                    "archived": r.archived,
                }
                for r in chosen
            ]

    # Base hooks -----------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        target = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or request.full_path
        if len(target) > MAX_REQUEST_TARGET:
            return Response(
                "<html><head><title>414 Request-URI Too Large</title></head><body>"
                "<center><h1>414 Request-URI Too Large</h1></center></body></html>",
                status=414,
                mimetype="text/html",
            )
        return super().handle(request)

    def authenticate(self, request: Request) -> Response | None:
        if request.headers.get("Authorization") == f"Bearer {self.access_token}":
            return None
        return json_response(error_body(_NO_CREDENTIALS, "INVALID_AUTHENTICATION"), 401)

    def rate_limited(self, request: Request) -> Response:
        window = self.faults.rate_window_s
        wait = window - (time.monotonic() - self._window[0]) if self._window else 1
        body = {
            "status": "error",
            "message": "You have reached your secondly limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": error_body("", "")["correlationId"],
            "policyName": "SECONDLY",
            "groupName": "publicapi:private-app:sandbox",
        }
        headers = {"Retry-After": str(max(1, math.ceil(wait))), "X-HubSpot-RateLimit-Secondly-Remaining": "0"}
        return json_response(body, 429, headers)

    def server_error(self, request: Request, status: int) -> Response:
        message = {502: "Bad gateway", 503: "Service unavailable", 504: "Gateway timeout"}.get(
            status, "internal error"
        )
        return json_response(
            error_body(message, "INTERNAL_ERROR" if status == 500 else "SERVICE_UNAVAILABLE"), status
        )

    def not_found(self, request: Request) -> Response:
        return json_response(
            error_body(f"Resource not found: {request.method} {request.path}", "OBJECT_NOT_FOUND"), 404
        )

    # Objects --------------------------------------------------------------------------------------
    @_api
    def list_objects(self, request: Request, kind: str) -> Response:
        object_type = object_type_of(kind)
        limit = _int_arg(request, "limit", 10, MAX_LIST_LIMIT)
        after = request.args.get("after") or "0"
        if not after.isdigit():
            raise validation_error(f"Invalid after cursor: {after}")
        page, next_after = self.stores[object_type].page_by_id(int(after), limit, _flag(request, "archived"))
        body: dict[str, Any] = {"results": [self._render(object_type, r, request.args) for r in page]}
        if next_after:
            link = f"{request.host_url}crm/v3/objects/{kind}?limit={limit}&after={next_after}"
            body["paging"] = {"next": {"after": next_after, "link": link}}
        return json_response(body)

    @_api
    def get_object(self, request: Request, kind: str, object_id: str) -> Response:
        object_type = object_type_of(kind)
        record = self._find(
            object_type, object_id, request.args.get("idProperty"), _flag(request, "archived")
        )
        return json_response(self._render(object_type, record, request.args))

    @_api
    def create_object(self, request: Request, kind: str) -> Response:
        object_type = object_type_of(kind)
        payload = _json(request)
        values = self.properties.clean_write(object_type, payload.get("properties") or {})
        links = self._association_inputs(object_type, payload.get("associations") or [])
        self._check_unique(object_type, [(None, values)])
        record = self._create(object_type, values, links)
        return json_response(self._written(object_type, record, values), 201)

    @_api
    def update_object(self, request: Request, kind: str, object_id: str) -> Response:
        object_type = object_type_of(kind)
        record = self._find(object_type, object_id, request.args.get("idProperty"))
        values = self.properties.clean_write(object_type, _json(request).get("properties") or {})
        self._check_unique(object_type, [(record.id, values)])
        self.stores[object_type].update(record, values, self.now())
        return json_response(self._written(object_type, record, values))

    @_api
    def archive_object(self, request: Request, kind: str, object_id: str) -> Response:
        object_type = object_type_of(kind)
        record = self.stores[object_type].get(object_id)
        if record is not None:  # archiving a missing record is not an error in HubSpot
            self._archive(object_type, record)
        return Response(status=204)

    @_api
    def merge_objects(self, request: Request, kind: str) -> Response:
        """POST /crm/v3/objects/{type}/merge: both records become one new record with a new id.

        As HubSpot documents it (changelog "Updated merge functionality for contacts and companies"): the
        primary's values win, both old ids answer reads with the new record, and hs_merged_object_ids
        lists the ids merged into it. Associations of both move to the new record.
        """
        object_type = object_type_of(kind)
        payload = _json(request)
        primary_id, merged_id = (str(payload.get(k) or "") for k in ("primaryObjectId", "objectIdToMerge"))
        if not primary_id or not merged_id:
            raise validation_error("Both primaryObjectId and objectIdToMerge are required.")
        primary, merged = self._find(object_type, primary_id), self._find(object_type, merged_id)
        if primary.id == merged.id:
            raise validation_error(f"Cannot merge {object_type[:-1]} {primary.id} into itself.")
        survivor = self.stores[object_type].merge(primary, merged, self.now())
        for old in (merged, primary):
            self.associations.move_record(object_type, old.id, survivor.id)
        return json_response(self._render(object_type, survivor, {}))

    # Batch ----------------------------------------------------------------------------------------
    @_api
    def batch_objects(self, request: Request, kind: str, operation: str) -> Response:
        object_type = object_type_of(kind)
        handler = {
            "read": self._batch_read,
            "create": self._batch_create,
            "update": self._batch_update,
            "upsert": self._batch_upsert,
            "archive": self._batch_archive,
        }.get(operation)
        if handler is None:
            return self.not_found(request)
        payload = _json(request)
        inputs = payload.get("inputs")
        if not isinstance(inputs, list):
            raise validation_error("Batch requests need an 'inputs' list.")
        if len(inputs) > MAX_BATCH_INPUTS:
            raise validation_error(
                f"Batch input exceeds the limit: {len(inputs)} inputs given, at most "
                f"{MAX_BATCH_INPUTS} allowed.",
                context={"inputs": [str(len(inputs))]},
            )
        started = iso_ms(self.now())
        return handler(request, object_type, payload, inputs, started)

    def _batch_read(
        self, request: Request, object_type: str, payload: dict, inputs: list, started: str
    ) -> Response:
        id_property = payload.get("idProperty")
        self._check_id_property(object_type, id_property)
        names = {
            "properties": payload.get("properties") or [],
            "propertiesWithHistory": payload.get("propertiesWithHistory") or [],
        }
        results, missing = [], []
        for item in inputs:
            record = self.stores[object_type].find(
                id_property, str(item.get("id")), _flag(request, "archived")
            )
            if record is None:
                missing.append(str(item.get("id")))
            else:
                results.append(self._render(object_type, record, names))
        errors = _missing_errors("get", object_type, missing)
        return self._batch_response(results, errors, started)

    def _batch_create(
        self, request: Request, object_type: str, payload: dict, inputs: list, started: str
    ) -> Response:
        prepared = []
        for item in inputs:
            values = self.properties.clean_write(object_type, item.get("properties") or {})
            prepared.append((values, self._association_inputs(object_type, item.get("associations") or [])))
        self._check_unique(object_type, [(None, values) for values, _ in prepared])
        created = [self._create(object_type, values, links) for values, links in prepared]
        results = [self._written(object_type, r, v) for r, (v, _) in zip(created, prepared, strict=True)]
        return self._batch_response(results, [], started, status=201)

    def _batch_update(
        self, request: Request, object_type: str, payload: dict, inputs: list, started: str
    ) -> Response:
        store, found, missing, refused = self.stores[object_type], [], [], []
        for item in inputs:
            id_property = item.get("idProperty")
            self._check_id_property(object_type, id_property)
            record = store.find(id_property, str(item.get("id")))
            values = self.properties.clean_write(object_type, item.get("properties") or {})
            if str(item.get("id")).lower() in self.faults.refused_ids:
                refused.append(str(item.get("id")))
            elif record is None:
                missing.append(str(item.get("id")))
            else:
                found.append((record, values))
        ids = [r.id for r, _ in found]
        if len(set(ids)) != len(ids):
            raise validation_error(
                "Duplicate IDs found in batch input: each record can be updated once per batch."
            )
        self._check_unique(object_type, [(r.id, v) for r, v in found])
        now = self.now()
        results = [self._written(object_type, store.update(r, v, now), v) for r, v in found]
        errors = _missing_errors("update", object_type, missing) + self._refused_errors(refused)
        return self._batch_response(results, errors, started)

    def _batch_upsert(
        self, request: Request, object_type: str, payload: dict, inputs: list, started: str
    ) -> Response:
        store, plan, refused = self.stores[object_type], [], []
        for item in inputs:
            id_property = item.get("idProperty")
            if not id_property or id_property == "hs_object_id":
                raise validation_error(
                    "Upsert needs an idProperty naming a unique property other than the id."
                )
            self._check_id_property(object_type, id_property)
            key = item.get("id")
            if key in (None, ""):
                raise validation_error("Every upsert input needs an 'id': the value of its idProperty.")
            values = self.properties.clean_write(object_type, item.get("properties") or {})
            values.setdefault(id_property, str(key))
            if str(key).lower() in self.faults.refused_ids:
                refused.append(str(key))
                continue
            plan.append((store.find(id_property, str(key)), values))
        seen_keys = [(r.id if r else None, v) for r, v in plan]
        self._check_unique(object_type, seen_keys)
        now, results = self.now(), []
        for record, values in plan:
            if record is None:
                written = self._create(object_type, values, [])
            else:
                written = store.update(record, values, now)
            results.append({**self._written(object_type, written, values), "new": record is None})
        return self._batch_response(results, self._refused_errors(refused), started)

    def _refused_errors(self, ids: list[str]) -> list[dict[str, Any]]:
        """The multi-status error entries of inputs a test told the portal to refuse (Faults.refuse)."""
        reasons: dict[str, list[str]] = {}
        for record_id in ids:
            reasons.setdefault(self.faults.refused_ids[record_id.lower()], []).append(record_id)
        return [
            {"status": "error", "category": "VALIDATION_ERROR", "context": {"ids": group}, "message": reason}
            for reason, group in reasons.items()
        ]

    def _batch_archive(
        self, request: Request, object_type: str, payload: dict, inputs: list, started: str
    ) -> Response:
        for item in inputs:
            record = self.stores[object_type].get(str(item.get("id")))
            if record is not None:
                self._archive(object_type, record)
        return Response(status=204)

    def _batch_response(self, results: list, errors: list, started: str, status: int = 200) -> Response:
        body: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": started,
            "completedAt": iso_ms(self.now()),
        }
        if errors:
            body.update(numErrors=sum(len(next(iter(e["context"].values()))) for e in errors), errors=errors)
            status = 207
        return json_response(body, status)

    # Search ---------------------------------------------------------------------------------------
    @_api
    def search_objects(self, request: Request, kind: str) -> Response:
        object_type = object_type_of(kind)
        payload = _json(request)
        limit = _bounded(payload.get("limit", 10), "limit", MAX_SEARCH_LIMIT)
        after = str(payload.get("after") or "0")
        if not after.isdigit():
            raise validation_error(f"Invalid after value: {after}; search pages by numeric offsets.")
        offset = int(after)
        if offset >= self.search_cap:
            raise validation_error(
                f"Search results are limited to {self.search_cap} total results per query; "
                f"after={offset} pages beyond that. Narrow the filters (for example on hs_lastmodifieddate) "
                "and start again from the beginning.",
                subCategory="SearchError.RESULT_LIMIT_EXCEEDED",
            )
        matches = self._search_matches(object_type, payload)
        page = matches[offset : min(offset + limit, self.search_cap)]
        names = {"properties": payload.get("properties") or []}
        body: dict[str, Any] = {
            "total": len(matches),
            "results": [self._render(object_type, r, names) for r in page],
        }
        if offset + limit < len(matches):
            body["paging"] = {
                "next": {
                    "after": str(offset + limit),
                    "link": f"{request.host_url}crm/v3/objects/{kind}/search?after={offset + limit}",
                }
            }
        return json_response(body)

    def _search_matches(self, object_type: str, payload: dict) -> list[StoredRecord]:
        """Matching live records in order; filtered and sorted once per (query, sort) and store version."""
        store = self.stores[object_type]
        key = (
            object_type,
            json.dumps(
                [payload.get("filterGroups"), payload.get("sorts"), payload.get("query")],
                sort_keys=True,
                default=str,
            ),
        )
        cached = self._search_cache.get(key)
        if cached and cached[0] == store.version:
            self._search_cache.move_to_end(key)
            return cached[1]
        matches = find_matches(store, payload, functools.partial(self.properties.get, object_type))
        self._search_cache[key] = (store.version, matches)
        while len(self._search_cache) > 32:
            self._search_cache.popitem(last=False)
        return matches

    # Associations ---------------------------------------------------------------------------------
    @_api
    def associate_default(
        self, request: Request, kind: str, object_id: str, to_kind: str, to_id: str
    ) -> Response:
        from_type, to_type = object_type_of(kind), object_type_of(to_kind)
        self._find(from_type, object_id)
        self._find(to_type, to_id)
        started = iso_ms(self.now())
        created = self.associations.link_default(from_type, object_id, to_type, to_id)
        results = [
            {
                "from": {"id": object_id},
                "to": {"id": to_id},
                "associationSpec": {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": t.type_id},
            }
            for t in created
        ]
        return self._batch_response(results, [], started)

    @_api
    def associate_labelled(
        self, request: Request, kind: str, object_id: str, to_kind: str, to_id: str
    ) -> Response:
        from_type, to_type = object_type_of(kind), object_type_of(to_kind)
        self._find(from_type, object_id)
        self._find(to_type, to_id)
        specs = _json(request, default=[])
        if not isinstance(specs, list) or not specs:
            raise validation_error(
                "The body must list association types: [{associationCategory, associationTypeId}]."
            )
        types = [
            self.associations.type_for(
                from_type,
                to_type,
                s.get("associationTypeId", 0),
                s.get("associationCategory", "HUBSPOT_DEFINED"),
            )
            for s in specs
        ]
        for type_ in types:
            self.associations.link(type_, object_id, to_id)
        body = {
            "fromObjectTypeId": _type_id(from_type),
            "fromObjectId": int(object_id),
            "toObjectTypeId": _type_id(to_type),
            "toObjectId": int(to_id),
            "labels": [t.label for t in types if t.label],
        }
        return json_response(body, 201)

    @_api
    def dissociate(self, request: Request, kind: str, object_id: str, to_kind: str, to_id: str) -> Response:
        self.associations.unlink(object_type_of(kind), object_id, object_type_of(to_kind), to_id)
        return Response(status=204)

    @_api
    def list_associations(self, request: Request, kind: str, object_id: str, to_kind: str) -> Response:
        from_type, to_type = object_type_of(kind), object_type_of(to_kind)
        self._find(from_type, object_id)
        limit = _int_arg(request, "limit", ASSOCIATIONS_PAGE, ASSOCIATIONS_PAGE)
        after = int(request.args.get("after") or 0)
        targets = sorted(
            self.associations.targets(from_type, object_id, to_type).items(), key=lambda t: _id_key(t[0])
        )
        chunk = targets[after : after + limit]
        body: dict[str, Any] = {"results": [_v4_target(to_id, ids) for to_id, ids in chunk]}
        if after + limit < len(targets):
            body["paging"] = {"next": {"after": str(after + limit), "link": None}}
        return json_response(body)

    @_api
    def batch_read_v4(self, request: Request, kind: str, to_kind: str) -> Response:
        from_type, to_type = object_type_of(kind), object_type_of(to_kind)
        inputs, started = self._association_batch_inputs(request), iso_ms(self.now())
        results, without = [], []
        for from_id in inputs:
            targets = sorted(
                self.associations.targets(from_type, from_id, to_type).items(), key=lambda t: _id_key(t[0])
            )
            if not targets:
                without.append(from_id)
                continue
            entry: dict[str, Any] = {
                "from": {"id": from_id},
                "to": [_v4_target(to_id, ids) for to_id, ids in targets[:ASSOCIATIONS_PAGE]],
            }
            if len(targets) > ASSOCIATIONS_PAGE:
                link = f"{request.host_url}crm/v4/objects/{from_type}/{from_id}/associations/{to_type}"
                entry["paging"] = {
                    "next": {"after": str(ASSOCIATIONS_PAGE), "link": f"{link}?after={ASSOCIATIONS_PAGE}"}
                }
            results.append(entry)
        errors = [
            {
                "status": "error",
                "category": "OBJECT_NOT_FOUND",
                "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                "context": {"fromObjectId": [i]},
                "message": f"No {to_type[:-1]} is associated with {from_type[:-1]} {i}.",
            }
            for i in without
        ]
        return self._batch_response(results, errors, started)

    @_api
    def batch_associate_default(self, request: Request, kind: str, to_kind: str) -> Response:
        from_type, to_type = object_type_of(kind), object_type_of(to_kind)
        inputs = _json(request).get("inputs") or []
        if len(inputs) > MAX_BATCH_INPUTS * 20:
            raise validation_error(f"At most {MAX_BATCH_INPUTS * 20} associations per batch.")
        started, results = iso_ms(self.now()), []
        pairs = [(str(i["from"]["id"]), str(i["to"]["id"])) for i in inputs]
        for from_id, to_id in pairs:
            self._find(from_type, from_id)
            self._find(to_type, to_id)
        for from_id, to_id in pairs:
            for type_ in self.associations.link_default(from_type, from_id, to_type, to_id):
                results.append(
                    {
                        "from": {"id": from_id},
                        "to": {"id": to_id},
                        "associationSpec": {
                            "associationCategory": "HUBSPOT_DEFINED",
                            "associationTypeId": type_.type_id,
                        },
                    }
                )
        return self._batch_response(results, [], started)

    @_api
    def batch_read_v3(self, request: Request, kind: str, to_kind: str) -> Response:
        from_type, to_type = object_type_of(kind), object_type_of(to_kind)
        inputs, started = self._association_batch_inputs(request), iso_ms(self.now())
        results, without = [], []
        for from_id in inputs:
            targets = sorted(
                self.associations.targets(from_type, from_id, to_type).items(), key=lambda t: _id_key(t[0])
            )
            if not targets:
                without.append(from_id)
                continue
            results.append(
                {
                    "from": {"id": from_id},
                    "to": [
                        {"id": to_id, "type": TYPES[t].v3_name} for to_id, ids in targets for t in sorted(ids)
                    ],
                }
            )
        errors = [
            {
                "status": "error",
                "category": "OBJECT_NOT_FOUND",
                "context": {"fromObjectId": [i]},
                "message": f"No {to_type[:-1]} is associated with {from_type[:-1]} {i}.",
            }
            for i in without
        ]
        return self._batch_response(results, errors, started)

    # Owners ---------------------------------------------------------------------------------------
    @_api
    def list_owners(self, request: Request) -> Response:
        limit = _int_arg(request, "limit", 100, MAX_OWNER_LIMIT)
        after = request.args.get("after") or "0"
        if not after.isdigit():
            raise validation_error(f"Invalid after cursor: {after}")
        email = (request.args.get("email") or "").lower()
        chosen = [
            o
            for o in sorted(self.owners.values(), key=lambda o: _id_key(o["id"]))
            if o["archived"] == _flag(request, "archived")
            and (not email or (o["email"] or "").lower() == email)
        ]
        start = int(after)
        body: dict[str, Any] = {"results": chosen[start : start + limit]}
        if start + limit < len(chosen):
            link = f"{request.host_url}crm/v3/owners/?limit={limit}&after={start + limit}"
            body["paging"] = {"next": {"after": str(start + limit), "link": link}}
        return json_response(body)

    @_api
    def get_owner(self, request: Request, owner_id: str) -> Response:
        by = request.args.get("idProperty", "id")
        if by not in ("id", "userId"):
            raise validation_error("idProperty must be id or userId.")
        archived = _flag(request, "archived")
        for owner in self.owners.values():
            if (
                str(owner["userId"] if by == "userId" else owner["id"]) == owner_id
                and owner["archived"] == archived
            ):
                return json_response(owner)
        raise not_found(f"Owner {owner_id} not found.")

    # Properties -----------------------------------------------------------------------------------
    @_api
    def list_properties(self, request: Request, kind: str) -> Response:
        object_type = object_type_of(kind)
        props = self.properties.all(object_type)
        return json_response({"results": [self.properties.as_json(object_type, p) for p in props]})

    @_api
    def get_property(self, request: Request, kind: str, name: str) -> Response:
        object_type = object_type_of(kind)
        prop = self.properties.get(object_type, name)
        if prop is None:
            raise not_found(f"Unable to find property {name} for object type {object_type}.")
        return json_response(self.properties.as_json(object_type, prop))

    @_api
    def create_property(self, request: Request, kind: str) -> Response:
        object_type = object_type_of(kind)
        prop = self.properties.create(object_type, _json(request), iso_ms(self.now()))
        if prop.has_unique_value:
            store = self.stores[object_type]
            store.unique_names = self.properties.unique_names(object_type)
            store.reindex()
        return json_response(self.properties.as_json(object_type, prop), 201)

    # Helpers --------------------------------------------------------------------------------------
    def _find(
        self, object_type: str, key: str, id_property: str | None = None, archived: bool = False
    ) -> StoredRecord:
        self._check_id_property(object_type, id_property)
        record = self.stores[object_type].find(id_property, str(key), include_archived=archived)
        if record is None:
            raise not_found(_OBJECT_NOT_FOUND)
        return record

    def _check_id_property(self, object_type: str, id_property: str | None) -> None:
        if id_property and id_property not in self.properties.unique_names(object_type):
            raise validation_error(
                f"{id_property} is not a unique property of {object_type}; it cannot be an idProperty."
            )

    def _check_unique(self, object_type: str, writes: list[tuple[str | None, dict[str, str | None]]]) -> None:
        """409 when a write would give a unique value (a contact's e-mail, say) to a second record."""
        store = self.stores[object_type]
        claimed: dict[tuple[str, str], int] = {}
        for position, (record_id, values) in enumerate(writes):
            for name in store.unique_names:
                value = values.get(name)
                if value in (None, "") or name == "hs_object_id":
                    continue
                holder = store.owner_of(name, value)
                key = (name, value.strip().lower())
                if claimed.setdefault(key, position) != position:
                    raise validation_error(f"Duplicate {name} values in the batch input: {value}")
                if holder is not None and holder != record_id:
                    if object_type == "contacts" and name == "email":
                        raise HubSpotError(409, f"Contact already exists. Existing ID: {holder}", "CONFLICT")
                    raise HubSpotError(
                        409,
                        f"A {object_type[:-1]} with {name} {value!r} already exists. Existing ID: {holder}",
                        "CONFLICT",
                    )

    def _association_inputs(self, object_type: str, items: list[dict]) -> list[tuple[AssociationType, str]]:
        links = []
        for item in items:
            to_id = str((item.get("to") or {}).get("id"))
            for spec in item.get("types") or []:
                type_ = TYPES.get(int(spec.get("associationTypeId", 0)))
                if (
                    type_ is None
                    or type_.from_type != object_type
                    or spec.get("associationCategory") not in (None, "HUBSPOT_DEFINED")
                ):
                    raise validation_error(
                        f"Association type {spec.get('associationTypeId')} is not valid for {object_type}."
                    )
                if self.stores[type_.to_type].get(to_id) is None:
                    raise validation_error(f"Association target {type_.to_type} {to_id} does not exist.")
                links.append((type_, to_id))
        return links

    def _association_batch_inputs(self, request: Request) -> list[str]:
        inputs = _json(request).get("inputs")
        if not isinstance(inputs, list):
            raise validation_error("Batch requests need an 'inputs' list.")
        if len(inputs) > 1000:
            raise validation_error(
                f"Batch input exceeds the limit: {len(inputs)} inputs given, at most 1000."
            )
        return [str(i.get("id")) for i in inputs]

    def _create(
        self, object_type: str, values: dict[str, str | None], links: list[tuple[AssociationType, str]]
    ) -> StoredRecord:
        store, now = self.stores[object_type], self.now()
        record = store.insert(StoredRecord(store.new_id(), dict(values), now, now))
        for type_, to_id in links:
            self.associations.link(type_, record.id, to_id)
        return record

    def _archive(self, object_type: str, record: StoredRecord) -> None:
        self.stores[object_type].archive(record, self.now())
        self.associations.drop_record(object_type, record.id)

    def _render(self, object_type: str, record: StoredRecord, args: Any) -> dict[str, Any]:
        """A record as read endpoints return it, with the properties, history and associations asked for."""
        names = [n for n in _names(args, "properties") if self.properties.get(object_type, n)]
        if names:  # HubSpot always adds the identity and timestamp properties to an explicit list
            names = list(
                dict.fromkeys([*names, "hs_object_id", "createdate", LAST_MODIFIED_PROPERTY[object_type]])
            )
        history = [n for n in _names(args, "propertiesWithHistory") if self.properties.get(object_type, n)]
        body = record_json(record, names, DEFAULT_PROPERTIES[object_type], history)
        associated = {}
        for to_kind in _names(args, "associations"):
            to_type = object_type_of(to_kind)
            targets = self.associations.targets(object_type, record.id, to_type)
            if targets:
                associated[to_kind] = {
                    "results": [
                        {"id": to_id, "type": TYPES[t].v3_name}
                        for to_id, ids in sorted(targets.items())
                        for t in sorted(ids)
                    ]
                }
        if associated:
            body["associations"] = associated
        return body

    def _written(self, object_type: str, record: StoredRecord, values: dict[str, Any]) -> dict[str, Any]:
        """A record as write endpoints return it: the written properties plus the default set."""
        names = list(dict.fromkeys([*DEFAULT_PROPERTIES[object_type], *values]))
        body = record_json(record, None, tuple(names))
        body["properties"].update({n: record.properties.get(n) for n in values})
        return body


def _missing_errors(verb: str, object_type: str, ids: list[str]) -> list[dict[str, Any]]:
    """The multi-status error entry for batch inputs whose records do not exist."""
    if not ids:
        return []
    message = (
        f"Could not {verb} some {object_type[:-1].upper()} objects, they may be deleted or not exist. "
        "Check that ids are valid."
    )
    return [{"status": "error", "category": "OBJECT_NOT_FOUND", "context": {"ids": ids}, "message": message}]


def _names(args: Any, key: str) -> list[str]:
    """A multi-valued argument, given repeated (a=1&a=2), comma-joined, or as a JSON list."""
    raw = args.getlist(key) if hasattr(args, "getlist") else args.get(key) or []
    return [n.strip() for item in raw for n in str(item).split(",") if n.strip()]


def _flag(request: Request, key: str) -> bool:
    return (request.args.get(key) or "false").lower() == "true"


def _int_arg(request: Request, key: str, default: int, maximum: int) -> int:
    return _bounded(request.args.get(key, default), key, maximum)


def _bounded(raw: Any, key: str, maximum: int) -> int:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise validation_error(f"{key} must be an integer, got {raw!r}.") from None
    if not 1 <= value <= maximum:
        raise validation_error(f"{key} must be between 1 and {maximum}, got {value}.")
    return value


def _json(request: Request, default: Any = None) -> Any:
    raw = request.get_data(as_text=True)
    if not raw.strip():
        return {} if default is None else default
    try:
        return json.loads(raw)
    except ValueError:
        raise validation_error("Invalid input JSON: the request body could not be parsed.") from None


def _moment(value: Any) -> datetime | None:
    return None if value in (None, "") else parse_moment(value)


def _id_key(record_id: str) -> tuple[int, str]:
    return (int(record_id), "") if record_id.isdigit() else (0, record_id)


def _id_order(record: StoredRecord) -> tuple[int, str]:
    return _id_key(record.id)


def _type_id(object_type: str) -> str:
    return {v: k for k, v in OBJECT_TYPE_IDS.items()}[object_type]


def _v4_target(to_id: str, type_ids: set[int]) -> dict[str, Any]:
    return {
        "toObjectId": int(to_id) if to_id.isdigit() else to_id,
        "associationTypes": [
            {"category": "HUBSPOT_DEFINED", "typeId": t, "label": TYPES[t].label} for t in sorted(type_ids)
        ],
    }
