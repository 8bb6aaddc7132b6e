"""The HubSpot batch writer of every revloop write (the sync's records, the handoff's owners and tasks):
batch upsert / update / create of 100 inputs a call with per-input results (a 207 handled input by input);
missing revloop properties created first."""

from collections import Counter
from collections.abc import Sequence

from hubspot import HubSpot
from hubspot.crm.objects import (
    ApiException,
    AssociationSpec,
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchInputSimplePublicObjectBatchInputUpsert,
    PublicAssociationsForObject,
    SimplePublicObjectBatchInput,
    SimplePublicObjectBatchInputForCreate,
    SimplePublicObjectBatchInputUpsert,
    SimplePublicObjectId,
)
from hubspot.crm.properties import ApiException as PropertiesApiException
from hubspot.crm.properties import PropertyCreate

from activation.once import create_each_once, create_once
from activation.plan import HUBSPOT_BATCH_SIZE, RecordWrite
from activation.results import CrmAccessDenied, Held, RequestRefused, WriteResult, refuse, send_batches
from revloop.profiles import profile_contract

# Properties revloop creates when missing (contract.md), with their HubSpot type and field type.
REVLOOP_PROPERTIES: dict[str, tuple[str, str]] = {
    **{score: ("number", "number") for score in profile_contract().scores},
    "segments": ("string", "textarea"),
    "revloop_id": ("string", "text"),
    "salesforce_id": ("string", "text"),
}
# The unique property a created record is upserted by, so that a rerun after a crash creates no duplicate.
UPSERT_KEY = {"contacts": "email"}
DEFAULT_UPSERT_KEY = "revloop_id"
# Object types created by a plain batch create (nothing unique to upsert by), with the property whose unique
# value ties each created record to its input (a batch answer is not in input order).
CREATE_KEY = {"tasks": "hs_task_subject"}


def _refused(exc: ApiException) -> Exception:
    """The writer's exception for a HubSpot error answer: access denied, a refused request, or exc itself."""
    if exc.status in (401, 403):
        return CrmAccessDenied("hubspot", exc.status, str(exc.body))
    if 400 <= exc.status < 500 and exc.status != 429:
        return RequestRefused(f"{exc.status}: {exc.body}")
    return exc


def ensure_properties(hs: HubSpot, object_type: str, names: Sequence[str]) -> list[str]:
    """Create the revloop properties among names that object_type lacks; returns those created.

    Creating a property is not idempotent: after a time-out or 5xx the property is looked up first.
    """
    core_api = hs.crm.properties.core_api
    try:
        existing = {p.name for p in core_api.get_all(object_type).results}
    except PropertiesApiException as exc:
        raise _refused(exc) from exc
    created = []
    for name in names:
        if name in existing or name not in REVLOOP_PROPERTIES:
            continue
        type_, field_type = REVLOOP_PROPERTIES[name]
        definition = PropertyCreate(
            name=name,
            label=f"revloop {name.replace('_', ' ')}",
            type=type_,
            field_type=field_type,
            group_name=f"{object_type[:-1]}information",
            has_unique_value=name == DEFAULT_UPSERT_KEY,
        )

        def find(name: str = name) -> object | None:
            return next((p for p in core_api.get_all(object_type).results if p.name == name), None)

        try:
            create_once(lambda d=definition: core_api.create(object_type, d), find)
        except PropertiesApiException as exc:
            raise _refused(exc) from exc
        created.append(name)
    return created


def _per_record(writes: Sequence[RecordWrite], answer: object, key: str | None) -> list[WriteResult]:
    """Each input's outcome from a batch answer, 200 or 207: results matched by id (or by the upsert key),
    errors by the ids in their context; an input in neither is failed, never assumed written."""

    def ident(write: RecordWrite) -> str:
        return str(write.fields[key] if key else write.record_id).lower()

    done = {}
    for record in answer.results or []:
        value = record.properties.get(key) if key else record.id
        done[str(value or "").lower()] = record
    refused: dict[str, str] = {}
    for error in getattr(answer, "errors", None) or []:
        reason = f"{error.category}: {error.message}"
        for ids in (error.context or {}).values():
            refused.update({str(i).lower(): reason for i in ids})
    results = []
    for write in writes:
        record = done.get(ident(write))
        if record is not None:
            status = "created" if key and getattr(record, "new", True) else "updated"
            results.append(WriteResult(write, status, record.id))
        elif ident(write) in refused:
            results.append(WriteResult(write, "refused", write.record_id, refused[ident(write)]))
        else:
            results.append(WriteResult(write, "failed", write.record_id, "missing from HubSpot's answer"))
    return results


def _for_create(write: RecordWrite) -> SimplePublicObjectBatchInputForCreate:
    links = [
        PublicAssociationsForObject(
            to=SimplePublicObjectId(id=to_id),
            types=[AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=type_id)],
        )
        for to_id, type_id in write.associations
    ]
    return SimplePublicObjectBatchInputForCreate(properties=write.fields, associations=links)


def _insert(
    hs: HubSpot, object_type: str, writes: Sequence[RecordWrite], held: Held | None
) -> list[WriteResult]:
    """Plain batch create: not idempotent (the client never retries it), so each record is created once
    (create_each_once, with held)."""
    key = CREATE_KEY[object_type]

    def create(todo: Sequence[RecordWrite]) -> list[WriteResult]:
        body = BatchInputSimplePublicObjectBatchInputForCreate(inputs=[_for_create(w) for w in todo])
        try:
            return _per_record(todo, hs.crm.objects.batch_api.create(object_type, body), key)
        except ApiException as exc:
            raise _refused(exc) from exc

    return create_each_once(writes, create, held, lambda w, record_id: WriteResult(w, "created", record_id))


def _send(
    hs: HubSpot, object_type: str, writes: Sequence[RecordWrite], held: Held | None
) -> list[WriteResult]:
    """One batch call: update by id or upsert by the upsert key (both idempotent and so retried by the
    client), or a plain create (_insert); a 4xx refuses the whole batch, a 207 some of its inputs."""
    creating = writes[0].operation == "create"
    if creating and object_type in CREATE_KEY:
        return _insert(hs, object_type, writes, held)
    batch_api = hs.crm.objects.batch_api
    key = UPSERT_KEY.get(object_type, DEFAULT_UPSERT_KEY) if creating else None
    try:
        if creating:
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
        raise _refused(exc) from exc
    return _per_record(writes, answer, key)


def write_hubspot(
    hs: HubSpot,
    object_type: str,
    writes: Sequence[RecordWrite],
    calls: Counter[str] | None = None,
    held: Held | None = None,
) -> list[WriteResult]:
    """Every HubSpot write of one object type revloop makes: per operation, batches of 100 with per-input
    results; a refused batch is split to isolate the bad input. A 401/403 raises CrmAccessDenied at once
    (exc.sent: what landed before; splitting would only repeat it).

    calls, when given, counts the batch calls sent per 'hubspot.<object type>.<operation>'; held finds the
    records of plain creates that HubSpot holds already (see _insert).
    """

    def send(chunk: Sequence[RecordWrite]) -> list[WriteResult]:
        if calls is not None:
            calls[f"hubspot.{object_type}.{chunk[0].operation}"] += 1
        return _send(hs, object_type, chunk, held)

    groups = [[w for w in writes if w.operation == operation] for operation in ("create", "update")]
    return send_batches(groups, HUBSPOT_BATCH_SIZE, send, refuse)
