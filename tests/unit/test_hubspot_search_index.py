"""The HubSpot emulator's indexed search returns exactly what filtering and sorting every record returns."""

import functools
import random
from datetime import UTC, datetime, timedelta

import pytest

from sandbox.hubspot.emulator import HubSpotEmulator
from sandbox.hubspot.errors import HubSpotError
from sandbox.hubspot.search import compile_filter_groups, find_matches, query_matcher, sort_records

T0 = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
PROPERTIES = ["amount", "hs_lastmodifieddate", "hs_object_id", "dealstage"]


def _scan(store, payload, lookup):
    """The reference answer: every live record filtered, then sorted."""
    wanted = compile_filter_groups(payload.get("filterGroups") or [], lookup)
    text = query_matcher(store.object_type, payload.get("query"))
    matches = [r for r in store.live() if wanted(r) and text(r)]
    return sort_records(matches, payload.get("sorts") or [], lookup)


@pytest.fixture(scope="module")
def deals():
    rng = random.Random(3)
    emulator = HubSpotEmulator()
    # Few distinct times and amounts, so that ties and equal-value blocks are common; some amounts missing.
    emulator.seed(
        "deals",
        [
            {
                "properties": {
                    "dealname": f"Deal {i}",
                    "amount": rng.choice([None, "", "5", "10", "10.0", "250.5", "1000"]),
                    "dealstage": rng.choice(["closedwon", "qualifiedtobuy", "ClosedWon"]),
                },
                "createdAt": T0,
                "updatedAt": T0 + timedelta(minutes=rng.randrange(40)),
                "archived": rng.random() < 0.1,
            }
            for i in range(600)
        ],
    )
    return emulator.stores["deals"], functools.partial(emulator.properties.get, "deals")


def _random_filter(rng: random.Random, ids: list[int]) -> dict:
    name = rng.choice(PROPERTIES)
    operator = rng.choice(["EQ", "NEQ", "GT", "GTE", "LT", "LTE", "BETWEEN", "HAS_PROPERTY"])
    if name == "amount":
        low, high = sorted(rng.sample(["5", "10", "250.5", "1000", "7", "0"], 2), key=float)
    elif name == "hs_lastmodifieddate":
        moments = sorted(T0 + timedelta(minutes=rng.randrange(-2, 42)) for _ in range(2))
        low, high = (str(int(m.timestamp() * 1000)) for m in moments)
    elif name == "hs_object_id":
        low, high = (str(v) for v in sorted(rng.sample(ids, 2)))
    else:
        low, high = sorted(rng.sample(["closedwon", "qualifiedtobuy", "CLOSEDWON", "m"], 2))
    spec = {"propertyName": name, "operator": operator, "value": low}
    if operator == "BETWEEN":
        spec["highValue"] = high
    return spec


def test_indexed_search_equals_a_full_scan(deals):
    store, lookup = deals
    rng = random.Random(11)
    ids = [int(i) for i in store.records]
    for _ in range(400):
        filters = [_random_filter(rng, ids) for _ in range(rng.randrange(3))]
        groups = [{"filters": filters}] if filters else rng.choice([[], [{"filters": []}]])
        sorts = rng.choice(
            [
                [],
                [{"propertyName": rng.choice(PROPERTIES)}],
                [{"propertyName": rng.choice(["amount", "hs_object_id"]), "direction": "DESCENDING"}],
                [{"propertyName": "hs_lastmodifieddate"}, {"propertyName": "amount"}],
            ]
        )
        payload = {"filterGroups": groups, "sorts": sorts}
        expected = [r.id for r in _scan(store, payload, lookup)]
        assert [r.id for r in find_matches(store, payload, lookup)] == expected, payload


def test_keyset_paging_reads_every_live_record_once(deals):
    store, lookup = deals
    seen, lower = [], None
    for _ in range(len(store.live()) + 1):  # each query must move past at least one record
        filters = [] if lower is None else [
            {"propertyName": "hs_lastmodifieddate", "operator": "GT", "value": str(lower)}
        ]
        payload = {"filterGroups": [{"filters": filters}], "sorts": [{"propertyName": "hs_lastmodifieddate"}]}
        matches = find_matches(store, payload, lookup)
        if not matches:
            break
        # One page per distinct time keeps the test about the index, not the client's tie handling.
        moment = matches[0].value("hs_lastmodifieddate")
        page = [r for r in matches if r.value("hs_lastmodifieddate") == moment]
        seen += [r.id for r in page]
        lower = int(datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp() * 1000)
    assert sorted(seen) == sorted(r.id for r in store.live())


def test_index_follows_writes():
    emulator = HubSpotEmulator()
    emulator.seed("contacts", [{"properties": {"email": f"p{i}@x.com"}, "updatedAt": T0} for i in range(3)])
    store, lookup = emulator.stores["contacts"], functools.partial(emulator.properties.get, "contacts")
    payload = {"filterGroups": [], "sorts": [{"propertyName": "lastmodifieddate"}]}
    first = find_matches(store, payload, lookup)
    moved = first[0]
    store.update(moved, {"firstname": "Ann"}, T0 + timedelta(hours=1))
    assert [r.id for r in find_matches(store, payload, lookup)] == [r.id for r in first[1:]] + [moved.id]
    store.archive(first[1], T0 + timedelta(hours=2))
    assert first[1].id not in [r.id for r in find_matches(store, payload, lookup)]


def test_unknown_sort_or_bad_bound_is_a_validation_error(deals):
    store, lookup = deals
    with pytest.raises(HubSpotError):
        find_matches(store, {"sorts": [{"propertyName": "amout"}]}, lookup)
    bad = {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": "yesterday"}
    with pytest.raises(HubSpotError):
        find_matches(store, {"filterGroups": [{"filters": [bad]}]}, lookup)
