"""The sync's memory of what revloop wrote, read back: every value and time exact, a list never shared."""

from datetime import UTC, datetime, timedelta

import pytest

from activation.plan import RecordWrite
from activation.results import WriteResult
from activation.store import ActivationStore
from revloop.warehouse import connect_warehouse

T0 = datetime(2026, 11, 1, 12, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture
def store(warehouse):
    with connect_warehouse(warehouse) as connection:
        yield ActivationStore(connection)


def test_written_values_come_back_with_their_exact_time_and_type(store):
    values = {"Email": "ann@acme.io", "Lead_Score__c": 0.14, "Count__c": 3, "Tags__c": ["a", "b"]}
    values["Flag__c"] = None
    writes = [
        RecordWrite("salesforce", "Lead", "update", f"p{i}", f"00Q{i}", dict(values), canonical=dict(values))
        for i in range(3)
    ]
    store.record("r1", "contact", [WriteResult(w, "updated", w.record_id) for w in writes])
    state = store.written()
    assert {key[:2] for key in state} == {("salesforce", f"00Q{i}") for i in range(3)}
    for i in range(3):
        read = {name: state[("salesforce", f"00Q{i}", name)].value for name in values}
        assert read == values
    times = {written.at for written in state.values()}
    assert len(times) == 1
    [at] = times
    assert at.utcoffset() == timedelta(0) and abs(at - datetime.now(UTC)) < timedelta(minutes=5)
    # a list is decoded per record (never one object shared by several), a text or number may be shared
    first, second = (state[("salesforce", f"00Q{i}", "Tags__c")].value for i in (0, 1))
    assert first == second and first is not second


def test_a_time_keeps_its_microseconds(store):
    store.connection.execute(
        "insert into activation.written_values values ('hubspot', '501', 'email', '\"a@b.io\"', 'r0', ?)",
        [T0],
    )
    assert store.written()[("hubspot", "501", "email")] == ("a@b.io", T0)
