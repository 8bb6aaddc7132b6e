"""Identity resolution on the raw warehouse of the synthetic world, judged against the world's truth.

Pairwise precision is judged against who each record really is (truth `people`: every id of a person,
including anonymous cookies no evidence ties to them); recall against the links the data supports
(truth `identity_merges` plus `probabilistic_links`), restricted to records present in the data.
"""

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from identity import resolve, resolve_identities
from identity.resolve import PROFILE_MAP_SCHEMA
from revloop.config.identity import load_identity_config
from tests.fixtures.built import BuiltWarehouse
from tests.fixtures.dbt import STAGING_SELECTION
from tests.fixtures.shared import copy_warehouse

pytestmark = pytest.mark.slow

PRE_IDENTITY = [*STAGING_SELECTION, "int_identity_records"]
# cautious: tests other rooms attach to these models (e.g. relationships from their marts) wait for theirs
POST_IDENTITY = [
    "--indirect-selection",
    "cautious",
    "--select",
    "int_identities_resolved",
    "int_event_messages_resolved",
    "identity_links",
    "profile_merges",
]
MINIMUM = 0.98


def pairs(sizes) -> int:
    return sum(n * (n - 1) // 2 for n in sizes)


@pytest.fixture(scope="module")
def resolved(built_warehouse: BuiltWarehouse, tmp_path_factory) -> Path:
    """This module's copy of the shared warehouse built by dbt (pre-identity), one identity run and dbt
    (post-identity), the identity models' dbt tests having passed."""
    folder = tmp_path_factory.mktemp("identity")
    summary = built_warehouse.dbt.identity
    assert summary.profiles > 0 and summary.created == summary.profiles
    built_warehouse.dbt.assert_tests_passed(PRE_IDENTITY, folder / "pre")
    built_warehouse.dbt.assert_tests_passed(POST_IDENTITY, folder / "post")
    return copy_warehouse(built_warehouse.path, folder / "warehouse.duckdb")


def query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def person_of_id(truth: dict) -> dict[str, str]:
    """Every id the truth knows -> the person it really belongs to."""
    owner = {}
    for person in truth["people"]:
        ids = (
            person["salesforce"]["leads"]
            + person["salesforce"]["contacts"]
            + person["hubspot"]["contacts"]
            + person["user_ids"]
            + person["anonymous_ids"]
            + person["unidentified_anonymous_ids"]
            + [link["anonymousId"] for link in person["probabilistic_anonymous_ids"]]
        )
        owner.update({i: person["person_id"] for i in ids})
    return owner


def supported_person_of_id(truth: dict) -> dict[str, str]:
    """The ids the truth says evidence ties to their person: identity_merges and probabilistic_links."""
    owner = {r["id"]: merge["person_id"] for merge in truth["identity_merges"] for r in merge["records"]}
    owner.update({link["anonymousId"]: link["person_id"] for link in truth["probabilistic_links"]})
    return owner


def test_pairwise_precision_and_recall(resolved, raw_warehouse):
    truth = raw_warehouse.world.truth
    records = query(
        resolved,
        "select distinct source_system, source_record_type, source_id from intermediate.int_identity_records",
    )
    profile = {
        (s, t, i): p
        for s, t, i, p in query(
            resolved,
            "select source_system, source_record_type, source_id, profile_id from marts.identity_links",
        )
    }
    really, supported = person_of_id(truth), supported_person_of_id(truth)

    predicted = Counter(profile[r] for r in records if r in profile)
    agreeing = Counter((profile[r], really.get(r[2])) for r in records if r in profile and really.get(r[2]))
    precision = pairs(agreeing.values()) / pairs(predicted.values())

    expected = Counter(supported[r[2]] for r in records if r[2] in supported)
    found = Counter((supported[r[2]], profile[r]) for r in records if r[2] in supported and r in profile)
    recall = pairs(found.values()) / pairs(expected.values())
    print(f"pairwise precision {precision:.4f} recall {recall:.4f} over {len(records)} records")
    assert precision >= MINIMUM
    assert recall >= MINIMUM


def test_shared_office_ip_never_merges_known_people(resolved, raw_warehouse):
    truth = raw_warehouse.world.truth
    assert truth["shared_ip_groups"], "the world plants office IPs shared by known people"
    profiles_of = defaultdict(set)
    really = person_of_id(truth)
    for source_id, profile_id in query(resolved, "select source_id, profile_id from marts.identity_links"):
        if source_id in really:
            profiles_of[really[source_id]].add(profile_id)
    for group in truth["shared_ip_groups"]:
        people = [p for p in group["person_ids"] if profiles_of[p]]
        owners = [profile_id for p in people for profile_id in profiles_of[p]]
        assert len(owners) == len(set(owners)), f"people of office IP {group['ip']} share a profile"


def test_probabilistic_links_where_planted_and_none_for_strangers(resolved, raw_warehouse):
    truth = raw_warehouse.world.truth
    threshold = load_identity_config().match_threshold
    present = {
        i for (i,) in query(resolved, "select distinct source_id from intermediate.int_identity_records")
    }
    links = {
        i: (p, m, c)
        for i, p, m, c in query(
            resolved, "select source_id, profile_id, match_type, confidence from marts.identity_links"
        )
    }
    profile_of_person = {}
    for merge in truth["identity_merges"]:
        ids = {links[r["id"]][0] for r in merge["records"] if r["id"] in links}
        if len(ids) == 1:
            profile_of_person[merge["person_id"]] = ids.pop()
    planted = [link for link in truth["probabilistic_links"] if link["anonymousId"] in present]
    assert planted, "the world plants second cookies"
    for link in planted:
        profile_id, match_type, confidence = links[link["anonymousId"]]
        assert match_type == "probabilistic" and confidence >= threshold
        assert profile_id == profile_of_person[link["person_id"]], link
    strangers = set(truth["unlinked_anonymous_ids"]) & present
    assert strangers and not strangers & set(links)


def test_messages_carry_their_records_profile(resolved, raw_warehouse):
    strangers = set(raw_warehouse.world.truth["unlinked_anonymous_ids"])
    rows = query(
        resolved,
        "select m.source_id, m.profile_id, l.profile_id from intermediate.int_event_messages_resolved m "
        "join marts.identity_links l on l.source_system = m.channel "
        "and l.source_record_type = m.source_record_type and l.source_id = m.source_id",
    )
    assert rows and all(message == link for _, message, link in rows)
    assert not strangers & {source_id for source_id, _, _ in rows}
    unresolved = query(
        resolved,
        "select count(*) from intermediate.int_events_unioned e where not exists ("
        "select 1 from intermediate.int_event_messages_resolved m "
        "where m.channel = e.channel and m.message_id = e.message_id) "
        "and e.user_id is not null",
    )
    assert unresolved == [(0,)], "every message with a userId belongs to a profile"


def test_rerun_without_new_data_changes_nothing(resolved):
    before = query(resolved, "select * from identity.profile_map order by all")
    changes_before = query(resolved, "select count(*) from identity.profile_changes")
    summary = resolve_identities(resolved)
    assert (summary.created, summary.merges, summary.splits) == (0, 0, 0)
    assert query(resolved, "select * from identity.profile_map order by all") == before
    assert query(resolved, "select count(*) from identity.profile_changes") == changes_before


def test_new_record_joining_two_profiles_merges_them_and_keeps_ids(resolved):
    config = load_identity_config()
    with duckdb.connect(str(resolved), read_only=True) as con:
        rows = con.sql("select * from intermediate.int_identity_records").to_arrow_table()
        columns = ", ".join(PROFILE_MAP_SCHEMA.names)
        previous = con.sql(f"select {columns} from identity.profile_map").to_arrow_table()
        # two single-record Salesforce profiles with an e-mail each: a HubSpot form fill will carry both
        a, b = con.execute(
            "select l.source_id, l.profile_id, r.email from marts.identity_links l "
            "join intermediate.int_identity_records r using (source_system, source_record_type, source_id) "
            "where l.matched_on = 'sole_record' and l.source_system = 'salesforce' and r.email is not null "
            "order by l.source_id limit 2"
        ).fetchall()
    bridge = {name: [None] for name in rows.column_names}
    bridge.update(
        source_system=["hubspot"],
        source_record_type=["hubspot_contact"],
        source_id=["bridge-1"],
        email=[a[2]],
        message_count=[1],
    )
    second = {**bridge, "source_id": ["bridge-2"], "email": [b[2]], "hubspot_contact_id": ["bridge-1"]}
    bridge["hubspot_contact_id"] = ["bridge-1"]
    extra = pa.concat_tables(
        [rows, pa.table(bridge, schema=rows.schema), pa.table(second, schema=rows.schema)]
    )
    later = datetime.now(UTC) + timedelta(hours=1)
    merged = resolve(extra, previous, config, later)

    new_map = {(r["source_system"], r["source_id"]): r for r in merged.profile_map.to_pylist()}
    survivor = new_map[("salesforce", a[0])]["profile_id"]
    assert survivor in (a[1], b[1])
    assert new_map[("salesforce", b[0])]["profile_id"] == survivor
    assert new_map[("hubspot", "bridge-1")]["profile_id"] == survivor
    log = merged.changes.to_pylist()
    assert [(c["change_type"], c["profile_id"], c["other_profile_id"]) for c in log] == [
        ("merged", survivor, ({a[1], b[1]} - {survivor}).pop())
    ]
    old = {(r["source_system"], r["source_id"]): r["profile_id"] for r in previous.to_pylist()}
    moved = [k for k, pid in old.items() if new_map[k]["profile_id"] != pid]
    assert moved == [("salesforce", a[0] if survivor == b[1] else b[0])]
    # the same input again: nothing more to do
    again = resolve(extra, merged.profile_map, config, later + timedelta(hours=1))
    assert again.changes.num_rows == 0
    assert again.profile_map.equals(merged.profile_map)
