"""Quiet at rest, end to end: after the first sync, a sync separated from it only by re-ingesting what it
wrote sends no write call, and the profiles do not move between the builds; also after a first sync that
met lost answers and refused records. Each run's write calls, duplicates and full scans are printed (-s)."""

import pytest

from benchmarks.sync_at_rest import Round, run_rounds

pytestmark = pytest.mark.slow
NO_CALLS = {"salesforce": 0, "hubspot": 0, "hubspot associations": 0}
NO_DUPLICATES = {"salesforce": 0, "hubspot": 0}


def _print(name: str, rounds: list[Round]) -> None:
    for n, r in enumerate(rounds, 1):
        print(
            f"\n{name} sync {n}: write calls {r.calls}, outcomes {r.outcomes}, duplicates {r.duplicates}, "
            f"full scans since the previous sync {r.scans}, moved {r.moved}"
        )


def test_second_sync_after_reingesting_the_first_writes_nothing_and_profiles_stay(tmp_path):
    first, second = run_rounds(people=80, seed=7, rounds=2, workdir=tmp_path)
    _print("two runs:", [first, second])
    assert sum(first.calls.values()) > 0 and first.planned
    assert first.duplicates == second.duplicates == NO_DUPLICATES
    # the first sync's own writes changed no profile value; only the records it created joined profiles
    assert all(n == 0 for name, n in first.moved.items() if name != "crm links new"), first.moved
    assert second.calls == NO_CALLS and second.planned == {}
    # the ingestion between the syncs and the second sync read by cursor only
    assert second.scans == {"salesforce": 0, "hubspot": 0}
    assert set(second.moved.values()) == {0}


def test_after_a_faulty_first_sync_nothing_is_duplicated_and_the_next_sync_sends_nothing(tmp_path):
    first, second = run_rounds(people=80, seed=7, rounds=2, workdir=tmp_path, faults=True)
    _print("faults:", [first, second])
    # lost answers were retried without a duplicate; one record per CRM refused, logged, not remembered
    assert first.duplicates == second.duplicates == NO_DUPLICATES
    assert first.outcomes.get("refused") == 2 and sum(first.calls.values()) > 0
    # the settle sync: the refused writes are held (same record, same payload), nothing is sent
    assert second.calls == NO_CALLS and second.planned == {}
    assert second.outcomes.get("held") == 2
    assert not {"created", "updated", "refused", "failed"} & set(second.outcomes), second.outcomes
    assert second.scans == {"salesforce": 0, "hubspot": 0}
    assert set(second.moved.values()) == {0}
