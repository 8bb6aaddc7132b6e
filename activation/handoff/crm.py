"""CRM side of a handoff: owner through the sync's writers, follow-up tasks batched, task status read back.

Writes and task look-ups are batched: Salesforce sObject Collections and IN lists of 200, HubSpot batch APIs
of 100."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from hubspot import HubSpot
from hubspot.crm.associations.v4 import (
    BatchInputPublicFetchAssociationsBatchRequest,
    PublicFetchAssociationsBatchRequest,
)
from hubspot.crm.objects import (
    ApiException,
    AssociationSpec,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchReadInputSimplePublicObjectId,
    PublicAssociationsForObject,
    SimplePublicObjectBatchInputForCreate,
    SimplePublicObjectId,
)
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError

from activation.hubspot_writer import write_hubspot
from activation.plan import HUBSPOT_BATCH_SIZE, SALESFORCE_COLLECTION_SIZE, RecordWrite
from activation.results import WriteResult
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


def set_owners(
    sf: Salesforce | None, hs: HubSpot | None, owners: Sequence[tuple[str, str, str, str, str]]
) -> list[WriteResult]:
    """Owner updates (crm, object, record id, owner id, profile id) through the sync's batched writers."""
    writes = [
        RecordWrite(crm, obj, "update", profile_id, record_id, {OWNER_FIELD[crm]: owner})
        for crm, obj, record_id, owner, profile_id in owners
    ]
    results: list[WriteResult] = []
    by_object: dict[tuple[str, str], list[RecordWrite]] = {}
    for write in writes:
        by_object.setdefault((write.crm, write.object_name), []).append(write)
    for (crm, obj), group in by_object.items():
        client = sf if crm == "salesforce" else hs
        if client is None:
            results += [WriteResult(w, "skipped", w.record_id, f"{crm} is not configured") for w in group]
        elif crm == "salesforce":
            results += write_salesforce(sf, group)
        else:
            results += write_hubspot(hs, obj, group)
    return results


def _salesforce_tasks(sf: Salesforce, requests: Sequence[TaskRequest]) -> list[TaskResult]:
    results = []
    for start in range(0, len(requests), SALESFORCE_COLLECTION_SIZE):
        chunk = requests[start : start + SALESFORCE_COLLECTION_SIZE]
        records = [
            {
                "attributes": {"type": "Task"},
                "WhoId": r.who_id,
                "OwnerId": r.owner_id,
                "Subject": r.subject[:255],
                "Description": r.body[:32000],
                "ActivityDate": r.due.isoformat(),
                "Priority": SF_PRIORITY.get(r.priority, "Normal"),
                "Status": "Not Started",
            }
            for r in chunk
        ]
        try:
            answers = sf.restful(
                "composite/sobjects", method="POST", json={"allOrNone": False, "records": records}
            )
        except SalesforceError as exc:
            results += [TaskResult(r, None, f"{exc.status}: {exc.content}") for r in chunk]
            continue
        for request, answer in zip(chunk, answers, strict=True):
            if answer.get("success"):
                results.append(TaskResult(request, answer["id"]))
            else:
                errors = "; ".join(
                    f"{e.get('statusCode')}: {e.get('message')}" for e in answer.get("errors", [])
                )
                results.append(TaskResult(request, None, errors))
    return results


def _hubspot_tasks(hs: HubSpot, requests: Sequence[TaskRequest]) -> list[TaskResult]:
    results = []
    for start in range(0, len(requests), HUBSPOT_BATCH_SIZE):
        chunk = requests[start : start + HUBSPOT_BATCH_SIZE]
        inputs = [
            SimplePublicObjectBatchInputForCreate(
                properties={
                    "hs_task_subject": r.subject,
                    "hs_task_body": r.body,
                    "hs_timestamp": datetime.combine(r.due, time(9), UTC).isoformat().replace("+00:00", "Z"),
                    "hs_task_status": "NOT_STARTED",
                    "hs_task_priority": HS_PRIORITY.get(r.priority, "MEDIUM"),
                    "hs_task_type": "TODO",
                    "hubspot_owner_id": r.owner_id,
                },
                associations=[
                    PublicAssociationsForObject(
                        to=SimplePublicObjectId(id=r.who_id),
                        types=[
                            AssociationSpec(
                                association_category="HUBSPOT_DEFINED", association_type_id=TASK_TO_CONTACT
                            )
                        ],
                    )
                ],
            )
            for r in chunk
        ]
        try:
            answer = hs.crm.objects.batch_api.create(
                "tasks", BatchInputSimplePublicObjectBatchInputForCreate(inputs=inputs)
            )
        except ApiException as exc:
            results += [TaskResult(r, None, f"{exc.status}: {exc.reason}") for r in chunk]
            continue
        # a batch answer is not in input order: the unique subject ties each task to its request
        by_subject = {(t.properties or {}).get("hs_task_subject"): t.id for t in answer.results}
        for request in chunk:
            task_id = by_subject.get(request.subject)
            results.append(TaskResult(request, task_id, None if task_id else "missing from HubSpot's answer"))
    return results


def create_tasks(
    sf: Salesforce | None, hs: HubSpot | None, requests: Sequence[TaskRequest]
) -> list[TaskResult]:
    """Create tasks: Salesforce Tasks with WhoId (200 a call), HubSpot tasks on the contact (100 a call)."""
    results: list[TaskResult] = []
    for crm, client, create in (("salesforce", sf, _salesforce_tasks), ("hubspot", hs, _hubspot_tasks)):
        group = [r for r in requests if r.crm == crm]
        if not group:
            continue
        if client is None:
            results += [TaskResult(r, None, f"{crm} is not configured") for r in group]
        else:
            results += create(client, group)
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
