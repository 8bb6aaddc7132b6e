"""The one batch writer per CRM that the sync, the handoff and the contact roles share, on fake clients."""

from collections import Counter
from datetime import date
from types import SimpleNamespace

import pytest
from simple_salesforce.exceptions import SalesforceError

import activation.once
from activation.associations import Association
from activation.deal_contacts import write_contact_roles
from activation.handoff.crm import TaskRequest, create_tasks
from activation.hubspot_writer import write_hubspot
from activation.plan import RecordWrite
from activation.results import CrmAccessDenied
from activation.salesforce_writer import write_salesforce


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch):
    monkeypatch.setattr(activation.once.time, "sleep", lambda _s: None)


class FakeSalesforce:
    """sf.restful for sObject Collections: answers per record (refusing those in refuse), raises the status
    queued for a call, and a 400 for a call holding a record in poison."""

    def __init__(self, statuses=(), refuse=(), poison=()):
        self.statuses, self.refuse, self.poison, self.sent = list(statuses), set(refuse), set(poison), []

    def restful(self, path, method, json):
        records = json["records"]
        names = [r.get("Subject") or r.get("Id") or r.get("ContactId") for r in records]
        self.sent.append((method, path, names))
        status = self.statuses.pop(0) if self.statuses else 200
        if self.poison & set(names):
            raise SalesforceError("url", 400, "sobjects", b"bad batch")
        if status != 200:
            raise SalesforceError("url", status, "sobjects", b"no")
        answers = []
        for n, record in enumerate(records):
            if record.get("Subject") in self.refuse:
                answers.append({"success": False, "errors": [{"statusCode": "FIELD", "message": "bad"}]})
            else:
                answers.append({"success": True, "id": record.get("Id") or f"{len(self.sent)}-{n}"})
        return answers


def _task(subject: str) -> RecordWrite:
    return RecordWrite("salesforce", "Task", "create", subject, None, {"Subject": subject, "WhoId": "00Q1"})


def test_a_plain_create_after_a_5xx_sends_again_only_what_the_crm_does_not_hold():
    sf = FakeSalesforce(statuses=[503])
    writes = [_task("a"), _task("b"), _task("c")]
    calls: Counter[str] = Counter()
    held = {"a": "00T-a"}  # the 503's call committed a (as a lookup shows), not b and c
    results = write_salesforce(sf, writes, calls, held=lambda todo: [held.get(w.key) for w in todo])
    assert [(r.status, r.record_id) for r in results] == [
        ("created", "00T-a"),
        ("created", "2-0"),
        ("created", "2-1"),
    ]
    assert [s[2] for s in sf.sent] == [["a", "b", "c"], ["b", "c"]]
    assert all(method == "POST" for method, _, _ in sf.sent) and calls == {"salesforce.Task.create": 1}


def test_a_plain_create_without_a_lookup_is_never_sent_twice():
    sf = FakeSalesforce(statuses=[503])
    with pytest.raises(SalesforceError):
        write_salesforce(sf, [_task("a")])
    assert len(sf.sent) == 1


def test_a_refused_collection_is_split_and_per_record_refusals_are_kept():
    sf = FakeSalesforce(poison={"a"}, refuse={"c"})
    results = write_salesforce(sf, [_task("a"), _task("b"), _task("c")])
    assert [r.status for r in results] == ["refused", "created", "refused"]
    assert results[0].error == "400: b'bad batch'" and results[2].error == "FIELD: bad"
    assert [names for _, _, names in sf.sent] == [["a", "b", "c"], ["a"], ["b", "c"]]


def test_updates_and_upserts_are_patched_in_collections_of_200_and_a_403_carries_what_landed():
    updates = [
        RecordWrite("salesforce", "Lead", "update", f"k{i}", f"00Q{i}", {"OwnerId": "005"} | key)
        for i in range(250)
        for key in [{"Revloop_Id__c": f"k{i}"} if i % 2 else {}]  # an update may write the key too
    ]
    upsert = RecordWrite("salesforce", "Lead", "create", "k", None, {"Revloop_Id__c": "k", "LastName": "X"})
    sf = FakeSalesforce(statuses=[200, 200, 403])
    with pytest.raises(CrmAccessDenied) as denied:
        write_salesforce(sf, [*updates, upsert])
    assert [(m, p) for m, p, _ in sf.sent] == [
        ("PATCH", "composite/sobjects/Lead/Revloop_Id__c"),
        ("PATCH", "composite/sobjects"),
        ("PATCH", "composite/sobjects"),
    ]
    assert len(denied.value.sent) == 201 and denied.value.sent[0].write is upsert


class FakeBatchApi:
    def __init__(self, answer=None, error=None):
        self.answer, self.error, self.bodies = answer, error, []

    def create(self, object_type, body):
        self.bodies.append((object_type, body))
        if self.error:
            raise self.error
        return self.answer


def _hubspot(batch_api) -> SimpleNamespace:
    return SimpleNamespace(crm=SimpleNamespace(objects=SimpleNamespace(batch_api=batch_api)))


def test_hubspot_tasks_are_created_in_one_batch_with_their_contact_and_matched_by_subject():
    created = SimpleNamespace(id="t2", properties={"hs_task_subject": "B"})
    api = FakeBatchApi(SimpleNamespace(results=[created], errors=[]))
    writes = [
        RecordWrite(
            "hubspot", "tasks", "create", s, None, {"hs_task_subject": s}, associations=(("501", 204),)
        )
        for s in ("A", "B")
    ]
    results = write_hubspot(_hubspot(api), "tasks", writes)
    assert [(r.status, r.record_id) for r in results] == [("failed", None), ("created", "t2")]
    [(object_type, body)] = api.bodies
    link = body.inputs[0].associations[0]
    assert object_type == "tasks" and link.to.id == "501" and link.types[0].association_type_id == 204


def test_handoff_tasks_keep_an_error_per_task_when_the_crm_call_fails_and_skip_an_unconfigured_crm():
    request = TaskRequest("salesforce", "00Q1", "005", "subject", "body", date(2026, 12, 1), "immediate")
    other = TaskRequest("hubspot", "501", "7", "other", "body", date(2026, 12, 1), "standard")
    sf = FakeSalesforce(statuses=[500, 500, 500])
    find = {"records": []}
    sf.query_all = lambda soql: find  # the lookup after each 500 finds nothing: created again, 3 tries
    results = create_tasks(sf, None, [request, other])
    assert [(r.request.subject, r.task_id) for r in results] == [("subject", None), ("other", None)]
    assert results[0].error.startswith("500: ") and results[1].error == "hubspot is not configured"
    assert len(sf.sent) == 3 and sf.sent[0][2] == ["subject"]


def test_contact_roles_go_through_the_salesforce_writer_and_come_back_as_associations():
    roles = [Association("Opportunity", "006A", "Contact", f"003{c}", "k", crm="salesforce") for c in "AB"]
    sf = FakeSalesforce()
    calls: Counter[str] = Counter()
    results = write_contact_roles(sf, roles, calls)
    assert [(r.association.to_id, r.status) for r in results] == [
        ("003A", "associated"),
        ("003B", "associated"),
    ]
    assert sf.sent == [("POST", "composite/sobjects", ["003A", "003B"])]
    assert calls == {"salesforce.OpportunityContactRole.create": 1}
