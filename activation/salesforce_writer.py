"""The Salesforce batch writer of every revloop write (the sync's records, the handoff's owners and tasks,
contact roles): sObject Collections of 200 records with per-record results; describe checked first."""

from collections import Counter
from collections.abc import Sequence
from typing import Any

from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError

from activation.once import create_each_once
from activation.plan import SALESFORCE_COLLECTION_SIZE, RecordWrite
from activation.results import CrmAccessDenied, Held, RequestRefused, WriteResult, refuse, send_batches

REVLOOP_KEY = "Revloop_Id__c"


class MissingSalesforceFields(RuntimeError):
    """Custom fields revloop writes are missing from an sObject (REST cannot create them)."""

    def __init__(self, object_name: str, missing: Sequence[str]):
        self.object_name, self.missing = object_name, list(missing)
        super().__init__(
            f"Salesforce {object_name} lacks the field(s) {', '.join(self.missing)}: write-back to "
            f"{object_name} stopped. A Salesforce admin adds them once in Setup > Object Manager > "
            f"{object_name} > Fields & Relationships > New (README 'CRM write-back defaults': scores Number, "
            "Segments__c Long Text Area, Revloop_Id__c Text(64) External ID + Unique, HubSpot_Id__c "
            "Text(64)), then reruns the sync."
        )


def check_fields(sf: Salesforce, object_name: str, names: Sequence[str]) -> None:
    """Raise MissingSalesforceFields unless describe shows every field in names as updateable."""
    try:
        described = {f["name"]: f for f in getattr(sf, object_name).describe()["fields"]}
    except SalesforceError as exc:
        if exc.status in (401, 403):
            raise CrmAccessDenied("salesforce", exc.status, str(exc.content)) from exc
        raise
    missing = sorted({n for n in names if n not in described or not described[n].get("updateable", True)})
    if missing:
        raise MissingSalesforceFields(object_name, missing)


def _call(sf: Salesforce, method: str, path: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One sObject Collections call with allOrNone=false: the per-record answers, in input order."""
    try:
        return sf.restful(path, method=method, json={"allOrNone": False, "records": records})
    except SalesforceError as exc:
        if exc.status in (401, 403):
            raise CrmAccessDenied("salesforce", exc.status, str(exc.content)) from exc
        if exc.status in (400, 404):
            raise RequestRefused(f"{exc.status}: {exc.content}") from exc
        raise


def _results(writes: Sequence[RecordWrite], answers: Sequence[dict[str, Any]]) -> list[WriteResult]:
    results = []
    for write, answer in zip(writes, answers, strict=True):
        if answer.get("success"):
            status = "created" if answer.get("created", write.operation == "create") else "updated"
            results.append(WriteResult(write, status, answer.get("id") or write.record_id))
        else:
            errors = "; ".join(f"{e.get('statusCode')}: {e.get('message')}" for e in answer.get("errors", []))
            results.append(WriteResult(write, "refused", write.record_id, errors))
    return results


def _record(write: RecordWrite) -> dict[str, Any]:
    return {
        "attributes": {"type": write.object_name},
        **({"Id": write.record_id} if write.record_id else {}),
        **write.fields,
    }


def _insert(sf: Salesforce, writes: Sequence[RecordWrite], held: Held | None) -> list[WriteResult]:
    """POST: not idempotent (the session never retries it), so each record is created once
    (create_each_once, with held)."""

    def create(todo: Sequence[RecordWrite]) -> list[WriteResult]:
        return _results(todo, _call(sf, "POST", "composite/sobjects", [_record(w) for w in todo]))

    return create_each_once(writes, create, held, lambda w, record_id: WriteResult(w, "created", record_id))


def _send(sf: Salesforce, writes: Sequence[RecordWrite], held: Held | None) -> list[WriteResult]:
    """One collection call: update by Id (PATCH); a create carrying Revloop_Id__c upserted by it (PATCH, so
    idempotent and retried by the session: a retry after a commit finds the record the first try created);
    any other create POSTed once (_insert)."""
    first = writes[0]
    if first.operation == "update":
        return _results(writes, _call(sf, "PATCH", "composite/sobjects", [_record(w) for w in writes]))
    if REVLOOP_KEY in first.fields:
        path = f"composite/sobjects/{first.object_name}/{REVLOOP_KEY}"
        return _results(writes, _call(sf, "PATCH", path, [_record(w) for w in writes]))
    return _insert(sf, writes, held)


def write_salesforce(
    sf: Salesforce,
    writes: Sequence[RecordWrite],
    calls: Counter[str] | None = None,
    held: Held | None = None,
) -> list[WriteResult]:
    """Every Salesforce write revloop makes: per sObject and operation, collections of 200 with per-record
    results; a refused call is split to isolate the bad record. A 401/403 raises CrmAccessDenied (exc.sent:
    what landed before).

    calls, when given, counts the collection calls sent per 'salesforce.<sObject>.<operation>'; held finds
    the records of creates without Revloop_Id__c that Salesforce holds already (see _insert).
    """

    def send(chunk: Sequence[RecordWrite]) -> list[WriteResult]:
        if calls is not None:
            calls[f"salesforce.{chunk[0].object_name}.{chunk[0].operation}"] += 1
        return _send(sf, chunk, held)

    groups: dict[tuple[str, str, bool], list[RecordWrite]] = {}
    for write in sorted(writes, key=lambda w: w.operation != "create"):  # creates first, as planned
        upsert = write.operation == "create" and REVLOOP_KEY in write.fields
        groups.setdefault((write.operation, write.object_name, upsert), []).append(write)
    return send_batches(groups.values(), SALESFORCE_COLLECTION_SIZE, send, refuse)
