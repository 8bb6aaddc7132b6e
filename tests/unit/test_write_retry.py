"""The shared retry policy never retries a creating POST blindly; create_once looks before creating again."""

import pytest
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError
from urllib3.response import HTTPResponse

from activation.once import create_each_once, create_once, is_ambiguous
from ingestion.retry import idempotent, retry_policy


@pytest.mark.parametrize(
    ("method", "url", "expected"),
    [
        ("GET", "/crm/v3/objects/contacts?limit=100", True),
        ("PATCH", "/services/data/v59.0/composite/sobjects/Lead/Revloop_Id__c", True),
        ("POST", "/crm/v3/objects/contacts/batch/upsert", True),
        ("POST", "/crm/v3/objects/contacts/batch/update", True),
        ("POST", "/crm/v3/objects/deals/search", True),
        ("POST", "/crm/v4/associations/deals/companies/batch/read", True),
        ("POST", "/services/Soap/u/59.0", True),
        ("POST", "/crm/v3/objects/tasks", False),
        ("POST", "/crm/v3/objects/contacts/batch/create", False),
        ("POST", "/crm/v3/properties/contacts", False),
        ("POST", "/crm/v4/associations/deals/companies/batch/associate/default", False),
        ("POST", "/services/data/v59.0/sobjects/Task/", False),
        ("POST", "/services/data/v59.0/composite/sobjects", False),
    ],
)
def test_which_requests_are_idempotent(method, url, expected):
    assert idempotent(method, url) is expected


def _response(status: int) -> HTTPResponse:
    return HTTPResponse(body=b"", status=status, headers={})


def test_a_creating_post_is_not_retried_after_a_5xx_or_a_lost_connection():
    retry = retry_policy()
    with pytest.raises(MaxRetryError):
        retry.increment("POST", "/crm/v3/objects/tasks", response=_response(503))
    with pytest.raises(ProtocolError):
        retry.increment("POST", "/crm/v3/objects/tasks", error=ProtocolError("Connection reset by peer"))


def test_a_creating_post_is_retried_when_the_crm_surely_did_not_act():
    retry = retry_policy()
    assert retry.increment("POST", "/crm/v3/objects/tasks", response=_response(429)).total == 5
    refused = NewConnectionError(None, "connection refused")
    assert retry.increment("POST", "/crm/v3/objects/tasks", error=refused).total == 5


def test_idempotent_writes_are_retried_after_a_5xx_and_a_reset():
    retry = retry_policy()
    retry = retry.increment("POST", "/crm/v3/objects/contacts/batch/upsert", response=_response(503))
    retry = retry.increment("PATCH", "/services/data/v59.0/composite/sobjects", error=ProtocolError("reset"))
    assert retry.total == 4


class _Status(Exception):
    def __init__(self, status: int):
        self.status = status


def test_create_once_looks_up_after_an_ambiguous_failure_and_does_not_create_again():
    calls = []

    def create():
        calls.append("create")
        raise _Status(503)

    def find():
        calls.append("find")
        return "task-1"

    assert create_once(create, find, backoff_s=0) == "task-1"
    assert calls == ["create", "find"]


def test_create_once_creates_again_only_when_the_lookup_finds_nothing():
    answers = iter([ConnectionResetError("reset"), "task-2"])

    def create():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert create_once(create, lambda: None, backoff_s=0) == "task-2"


def test_create_once_raises_a_refusal_at_once():
    found = []
    with pytest.raises(_Status):
        create_once(lambda: (_ for _ in ()).throw(_Status(400)), lambda: found.append(1), backoff_s=0)
    assert found == [] and not is_ambiguous(_Status(404)) and is_ambiguous(_Status(502))


def test_create_each_once_creates_again_only_the_items_the_lookup_does_not_find(monkeypatch):
    monkeypatch.setattr("activation.once.time.sleep", lambda _s: None)
    sent, answers = [], iter([_Status(504), None])

    def create(items):
        sent.append(list(items))
        if (answer := next(answers)) is not None:
            raise answer
        return [f"new-{i}" for i in items]

    held = {"b": "old-b"}
    results = create_each_once(
        ["a", "b", "c"], create, lambda items: [held.get(i) for i in items], lambda i, found: found
    )
    assert results == ["new-a", "old-b", "new-c"] and sent == [["a", "b", "c"], ["a", "c"]]


def test_create_each_once_raises_a_refusal_without_a_lookup():
    looked = []

    def create(items):
        raise _Status(400)

    with pytest.raises(_Status):
        create_each_once(["a"], create, lambda items: looked.append(items) or [None], lambda i, found: found)
    assert looked == []
