"""HubSpot write-back: missing revloop properties created, then batch upsert / update (100 inputs a call)."""

from collections import Counter
from collections.abc import Sequence

from hubspot import HubSpot
from hubspot.crm.objects import (
    ApiException,
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputUpsert,
    SimplePublicObjectBatchInput,
    SimplePublicObjectBatchInputUpsert,
)
from hubspot.crm.properties import PropertyCreate

from activation.plan import HUBSPOT_BATCH_SIZE, RecordWrite
from activation.results import RequestRefused, WriteResult, isolate

# Properties revloop creates when missing (contract.md), with their HubSpot type and field type.
REVLOOP_PROPERTIES: dict[str, tuple[str, str]] = {
    "lead_score": ("number", "number"),
    "churn_risk": ("number", "number"),
    "purchase_likelihood": ("number", "number"),
    "engagement_potential": ("number", "number"),
    "segments": ("string", "textarea"),
    "revloop_id": ("string", "text"),
    "salesforce_id": ("string", "text"),
}
# The unique property a created record is upserted by, so that a rerun after a crash creates no duplicate.
UPSERT_KEY = {"contacts": "email"}
DEFAULT_UPSERT_KEY = "revloop_id"


def ensure_properties(hs: HubSpot, object_type: str, names: Sequence[str]) -> list[str]:
    """Create the revloop properties among names that object_type lacks; returns those created."""
    existing = {p.name for p in hs.crm.properties.core_api.get_all(object_type).results}
    created = []
    for name in names:
        if name in existing or name not in REVLOOP_PROPERTIES:
            continue
        type_, field_type = REVLOOP_PROPERTIES[name]
        hs.crm.properties.core_api.create(
            object_type,
            PropertyCreate(
                name=name,
                label=f"revloop {name.replace('_', ' ')}",
                type=type_,
                field_type=field_type,
                group_name=f"{object_type[:-1]}information",
                has_unique_value=name == DEFAULT_UPSERT_KEY,
            ),
        )
        created.append(name)
    return created


def _send(hs: HubSpot, object_type: str, writes: Sequence[RecordWrite]) -> list[WriteResult]:
    """One batch call; HubSpot answers a batch as a whole, so any 4xx refuses every input in it."""
    creating = writes[0].operation == "create"
    batch_api = hs.crm.objects.batch_api
    try:
        if creating:
            key = UPSERT_KEY.get(object_type, DEFAULT_UPSERT_KEY)
            inputs = [
                SimplePublicObjectBatchInputUpsert(id=w.fields[key], id_property=key, properties=w.fields)
                for w in writes
            ]
            answer = batch_api.upsert(
                object_type, BatchInputSimplePublicObjectBatchInputUpsert(inputs=inputs)
            )
        else:
            inputs = [SimplePublicObjectBatchInput(id=w.record_id, properties=w.fields) for w in writes]
            answer = batch_api.update(object_type, BatchInputSimplePublicObjectBatchInput(inputs=inputs))
    except ApiException as exc:
        if 400 <= exc.status < 500 and exc.status != 429:
            raise RequestRefused(f"{exc.status}: {exc.body}") from exc
        raise
    if not creating:
        return [WriteResult(w, "updated", w.record_id) for w in writes]
    key = UPSERT_KEY.get(object_type, DEFAULT_UPSERT_KEY)
    by_key = {str(r.properties.get(key) or "").lower(): r for r in answer.results}
    results = []
    for write in writes:
        record = by_key.get(str(write.fields[key]).lower())
        status = "created" if record is not None and getattr(record, "new", True) else "updated"
        results.append(
            WriteResult(
                write,
                status,
                record.id if record is not None else None,
                None if record is not None else "missing from HubSpot's answer",
            )
        )
    return results


def write_hubspot(
    hs: HubSpot, object_type: str, writes: Sequence[RecordWrite], calls: Counter[str] | None = None
) -> list[WriteResult]:
    """Send writes of one object type in batches of 100; a refused batch is split to isolate the bad input.

    calls, when given, counts the batch calls sent per 'hubspot.<object type>.<operation>'.
    """
    results: list[WriteResult] = []

    def send(chunk: Sequence[RecordWrite]) -> list[WriteResult]:
        if calls is not None:
            calls[f"hubspot.{object_type}.{chunk[0].operation}"] += 1
        return _send(hs, object_type, chunk)

    for operation in ("create", "update"):
        group = [w for w in writes if w.operation == operation]
        for start in range(0, len(group), HUBSPOT_BATCH_SIZE):
            chunk = group[start : start + HUBSPOT_BATCH_SIZE]
            results += isolate(chunk, send, lambda w, e: WriteResult(w, "failed", w.record_id, e))
    return results
