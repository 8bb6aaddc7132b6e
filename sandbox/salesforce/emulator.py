"""A Salesforce REST API emulator that simple-salesforce and other real clients use unchanged."""

import functools
import json
from collections.abc import Callable
from datetime import UTC, datetime

from werkzeug.routing import BaseConverter, Map, Rule
from werkzeug.wrappers import Request, Response

from sandbox.salesforce import describe, login
from sandbox.salesforce.deleted import deleted_records, updated_records
from sandbox.salesforce.errors import SalesforceError, not_found
from sandbox.salesforce.ids import normalize_id
from sandbox.salesforce.query import Cursors, compile_query, render, run
from sandbox.salesforce.store import INTEGRATION_USER_ID, SandboxOrg, SObjectTable
from sandbox.salesforce.values import coerce
from sandbox.server import Emulator, Faults, json_response

OLDEST_VERSION = 54
LATEST_VERSION = 66
COLLECTION_LIMIT = 200
COLLECTION_READ_LIMIT = 2000
DEFAULT_DAILY_REQUESTS = 100_000  # what /limits reports when no request_limit is configured
_SEASONS = ("Spring", "Summer", "Winter")
_ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": (
        "Record rolled back because not all records were valid and the request was using AllOrNone header"
    ),
    "fields": [],
}


class _VersionConverter(BaseConverter):
    regex = r"\d+\.\d"


def _data(path: str) -> str:
    return f"/services/data/v<version:version>{path}"


def _api_call(handler: Callable) -> Callable:
    """Wrap a /services/data/vXX.X handler: version check, API request accounting, Salesforce errors."""

    @functools.wraps(handler)
    def wrapper(self: "SalesforceEmulator", request: Request, version: str, **kwargs) -> Response:
        try:
            self._check_version(version)
            self._count_request()
            response = handler(self, request, version, **kwargs)
        except SalesforceError as exc:
            response = exc.response()
        response.headers["Sforce-Limit-Info"] = f"api-usage={self.requests_used}/{self.daily_request_max}"
        return response

    return wrapper


def _version_label(major: int) -> str:
    step = major - OLDEST_VERSION
    return f"{_SEASONS[step % 3]} '{22 + (step + 1) // 3}"


class SalesforceEmulator(Emulator):
    """The sandbox org behind a Salesforce REST API: query, sObjects, collections, describe, limits, login."""

    url_map = Map(
        [
            Rule("/services/data", endpoint="versions", methods=["GET"]),
            Rule(_data("/"), endpoint="resources", methods=["GET"]),
            Rule(_data("/limits/"), endpoint="limits", methods=["GET"]),
            Rule(_data("/query/"), endpoint="query", methods=["GET"]),
            Rule(_data("/queryAll/"), endpoint="query_all", methods=["GET"]),
            Rule(_data("/query/<locator>"), endpoint="query_more", methods=["GET"]),
            Rule(_data("/queryAll/<locator>"), endpoint="query_more", methods=["GET"]),
            Rule(_data("/sobjects/"), endpoint="describe_global", methods=["GET"]),
            Rule(_data("/sobjects/<object_name>/"), endpoint="sobject_root", methods=["GET", "POST"]),
            Rule(_data("/sobjects/<object_name>/describe/"), endpoint="describe_sobject", methods=["GET"]),
            Rule(_data("/sobjects/<object_name>/deleted/"), endpoint="get_deleted", methods=["GET"]),
            Rule(_data("/sobjects/<object_name>/updated/"), endpoint="get_updated", methods=["GET"]),
            Rule(
                _data("/sobjects/<object_name>/<record_id>"),
                endpoint="sobject_row",
                methods=["GET", "PATCH", "DELETE"],
            ),
            Rule(
                _data("/sobjects/<object_name>/<field_name>/<path:value>"),
                endpoint="sobject_by_external_id",
                methods=["GET", "PATCH", "DELETE"],
            ),
            Rule(_data("/composite/sobjects/"), endpoint="collection", methods=["POST", "PATCH", "DELETE"]),
            Rule(
                _data("/composite/sobjects/<object_name>"),
                endpoint="collection_retrieve",
                methods=["GET", "POST"],
            ),
            Rule(
                _data("/composite/sobjects/<object_name>/<field_name>"),
                endpoint="collection_upsert",
                methods=["PATCH"],
            ),
            Rule(_data("/chatter/users/me"), endpoint="chatter_me", methods=["GET"]),
            Rule("/services/oauth2/token", endpoint="oauth_token", methods=["POST"]),
            Rule("/services/oauth2/userinfo", endpoint="userinfo", methods=["GET", "POST"]),
            Rule("/services/Soap/u/<version:version>", endpoint="soap_login", methods=["POST"]),
        ],
        converters={"version": _VersionConverter},
        strict_slashes=False,
    )

    def __init__(
        self,
        access_token: str = "sandbox-token",
        faults: Faults | None = None,
        batch_size: int = 2000,
        with_revloop_fields: bool = True,
        request_limit: int | None = None,
        clock: Callable[[], datetime] | None = None,
        *,
        username: str = "integration@revloop.sandbox",
        password: str = "sandbox-password",
        security_token: str = "sandbox-security-token",
    ) -> None:
        super().__init__(faults)
        self.access_token = access_token
        self.batch_size = batch_size
        self.request_limit = request_limit
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.requests_used = 0
        self.org = SandboxOrg(lambda: self.clock(), with_revloop_fields=with_revloop_fields)
        self.cursors = Cursors()
        # Records purged from the recycle bin (hard deletes), by object: id -> when. Get Deleted lists them.
        self.purged: dict[str, dict[str, datetime]] = {}
        self.credentials = login.Credentials(
            username, password, security_token, access_token, INTEGRATION_USER_ID
        )
        # access token -> the user its session runs as (the integration user's, and those of add_user)
        self.sessions: dict[str, str] = {access_token: INTEGRATION_USER_ID}

    # Test and seeding interface -------------------------------------------------------------------
    def seed(self, object_name: str, records: list[dict]) -> list[str]:
        """Load records (Salesforce field names) as given; Id, audit fields, IsDeleted assigned if absent."""
        with self.lock:
            return self.org.seed(object_name, records)

    def add_user(self, username: str, access_token: str, last_name: str = "Colleague") -> str:
        """Another user of the org (a sales rep, an admin) with a session of their own; returns the user id.

        Their writes through the API are stamped with their id (CreatedById, LastModifiedById), as
        Salesforce stamps every change with the user who made it."""
        with self.lock:
            [user_id] = self.org.seed(
                "User", [{"Username": username, "LastName": last_name, "Email": username}]
            )
            self.sessions[access_token] = user_id
            return user_id

    def records(self, object_name: str, include_deleted: bool = False) -> list[dict]:
        """Copies of an object's records with Python values (datetime, date); deleted ones on request."""
        with self.lock:
            table = self.org.existing_table(object_name)
            return [
                {name: row.get(name) for name in table.fields}
                for row in self.org.rows(table, include_deleted)
            ]

    def purge(self, object_name: str, record_ids: list[str]) -> None:
        """Hard-delete records (a hard delete, or emptying the recycle bin): gone from every query; only
        Get Deleted still lists them."""
        with self.lock:
            table = self.org.existing_table(object_name)
            for record_id in record_ids:
                table.records.pop(record_id)
                self.purged.setdefault(table.name, {})[record_id] = self.org.now()

    def begin_transaction(self) -> datetime:
        """Open a long transaction now: Get Updated and Get Deleted cover nothing past its start until
        commit(), which stamps its records with that start (a late commit). Returns its start."""
        with self.lock:
            started = self.org.now()
            self.org.open_transactions.append(started)
            return started

    def commit(self, started: datetime, object_name: str, records: list[dict]) -> list[str]:
        """Commit the transaction begun at started: its records appear, stamped when it began."""
        with self.lock:
            self.org.open_transactions.remove(started)
            stamped = [{"CreatedDate": started, "SystemModstamp": started, **record} for record in records]
            return self.org.seed(object_name, stamped)

    @property
    def daily_request_max(self) -> int:
        return self.request_limit if self.request_limit is not None else DEFAULT_DAILY_REQUESTS

    # Hooks ----------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        with self.lock:
            try:
                return super().handle(request)
            finally:
                self.org.acting_user = INTEGRATION_USER_ID  # seeding and test edits act as before
    def carries_credentials(self, request: Request) -> bool:
        path = request.path.rstrip("/")
        return path == "/services/oauth2/token" or path.startswith("/services/Soap/u/")

    def authenticate(self, request: Request) -> Response | None:
        if request.path.rstrip("/") == "/services/data" or self.carries_credentials(request):
            return None
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        user_id = self.sessions.get(token) if scheme.lower() in ("bearer", "oauth") else None
        if user_id is not None:
            self.org.acting_user = user_id  # requests run one at a time (Emulator.lock)
            return None
        return SalesforceError(401, "INVALID_SESSION_ID", "Session expired or invalid").response()

    def rate_limited(self, request: Request) -> Response:
        return SalesforceError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.").response()

    def server_error(self, request: Request, status: int) -> Response:
        if status == 503:
            return SalesforceError(503, "SERVER_UNAVAILABLE", "Server temporarily unavailable.").response()
        return SalesforceError(
            status,
            "UNKNOWN_EXCEPTION",
            "An unexpected error occurred. Please include this ErrorId if you contact support: "
            "1940343386-5872 (-1210438443)",
        ).response()

    def not_found(self, request: Request) -> Response:
        return not_found().response()

    # Gatekeeping ----------------------------------------------------------------------------------
    def _check_version(self, version: str) -> None:
        major, minor = (int(part) for part in version.split("."))
        if minor != 0 or major > LATEST_VERSION:
            raise not_found()
        if major < OLDEST_VERSION:
            raise SalesforceError(
                410,
                "UNSUPPORTED_API_VERSION",
                f"API version {version} is retired or not supported here; use {OLDEST_VERSION}.0 or later",
            )

    def _count_request(self) -> None:
        if self.request_limit is not None and self.requests_used >= self.request_limit:
            raise SalesforceError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        self.requests_used += 1

    @staticmethod
    def _json_body(request: Request) -> object:
        try:
            return json.loads(request.get_data(as_text=True) or "null")
        except json.JSONDecodeError as exc:
            raise SalesforceError(
                400,
                "JSON_PARSER_ERROR",
                f"Unexpected character at [line:{exc.lineno}, column:{exc.colno}]: {exc.msg}",
            ) from exc

    # Discovery ------------------------------------------------------------------------------------
    def versions(self, request: Request) -> Response:
        return json_response(
            [
                {"label": _version_label(major), "url": f"/services/data/v{major}.0", "version": f"{major}.0"}
                for major in range(OLDEST_VERSION, LATEST_VERSION + 1)
            ]
        )

    @_api_call
    def resources(self, request: Request, version: str) -> Response:
        base = f"/services/data/v{version}"
        names = ("sobjects", "query", "queryAll", "limits", "composite")
        return json_response({name: f"{base}/{name}" for name in names})

    @_api_call
    def limits(self, request: Request, version: str) -> Response:
        maximum = self.daily_request_max
        return json_response(
            {"DailyApiRequests": {"Max": maximum, "Remaining": max(0, maximum - self.requests_used)}}
        )

    @_api_call
    def describe_global(self, request: Request, version: str) -> Response:
        return json_response(describe.describe_global(list(self.org.tables.values()), version))

    @_api_call
    def describe_sobject(self, request: Request, version: str, object_name: str) -> Response:
        return json_response(describe.describe_sobject(self.org.existing_table(object_name), version))

    @_api_call
    def get_updated(self, request: Request, version: str, object_name: str) -> Response:
        table = self.org.existing_table(object_name)
        return json_response(updated_records(self.org, table, request.args))

    @_api_call
    def get_deleted(self, request: Request, version: str, object_name: str) -> Response:
        table = self.org.existing_table(object_name)
        return json_response(deleted_records(self.org, table, request.args, self.purged.get(table.name, {})))

    # Query ----------------------------------------------------------------------------------------
    @_api_call
    def query(self, request: Request, version: str) -> Response:
        return self._query(request, version, include_deleted=False)

    @_api_call
    def query_all(self, request: Request, version: str) -> Response:
        return self._query(request, version, include_deleted=True)

    def _query(self, request: Request, version: str, include_deleted: bool) -> Response:
        text = request.args.get("q")
        if not text:
            raise SalesforceError(400, "MALFORMED_QUERY", "A query string has to be specified")
        compiled = compile_query(text, self.org, self.org.now().date())
        rows = run(compiled, self.org, include_deleted)
        if compiled.count_only:
            return json_response({"totalSize": len(rows), "done": True, "records": []})
        batch = self._batch_size(request)
        body = {
            "totalSize": len(rows),
            "done": len(rows) <= batch,
            "records": [render(compiled.table, row, compiled.fields, version) for row in rows[:batch]],
        }
        if len(rows) > batch:
            cursor_id = self.cursors.open(compiled, rows)
            body["nextRecordsUrl"] = f"/services/data/v{version}/query/{cursor_id}-{batch}"
        return json_response(body)

    def _batch_size(self, request: Request) -> int:
        # Clients may ask for smaller batches with Sforce-Query-Options: batchSize=n (200..2000).
        options = request.headers.get("Sforce-Query-Options", "")
        for option in options.split(","):
            name, _, value = option.strip().partition("=")
            if name == "batchSize" and value.isdigit():
                return min(max(int(value), 200), 2000)
        return self.batch_size

    @_api_call
    def query_more(self, request: Request, version: str, locator: str) -> Response:
        cursor_id, _, start_text = locator.rpartition("-")
        if not start_text.isdigit():
            raise SalesforceError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        cursor = self.cursors.get(cursor_id)
        start = int(start_text)
        end = start + self._batch_size(request)
        records = [
            render(cursor.table, cursor.table.records[record_id], cursor.fields, version)
            for record_id in cursor.ids[start:end]
        ]
        body = {"totalSize": len(cursor.ids), "done": end >= len(cursor.ids), "records": records}
        if body["done"]:
            self.cursors.close(cursor_id)
        else:
            body["nextRecordsUrl"] = f"/services/data/v{version}/query/{cursor_id}-{end}"
        return json_response(body)

    # sObject rows ---------------------------------------------------------------------------------
    @_api_call
    def sobject_root(self, request: Request, version: str, object_name: str) -> Response:
        table = self.org.existing_table(object_name)
        if request.method == "GET":
            return json_response(
                {"objectDescribe": describe.object_summary(table, version), "recentItems": []}
            )
        record_id = self.org.create(table, self.org.parse(table, self._json_body(request)))
        return json_response({"id": record_id, "success": True, "errors": []}, 201)

    @_api_call
    def sobject_row(self, request: Request, version: str, object_name: str, record_id: str) -> Response:
        table = self.org.existing_table(object_name)
        if normalize_id(record_id) is None and not (len(record_id) in (15, 18) and record_id.isalnum()):
            raise not_found(f"Provided external ID field does not exist or is not accessible: {record_id}")
        if request.method == "GET":
            record = self.org.get(table, record_id)
            return json_response(
                render(table, record, self._field_list(table, request.args.get("fields")), version)
            )
        if request.method == "PATCH":
            self.org.update(table, record_id, self.org.parse(table, self._json_body(request)))
        else:
            self.org.delete(table, record_id)
        return Response(status=204)

    @_api_call
    def sobject_by_external_id(
        self, request: Request, version: str, object_name: str, field_name: str, value: str
    ) -> Response:
        table = self.org.existing_table(object_name)
        f = table.field(field_name)
        if f is None or not f.external_id:
            raise not_found(f"Provided external ID field does not exist or is not accessible: {field_name}")
        key = coerce(f, value)
        matches = self.org.find_by(table, f.name, key)
        if len(matches) > 1:
            return json_response(
                [f"/services/data/v{version}/sobjects/{table.name}/{m['Id']}" for m in matches], 300
            )
        if request.method == "PATCH":
            values = self.org.parse(table, self._json_body(request))
            if f.name in values and values.pop(f.name) != key:
                raise SalesforceError(
                    400,
                    "INVALID_FIELD",
                    f"{f.name} in the body differs from the external id in the URL",
                    [f.name],
                )
            record_id, created = self.org.upsert(table, f.name, key, values)
            return json_response(
                {"id": record_id, "success": True, "errors": [], "created": created}, 201 if created else 200
            )
        if not matches:
            raise not_found()
        if request.method == "GET":
            fields = self._field_list(table, request.args.get("fields"))
            return json_response(render(table, matches[0], fields, version))
        self.org.delete(table, matches[0]["Id"])
        return Response(status=204)

    def _field_list(self, table: SObjectTable, requested: str | None) -> list[str]:
        if not requested:
            return list(table.fields)
        names = []
        for name in (part.strip() for part in requested.split(",") if part.strip()):
            f = table.field(name)
            if f is None:
                raise SalesforceError(
                    400, "INVALID_FIELD", f"No such column '{name}' on entity '{table.name}'"
                )
            names.append(f.name)
        return names

    # sObject Collections --------------------------------------------------------------------------
    @_api_call
    def collection(self, request: Request, version: str) -> Response:
        if request.method == "DELETE":
            ids = [i for i in request.args.get("ids", "").split(",") if i]
            all_or_none = request.args.get("allOrNone", "false").lower() == "true"
            return json_response(self._run_collection(ids, self._delete_item, all_or_none))
        records, all_or_none = self._collection_body(request)
        parsed = [self._parse_item(item, keep_id=request.method == "PATCH") for item in records]
        if request.method == "POST":
            return json_response(self._run_collection(parsed, self._create_item, all_or_none, creates=True))
        return json_response(self._run_collection(parsed, self._update_item, all_or_none))

    @_api_call
    def collection_upsert(
        self, request: Request, version: str, object_name: str, field_name: str
    ) -> Response:
        table = self.org.existing_table(object_name)
        f = table.field(field_name)
        if f is None or not f.external_id:
            raise not_found(f"Provided external ID field does not exist or is not accessible: {field_name}")
        records, all_or_none = self._collection_body(request)
        parsed = [self._parse_item(item, keep_id=False) for item in records]

        def upsert(item: tuple[SObjectTable, dict]) -> dict:
            item_table, values = item
            if item_table is not table:
                raise SalesforceError(400, "INVALID_TYPE", f"records must all be {table.name} in this upsert")
            key = values.pop(f.name, None)
            if key is None:
                raise SalesforceError(400, "MISSING_ARGUMENT", f"{f.name} not specified", [f.name])
            self._refuse_injected(str(key))
            record_id, created = self.org.upsert(table, f.name, key, values)
            return {"id": record_id, "success": True, "errors": [], "created": created}

        return json_response(self._run_collection(parsed, upsert, all_or_none))

    @_api_call
    def collection_retrieve(self, request: Request, version: str, object_name: str) -> Response:
        table = self.org.existing_table(object_name)
        if request.method == "POST":
            body = self._json_body(request) or {}
            ids, fields = body.get("ids") or [], body.get("fields") or []
        else:
            ids = [i for i in request.args.get("ids", "").split(",") if i]
            fields = [name for name in request.args.get("fields", "").split(",") if name]
        if not ids or not fields:
            raise SalesforceError(400, "MISSING_ARGUMENT", "Both ids and fields must be specified")
        if len(ids) > COLLECTION_READ_LIMIT:
            raise SalesforceError(
                400,
                "EXCEEDED_ID_LIMIT",
                f"Cannot retrieve more than {COLLECTION_READ_LIMIT} records in one call",
            )
        names = self._field_list(table, ",".join(fields))
        results = []
        for record_id in ids:
            normalized = normalize_id(record_id)
            record = table.records.get(normalized) if normalized else None
            live = record is not None and not record.get("IsDeleted")
            results.append(render(table, record, names, version) if live else None)
        return json_response(results)

    def _collection_body(self, request: Request) -> tuple[list, bool]:
        body = self._json_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            raise SalesforceError(400, "JSON_PARSER_ERROR", "The request body must hold a records list")
        return body["records"], bool(body.get("allOrNone", False))

    def _parse_item(self, item: object, keep_id: bool) -> tuple[SObjectTable, dict]:
        """Type and values of one collection record; request-level errors fail the whole request."""
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("attributes"), dict)
            or not item["attributes"].get("type")
        ):
            raise SalesforceError(400, "INVALID_INPUT", "Each record needs an attributes map with a type")
        type_name = item["attributes"]["type"]
        table = self.org.table(type_name)
        if table is None:
            raise SalesforceError(400, "INVALID_TYPE", f"sObject type '{type_name}' is not supported.")
        body = {k: v for k, v in item.items() if not (keep_id and k.lower() == "id")}
        values = self.org.parse(table, body)
        if keep_id:
            values["__id__"] = next((v for k, v in item.items() if k.lower() == "id"), None)
        return table, values

    def _create_item(self, item: tuple[SObjectTable, dict]) -> dict:
        table, values = item
        return {"id": self.org.create(table, values), "success": True, "errors": []}

    def _update_item(self, item: tuple[SObjectTable, dict]) -> dict:
        table, values = item
        values = dict(values)
        record_id = values.pop("__id__")
        if not record_id:
            raise SalesforceError(400, "MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
        self._refuse_injected(str(record_id))
        return {"id": self.org.update(table, str(record_id), values), "success": True, "errors": []}

    def _refuse_injected(self, key: str) -> None:
        """A record a test told the org to refuse (Faults.refuse) fails as a validation rule would fail it."""
        reason = self.faults.refused_ids.get(key.lower())
        if reason is not None:
            raise SalesforceError(400, "FIELD_CUSTOM_VALIDATION_EXCEPTION", reason)

    def _delete_item(self, record_id: str) -> dict:
        normalized = normalize_id(record_id)
        table = self.org.table_for_id(normalized) if normalized else None
        if table is None:
            raise SalesforceError(400, "MALFORMED_ID", f"malformed id {record_id}")
        return {"id": self.org.delete(table, normalized), "success": True, "errors": []}

    def _run_collection(
        self, items: list, operation: Callable[[object], dict], all_or_none: bool, creates: bool = False
    ) -> list[dict]:
        """Apply operation to each item; with allOrNone, one failure rolls back every other item."""
        if len(items) > COLLECTION_LIMIT:
            raise SalesforceError(
                400,
                "EXCEEDED_ID_LIMIT",
                f"record limit reached. cannot submit more than {COLLECTION_LIMIT} records into this call",
            )
        with self.org.atomic() as rollback:
            results = []
            for item in items:
                try:
                    results.append(operation(item))
                except SalesforceError as exc:
                    failed = {"success": False, "errors": [exc.save_error()]}
                    if isinstance(item, str):
                        failed = {"id": item, **failed}
                    elif isinstance(item, tuple) and item[1].get("__id__"):
                        failed = {"id": item[1]["__id__"], **failed}
                    results.append(failed)
            if all_or_none and not all(r["success"] for r in results):
                rollback()
                results = [self._rolled_back(r, creates) for r in results]
        return results

    @staticmethod
    def _rolled_back(result: dict, creates: bool) -> dict:
        if not result["success"]:
            return result
        # A rolled-back insert has no id any more; a rolled-back update or delete keeps its own.
        inserted = creates or result.get("created", False)
        return {
            **({} if inserted else {"id": result["id"]}),
            "success": False,
            "errors": [dict(_ROLLED_BACK)],
        }

    # The session's user ------------------------------------------------------------------------------
    def _session_user(self) -> dict:
        """The acting user's Id, Username and names (the integration user has no User row here)."""
        user_id = self.org.acting_user
        row = self.org.tables["User"].records.get(user_id)
        if row is None:
            username = self.credentials.username
            return {"Id": user_id, "Username": username, "LastName": "Integration", "Email": username}
        return row

    def userinfo(self, request: Request) -> Response:
        """The OpenID Connect UserInfo endpoint: who the access token's session runs as."""
        user = self._session_user()
        base = request.host_url.rstrip("/")
        name = " ".join(part for part in (user.get("FirstName"), user["LastName"]) if part)
        return json_response(
            {
                "sub": f"{base}/id/{login.ORG_ID}/{user['Id']}",
                "user_id": user["Id"],
                "organization_id": login.ORG_ID,
                "preferred_username": user["Username"],
                "name": name,
                "given_name": user.get("FirstName"),
                "family_name": user["LastName"],
                "email": user["Email"],
                "email_verified": True,
                "active": True,
                "user_type": "STANDARD",
            }
        )

    @_api_call
    def chatter_me(self, request: Request, version: str) -> Response:
        """Connect REST API /chatter/users/me: the context user (a subset of the User Detail body)."""
        user = self._session_user()
        name = " ".join(part for part in (user.get("FirstName"), user["LastName"]) if part)
        return json_response(
            {
                "id": user["Id"],
                "username": user["Username"],
                "name": name,
                "displayName": name,
                "email": user["Email"],
                "type": "User",
                "url": f"/services/data/v{version}/chatter/users/{user['Id']}",
            }
        )

    # Login ----------------------------------------------------------------------------------------
    def oauth_token(self, request: Request) -> Response:
        return login.oauth_token(request, self.credentials, int(self.clock().timestamp() * 1000))

    def soap_login(self, request: Request, version: str) -> Response:
        return login.soap_login(request, self.credentials, version)
