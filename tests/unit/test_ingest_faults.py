"""Pure pieces of the ingestion fault handling: merged ids, reads by id, Get Updated spans, transient errors,
the lock wait."""

import time
from datetime import UTC, datetime, timedelta

import duckdb
import pytest
import requests
from hubspot.crm.objects.exceptions import ApiException
from simple_salesforce.exceptions import SalesforceGeneralError, SalesforceMalformedRequest

from ingestion.hubspot.records import merged_ids
from ingestion.salesforce.client import SalesforceApiError, salesforce_errors, updated_between
from ingestion.salesforce.query import build_soql_for_ids
from ingestion.transient import is_transient
from revloop.warehouse import WarehouseConfigError, WarehouseLocked, lock_wait_seconds, wait_for_lock

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def test_merged_ids_name_every_loser_once_and_never_the_survivor():
    row = {"id": "300", "updated_at": T0, "hs_merged_object_ids": "101;102; 101;300;"}
    assert merged_ids(row, "hs_merged_object_ids") == [
        {"id": "101", "merged_into_id": "300", "merged_at": T0},
        {"id": "102", "merged_into_id": "300", "merged_at": T0},
    ]
    assert merged_ids({"id": "5", "hs_merged_object_ids": None}, "hs_merged_object_ids") == []


def test_reads_by_id_quote_only_record_ids():
    soql = build_soql_for_ids("Lead", ["Id", "Email"], ["00Q000000000001", "00Q000000000002AAA"])
    assert soql == "SELECT Id, Email FROM Lead WHERE Id IN ('00Q000000000001', '00Q000000000002AAA')"
    with pytest.raises(ValueError, match="not a Salesforce record id"):
        build_soql_for_ids("Lead", ["Id"], ["00Q000000000001' OR Name != '"])


class _FakeObject:
    """Get Updated of an org that refuses spans listing more than `limit` ids."""

    def __init__(self, changes: dict[str, datetime], limit: int, open_since: datetime | None = None):
        self.changes, self.limit, self.open_since, self.calls = changes, limit, open_since, 0

    def updated(self, start: datetime, end: datetime) -> dict:
        self.calls += 1
        ids = [i for i, moment in self.changes.items() if start <= moment <= end]
        if len(ids) > self.limit:
            raise SalesforceMalformedRequest("url", 400, "Lead", [{"errorCode": "EXCEEDED_ID_LIMIT"}])
        covered = end if self.open_since is None else min(end, self.open_since)
        return {"ids": ids, "latestDateCovered": covered.strftime("%Y-%m-%dT%H:%M:00.000+0000")}


class _FakeOrg:
    def __init__(self, lead: _FakeObject):
        self.Lead = lead


def test_get_updated_reads_a_span_over_its_id_limit_in_halves_and_keeps_an_open_transaction():
    changes = {f"00Q{i:012d}": T0 + timedelta(minutes=i) for i in range(40)}
    lead = _FakeObject(changes, limit=15, open_since=T0 + timedelta(minutes=5))

    result = updated_between(_FakeOrg(lead), "Lead", T0, T0 + timedelta(hours=1))

    assert sorted(result["ids"]) == sorted(changes) and lead.calls > 3
    # the transaction open since minute 5 holds the coverage there, though later halves reach further
    assert result["latestDateCovered"].startswith("2026-03-01T12:05")


def test_transient_errors_are_the_network_throttling_5xx_and_a_held_warehouse():
    assert is_transient(requests.exceptions.ConnectionError("reset by peer"))
    assert is_transient(ApiException(status=503, reason="Service unavailable"))
    assert is_transient(WarehouseLocked("held"))
    with pytest.raises(SalesforceApiError) as unavailable:
        with salesforce_errors("query of Lead"):
            raise SalesforceGeneralError("url", 503, "Lead", [{"errorCode": "SERVER_UNAVAILABLE"}])
    assert is_transient(unavailable.value)
    wrapped = RuntimeError("dlt step failed")
    wrapped.exception = ApiException(status=429, reason="Too many requests")
    assert is_transient(wrapped)


def test_refusals_validation_errors_and_bugs_are_not_transient():
    assert not is_transient(ApiException(status=401, reason="Unauthorized"))
    assert not is_transient(ApiException(status=400, reason="VALIDATION_ERROR"))
    with pytest.raises(SalesforceApiError) as refused:
        with salesforce_errors("login"):
            raise SalesforceGeneralError("url", 401, "login", [{"errorCode": "INVALID_SESSION_ID"}])
    assert not is_transient(refused.value)
    assert not is_transient(KeyError("lead_id"))
    # a refusal behind a network error is still a refusal
    behind = requests.exceptions.ConnectionError("closed")
    behind.__cause__ = ApiException(status=403, reason="Forbidden")
    assert not is_transient(behind)


def _lock_error() -> duckdb.IOException:
    return duckdb.IOException(
        'IO Error: Could not set lock on file "/w.duckdb": Conflicting lock is held in /usr/bin/python3.11 '
        "(PID 4242). However, you would be able to open this database in read-only mode"
    )


def test_the_lock_wait_backs_off_doubling_and_gives_up_naming_the_holder():
    slept: list[float] = []
    attempts = []

    def never_free():
        attempts.append(1)
        raise _lock_error()

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(seconds)

    with pytest.raises(WarehouseLocked, match=r"/usr/bin/python3.11 \(PID 4242\)"):
        wait_for_lock(never_free, "/w.duckdb", wait_seconds=0.5, sleep=sleep)
    assert slept[0] == 0.2 and 0.45 <= sum(slept) <= 0.5  # never past the bound
    assert len(attempts) == len(slept) + 1

    opened = iter([_lock_error(), _lock_error(), "connection"])

    def free_at_third():
        item = next(opened)
        if isinstance(item, Exception):
            raise item
        return item

    slept.clear()
    assert wait_for_lock(free_at_third, "/w.duckdb", wait_seconds=60, sleep=slept.append) == "connection"
    assert slept == [0.2, 0.4]


def test_other_io_errors_are_not_waited_for_and_the_wait_is_configurable():
    def broken():
        raise duckdb.IOException("IO Error: No such file or directory")

    with pytest.raises(duckdb.IOException, match="No such file"):
        wait_for_lock(broken, "/w.duckdb", wait_seconds=60, sleep=lambda _: pytest.fail("waited"))
    assert lock_wait_seconds({}) == 120.0
    assert lock_wait_seconds({"REVLOOP_WAREHOUSE_LOCK_WAIT": "15"}) == 15.0
    with pytest.raises(WarehouseConfigError):
        lock_wait_seconds({"REVLOOP_WAREHOUSE_LOCK_WAIT": "soon"})
