"""Quiet at rest, end to end: after the first sync, a sync separated from it only by re-ingesting what it
wrote sends no write call, and the profiles do not move between the builds."""

import pytest

from benchmarks.sync_at_rest import run_rounds

pytestmark = pytest.mark.slow


def test_second_sync_after_reingesting_the_first_writes_nothing_and_profiles_stay(tmp_path):
    first, second = run_rounds(people=80, seed=7, rounds=2, workdir=tmp_path)
    assert sum(first.calls.values()) > 0 and first.planned
    # the first sync's own writes changed no profile value; only the records it created joined profiles
    assert all(n == 0 for name, n in first.moved.items() if name != "crm links new"), first.moved
    assert second.calls == {"salesforce": 0, "hubspot": 0, "hubspot associations": 0} and second.planned == {}
    assert set(second.moved.values()) == {0}
