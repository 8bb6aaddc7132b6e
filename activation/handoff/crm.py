"""CRM side of a handoff: owners and follow-up tasks written through the CRMs' batch writers (the sync's),
task status read back.

Task look-ups are batched too: Salesforce IN lists of 200, HubSpot batch APIs of 100."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from hubspot import HubSpot
from hubspot.crm.associations.v4 import (
    BatchInputPublicFetchAssociationsBatchRequest,
    PublicFetchAssociationsBatchRequest,
)
from hubspot.crm.objects import ApiException, BatchReadInputSimplePublicObjectId, SimplePublicObjectId
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError

from activation.hubspot_writer import write_hubspot
from activation.plan import HUBSPOT_BATCH_SIZE, RecordWrite
from activation.results import CrmAccessDenied, Held, WriteResult
from activation.salesforce_writer import write_salesforce

OWNER_FIELD = {"salesforce": "OwnerId", "hubspot": "hubspot_owner_id"}
SF_PRIORITY = {"immediate": "High", "priority": "High", "standard": "Normal"}
HS_PRIORITY = {"immediate": "HIGH", "priority": "HIGH", "standard": "MEDIUM"}
TASK_TO_CONTACT = 204  # HubSpot-defined association type: task -> contact


@dataclass(frozen=True)
class TaskRequest:
    """A follow-up task to create on a person record, for its owner."""

    crm: str
    who_id: str  # Salesforce Lead / Contact Id, HubSpot contact id
    owner_id: str
    subject: str  # unique per handoff and reminder: how a created task is found in HubSpot's answer
    body: str
    due: date
    priority: str


@dataclass(frozen=True)
class TaskResult:
    request: TaskRequest
    task_id: str | None
    error: str | None = None


def _write(
    sf: Salesforce | None, hs: HubSpot | None, writes: Sequence[RecordWrite], held: Held | None = None
) -> list[WriteResult]:
    """writes through each CRM's batch writer, per CRM and object; a CRM not configured skips its writes."""
    groups: dict[tuple[str, str], list[RecordWrite]] = {}
    for write in writes:
        groups.setdefault((write.crm, write.object_name), []).append(write)
    results: list[WriteResult] = []
    for (crm, obj), group in groups.items():
        if crm == "salesforce" and sf is not None:
            results += write_salesforce(sf, group, held=held)
        elif crm == "hubspot" and hs is not None:
            results += write_hubspot(hs, obj, group, held=held)
        else:
            results += [WriteResult(w, "skipped", w.record_id, f"{crm} is not configured") for w in group]
    return results


def set_owners(
    sf: Salesforce | None, hs: HubSpot | None, owners: Sequence[tuple[str, str, str, str, str]]
) -> list[WriteResult]:
    """Owner updates (crm, object, record id, owner id, profile id) through the CRMs' batch writers."""
    return _write(
        sf,
        hs,
        [
            RecordWrite(crm, obj, "update", profile_id, record_id, {OWNER_FIELD[crm]: owner})
            for crm, obj, record_id, owner, profile_id in owners
        ],
    )


def _task(request: TaskRequest) -> RecordWrite:
    """A task request as a create of the CRM's batch writer, keyed by its unique subject."""
    if request.crm == "salesforce":
        fields = {
            "WhoId": request.who_id,
            "OwnerId": request.owner_id,
            "Subject": request.subject[:255],
            "Description": request.body[:32000],
            "ActivityDate": request.due.isoformat(),
            "Priority": SF_PRIORITY.get(request.priority, "Normal"),
            "Status": "Not Started",
        }
        return RecordWrite("salesforce", "Task", "create", request.subject, None, fields)
    fields = {
        "hs_task_subject": request.subject,
        "hs_task_body": request.body,
        "hs_timestamp": datetime.combine(request.due, time(9), UTC).isoformat().replace("+00:00", "Z"),
        "hs_task_status": "NOT_STARTED",
        "hs_task_priority": HS_PRIORITY.get(request.priority, "MEDIUM"),
        "hs_task_type": "TODO",
        "hubspot_owner_id": request.owner_id,
    }
    links = ((request.who_id, TASK_TO_CONTACT),)
    return RecordWrite("hubspot", "tasks", "create", request.subject, None, fields, associations=links)


def _failure(exc: Exception) -> str:
    """The error a task gets when its CRM's call failed as a whole."""
    if isinstance(exc, SalesforceError):
        return f"{exc.status}: {exc.content}"
    if isinstance(exc, ApiException):
        return f"{exc.status}: {exc.reason}"
    return str(exc)


def create_tasks(
    sf: Salesforce | None, hs: HubSpot | None, requests: Sequence[TaskRequest]
) -> list[TaskResult]:
    """Create tasks through the CRMs' batch writers: Salesforce Tasks with WhoId (200 a call), HubSpot tasks
    on the contact (100 a call), each once (after an ambiguous failure found by subject first). A CRM's
    error answer becomes the error of each of its tasks not created."""
    by_subject = {r.subject: r for r in requests}

    def held(writes: Sequence[RecordWrite]) -> list[str | None]:
        found = find_tasks(sf, hs, [by_subject[w.key] for w in writes])
        return [found.get(w.key) for w in writes]

    results: list[TaskResult] = []
    for crm in ("salesforce", "hubspot"):
        writes = [_task(r) for r in requests if r.crm == crm]
        try:
            answered = _write(sf, hs, writes, held)
        except (CrmAccessDenied, SalesforceError, ApiException) as exc:
            answered = list(exc.sent) if isinstance(exc, CrmAccessDenied) else []
            landed = {id(r.write) for r in answered}
            answered += [WriteResult(w, "failed", None, _failure(exc)) for w in writes if id(w) not in landed]
        for result in answered:
            task_id = result.record_id if result.status == "created" else None
            error = None if task_id else result.error
            results.append(TaskResult(by_subject[result.write.key], task_id, error))
    return results


def open_tasks(sf: Salesforce | None, hs: HubSpot | None, tasks: Mapping[str, Sequence[str]]) -> set[str]:
    """Which of the task ids (per crm) are still open in the CRM."""
    still_open: set[str] = set()
    sf_ids = list(tasks.get("salesforce", ()))
    if sf is not None:
        for start in range(0, len(sf_ids), 200):
            ids = ", ".join(f"'{i}'" for i in sf_ids[start : start + 200] if i.isalnum())
            if ids:
                rows = sf.query_all(f"SELECT Id, IsClosed FROM Task WHERE Id IN ({ids})")["records"]
                still_open |= {row["Id"] for row in rows if not row.get("IsClosed")}
    hs_ids = list(tasks.get("hubspot", ()))
    if hs is not None:
        for start in range(0, len(hs_ids), HUBSPOT_BATCH_SIZE):
            batch = BatchReadInputSimplePublicObjectId(
                inputs=[SimplePublicObjectId(id=i) for i in hs_ids[start : start + HUBSPOT_BATCH_SIZE]],
                properties=["hs_task_status"],
            )
            answer = hs.crm.objects.batch_api.read("tasks", batch)
            still_open |= {
                t.id for t in answer.results if (t.properties or {}).get("hs_task_status") != "COMPLETED"
            }
    return still_open


def find_tasks(sf: Salesforce | None, hs: HubSpot | None, requests: Sequence[TaskRequest]) -> dict[str, str]:
    """Existing tasks of requests, by unique subject: a crashed run's tasks are not created twice."""
    found: dict[str, str] = {}
    wanted = {r.subject[:255]: r.subject for r in requests}
    sf_whos = sorted({r.who_id for r in requests if r.crm == "salesforce" and r.who_id.isalnum()})
    if sf is not None:
        for start in range(0, len(sf_whos), 200):
            ids = ", ".join(f"'{i}'" for i in sf_whos[start : start + 200])
            rows = sf.query_all(f"SELECT Id, Subject FROM Task WHERE WhoId IN ({ids})")["records"]
            found |= {wanted[row["Subject"]]: row["Id"] for row in rows if row.get("Subject") in wanted}
    hs_whos = sorted({r.who_id for r in requests if r.crm == "hubspot"})
    if hs is not None and hs_whos:
        task_ids = _hubspot_task_ids(hs, hs_whos)
        for start in range(0, len(task_ids), HUBSPOT_BATCH_SIZE):
            batch = BatchReadInputSimplePublicObjectId(
                inputs=[SimplePublicObjectId(id=i) for i in task_ids[start : start + HUBSPOT_BATCH_SIZE]],
                properties=["hs_task_subject"],
            )
            for task in hs.crm.objects.batch_api.read("tasks", batch).results:
                subject = (task.properties or {}).get("hs_task_subject")
                if subject in wanted:
                    found[wanted[subject]] = task.id
    return found


def _hubspot_task_ids(hs: HubSpot, contacts: Sequence[str]) -> list[str]:
    """Ids of the tasks associated with contacts: v4 batch association reads of 100 contacts a call, each
    contact's further pages asked for by its `after`."""
    ids: list[str] = []
    pending: list[tuple[str, str | None]] = [(c, None) for c in contacts]
    asked: set[tuple[str, str | None]] = set()
    while pending:
        chunk, pending = pending[:HUBSPOT_BATCH_SIZE], pending[HUBSPOT_BATCH_SIZE:]
        asked.update(chunk)
        request = BatchInputPublicFetchAssociationsBatchRequest(
            inputs=[PublicFetchAssociationsBatchRequest(id=c, after=after) for c, after in chunk]
        )
        answer = hs.crm.associations.v4.batch_api.get_page(
            "contacts", "tasks", batch_input_public_fetch_associations_batch_request=request
        )
        for result in answer.results:
            ids += [str(link.to_object_id) for link in result.to or []]
            after = result.paging.next.after if result.paging and result.paging.next else None
            if after and (page := (str(result._from.id), after)) not in asked:
                pending.append(page)
    return ids


@dataclass(frozen=True)
class SalesforceQueue:
    """A Salesforce Queue that can own Leads, and who hears of what lands in it."""

    queue_id: str
    name: str
    emails: tuple[str, ...]


def _soql_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def salesforce_lead_queue(sf: Salesforce, name: str) -> SalesforceQueue | None:
    """The Queue named name (DeveloperName or Name) if it supports Lead; its e-mail, else its members'."""
    text = _soql_text(name)
    groups = sf.query_all(
        "SELECT Id, Name, DeveloperName, Email FROM Group "
        f"WHERE Type = 'Queue' AND (DeveloperName = '{text}' OR Name = '{text}')"
    )["records"]
    for group in groups:
        supported = sf.query_all(
            f"SELECT Id FROM QueueSobject WHERE QueueId = '{group['Id']}' AND SobjectType = 'Lead'"
        )["records"]
        if not supported:
            continue
        if group.get("Email"):
            return SalesforceQueue(group["Id"], group["Name"], (group["Email"],))
        members = sf.query_all(f"SELECT UserOrGroupId FROM GroupMember WHERE GroupId = '{group['Id']}'")
        users = [m["UserOrGroupId"] for m in members["records"] if m["UserOrGroupId"].startswith("005")]
        emails: tuple[str, ...] = ()
        if users:
            ids = ", ".join(f"'{u}'" for u in users if u.isalnum())
            rows = sf.query_all(f"SELECT Email FROM User WHERE Id IN ({ids}) AND IsActive = true")["records"]
            emails = tuple(sorted(r["Email"] for r in rows if r.get("Email")))
        return SalesforceQueue(group["Id"], group["Name"], emails)
    return None


def hubspot_team_owners(hs: HubSpot, team: str) -> set[str]:
    """Ids of the active owners in the team named (or with the id) team, from /crm/v3/owners."""
    found: set[str] = set()
    after = None
    while True:
        page = hs.crm.owners.owners_api.get_page(limit=100, after=after, archived=False)
        for owner in page.results:
            if any(team in (t.name, str(t.id)) for t in owner.teams or []):
                found.add(str(owner.id))
        if page.paging is None or page.paging.next is None:
            return found
        after = page.paging.next.after
