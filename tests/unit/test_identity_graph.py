"""Deterministic identity: shared keys link records transitively; anonymous ids alone make no known person."""

from datetime import UTC, datetime

import pyarrow as pa

from identity.graph import deterministic_graph
from identity.records import COLUMNS, group_records
from identity.resolve import resolve
from revloop.config.identity import IdentityConfig


def rows(*records: dict) -> pa.Table:
    """int_identity_records rows from partial dicts (other columns null)."""
    types = {"observed_at": pa.timestamp("us", tz="UTC"), "message_count": pa.int64()}
    return pa.table({c: pa.array([r.get(c) for r in records], types.get(c, pa.string())) for c in COLUMNS})


def lead(i, **kw):
    return {"source_system": "salesforce", "source_record_type": "lead", "source_id": i, **kw}


def event(channel, kind, i, **kw):
    return {"source_system": channel, "source_record_type": kind, "source_id": i, **kw}


def components(table: pa.Table) -> dict[str, int]:
    records = group_records(table)
    graph = deterministic_graph(records, "US")
    return {records.source_id[i]: int(graph.component[i]) for i in range(records.count)}


def test_a_chain_of_shared_identifiers_is_one_person():
    table = rows(
        lead("L1", email="ann@acme.com"),
        {
            "source_system": "hubspot",
            "source_record_type": "hubspot_contact",
            "source_id": "H1",
            "email": "ann@acme.com",
            "phone_raw": "(415) 555-0123",
            "country": "United States",
        },
        event("offline", "event_user", "C1", customer_id="C1", phone_raw="+1 415 555 0123"),
        event("website", "event_user", "usr_1", customer_id="usr_1", anonymous_id="anon-1"),
        event("website", "event_anonymous", "anon-1", anonymous_id="anon-1", email="other@x.com"),
        event("email", "event_user", "usr_1", customer_id="usr_1", email=" ANN@acme.com "),
        lead("L2", email="bob@acme.com"),
    )
    found = components(table)
    assert len({found[i] for i in ("L1", "H1", "C1", "usr_1", "anon-1")}) == 1
    assert found["L2"] != found["L1"]


def test_national_numbers_take_the_region_of_the_record():
    table = rows(
        lead("L1", phone_raw="020 7946 0958", country="United Kingdom"),
        event("offline", "event_anonymous", "badge-1", anonymous_id="badge-1", phone_raw="+44 20 7946 0958"),
        # no country: its other, international number says it is British
        event("offline", "event_anonymous", "badge-2", anonymous_id="badge-2", phone_raw="020 7946 0958"),
        event("offline", "event_anonymous", "badge-2", anonymous_id="badge-2", phone_raw="+44 20 1234 5678"),
    )
    found = components(table)
    assert found["L1"] == found["badge-1"] == found["badge-2"]


def test_anonymous_ids_alone_make_no_known_person():
    table = rows(
        event("website", "event_anonymous", "anon-1", anonymous_id="anon-1", device_id="d1"),
        event("ads", "event_anonymous", "anon-1", anonymous_id="anon-1"),
        lead("L1", email="ann@acme.com"),
    )
    records = group_records(table)
    graph = deterministic_graph(records, "US")
    known = {
        records.source_id[i]: bool(graph.known_component[graph.component[i]]) for i in range(records.count)
    }
    assert known == {"anon-1": False, "L1": True}
    assert graph.component_count == 2


def test_ignored_emails_link_nobody():
    table = rows(lead("L1", email="info@acme.com"), lead("L2", email="info@acme.com"))
    config = IdentityConfig(ignored_emails=["INFO@acme.com"])
    result = resolve(table, None, config, datetime.now(UTC))
    assert len(set(result.profile_map.column("profile_id").to_pylist())) == 2


def test_links_say_what_matched():
    table = rows(
        lead("L1", email="ann@acme.com", phone_raw="+14155550123"),
        lead("L2", email="ann@acme.com", phone_raw="(415) 555-0123", country="US"),
        lead("L3", email="ann@acme.com"),
        lead("L4", email="bob@acme.com"),
    )
    result = resolve(table, None, IdentityConfig(), datetime.now(UTC))
    matched = dict(
        zip(
            result.profile_map.column("source_id").to_pylist(),
            result.profile_map.column("matched_on").to_pylist(),
            strict=True,
        )
    )
    assert matched == {"L1": "email+phone", "L2": "email+phone", "L3": "email", "L4": "sole_record"}
    assert set(result.profile_map.column("match_type").to_pylist()) == {"deterministic"}
    assert set(result.profile_map.column("confidence").to_pylist()) == {1.0}
