"""Salesforce write-back: describe checked first, then sObject Collections (200 records a call)."""

from collections import Counter
from collections.abc import Sequence

from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError

from activation.plan import SALESFORCE_COLLECTION_SIZE, RecordWrite
from activation.results import CrmAccessDenied, RequestRefused, WriteResult, isolate

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


def _send(sf: Salesforce, writes: Sequence[RecordWrite]) -> list[WriteResult]:
    """One collection PATCH, idempotent and so retried by the session: upsert by Revloop_Id__c for creates
    (a retry after a commit finds the record the first try created), update by Id otherwise."""
    creating = writes[0].operation == "create"
    records = [
        {"attributes": {"type": w.object_name}, **({} if creating else {"Id": w.record_id}), **w.fields}
        for w in writes
    ]
    path = f"composite/sobjects/{writes[0].object_name}/{REVLOOP_KEY}" if creating else "composite/sobjects"
    try:
        answers = sf.restful(path, method="PATCH", json={"allOrNone": False, "records": records})
    except SalesforceError as exc:
        if exc.status in (401, 403):
            raise CrmAccessDenied("salesforce", exc.status, str(exc.content)) from exc
        if exc.status in (400, 404):
            raise RequestRefused(f"{exc.status}: {exc.content}") from exc
        raise
    results = []
    for write, answer in zip(writes, answers, strict=True):
        if answer.get("success"):
            status = "created" if answer.get("created") else "updated"
            results.append(WriteResult(write, status, answer.get("id") or write.record_id))
        else:
            errors = "; ".join(f"{e.get('statusCode')}: {e.get('message')}" for e in answer.get("errors", []))
            results.append(WriteResult(write, "refused", write.record_id, errors))
    return results


def write_salesforce(
    sf: Salesforce, writes: Sequence[RecordWrite], calls: Counter[str] | None = None
) -> list[WriteResult]:
    """Send writes of one sObject in collections of 200; a refused call is split to isolate the bad record.

    calls, when given, counts the collection calls sent per 'salesforce.<sObject>.<operation>'.
    """
    results: list[WriteResult] = []

    def send(chunk: Sequence[RecordWrite]) -> list[WriteResult]:
        if calls is not None:
            calls[f"salesforce.{chunk[0].object_name}.{chunk[0].operation}"] += 1
        return _send(sf, chunk)

    for operation in ("create", "update"):
        group = [w for w in writes if w.operation == operation]
        for start in range(0, len(group), SALESFORCE_COLLECTION_SIZE):
            chunk = group[start : start + SALESFORCE_COLLECTION_SIZE]
            try:
                results += isolate(chunk, send, lambda w, e: WriteResult(w, "refused", w.record_id, e))
            except CrmAccessDenied as exc:
                exc.sent = results  # what landed before the refusal still gets logged and remembered
                raise
    return results
