"""Identity resolution on the raw warehouse of the synthetic world, judged against the world's truth, on
DuckDB and on PostgreSQL (the `engine` fixture: the identity step through a dlt postgres destination).

Pairwise precision is judged against who each record really is (truth `people`: every id of a person,
including anonymous cookies no evidence ties to them); recall against the links the data supports
(truth `identity_merges` plus `probabilistic_links`), restricted to records present in the data.
"""

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import duckdb
import pyarrow as pa
import pytest

from identity import resolve
from identity.resolve import PROFILE_MAP_SCHEMA
from revloop.config.identity import load_identity_config
from tests.fixtures.dbt import STAGING_SELECTION
from tests.fixtures.engines import Engine, duckdb_only

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
def resolved(engine: Engine, tmp_path_factory) -> Engine:
    """This module's copy of the shared project built by dbt (pre-identity), one identity run and dbt
    (post-identity) on one engine, the identity models' dbt tests having passed."""
    folder = tmp_path_factory.mktemp(f"identity_{engine.name}")
    summary = engine.dbt.identity
    assert summary.profiles > 0 and summary.created == summary.profiles
    engine.dbt.assert_tests_passed(PRE_IDENTITY, folder / "pre")
    engine.dbt.assert_tests_passed(POST_IDENTITY, folder / "post")
    return engine


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
    records = resolved.rows(
        "select distinct source_system, source_record_type, source_id from intermediate.int_identity_records",
    )
    profile = {
        (s, t, i): p
        for s, t, i, p in resolved.rows(
            "select source_system, source_record_type, source_id, profile_id from marts.identity_links",
        )
    }
    assert len(set(profile.values())) == resolved.dbt.identity.profiles
    really, supported = person_of_id(truth), supported_person_of_id(truth)

    predicted = Counter(profile[r] for r in records if r in profile)
    agreeing = Counter((profile[r], really.get(r[2])) for r in records if r in profile and really.get(r[2]))
    precision = pairs(agreeing.values()) / pairs(predicted.values())

    expected = Counter(supported[r[2]] for r in records if r[2] in supported)
    found = Counter((supported[r[2]], profile[r]) for r in records if r[2] in supported and r in profile)
    recall = pairs(found.values()) / pairs(expected.values())
    print(f"{resolved.name}: pairwise precision {precision:.4f} recall {recall:.4f} over {len(records)} rows")
    assert precision >= MINIMUM
    assert recall >= MINIMUM
    messages = resolved.scalar("select count(*) from intermediate.int_event_messages_resolved")
    assert messages > 0


def test_shared_office_ip_never_merges_known_people(resolved, raw_warehouse):
    truth = raw_warehouse.world.truth
    assert truth["shared_ip_groups"], "the world plants office IPs shared by known people"
    profiles_of = defaultdict(set)
    really = person_of_id(truth)
    for source_id, profile_id in resolved.rows("select source_id, profile_id from marts.identity_links"):
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
        i for (i,) in resolved.rows("select distinct source_id from intermediate.int_identity_records")
    }
    links = {
        i: (p, m, c)
        for i, p, m, c in resolved.rows(
            "select source_id, profile_id, match_type, confidence from marts.identity_links"
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
    rows = resolved.rows(
        "select m.source_id, m.profile_id, l.profile_id from intermediate.int_event_messages_resolved m "
        "join marts.identity_links l on l.source_system = m.channel "
        "and l.source_record_type = m.source_record_type and l.source_id = m.source_id",
    )
    assert rows and all(message == link for _, message, link in rows)
    assert not strangers & {source_id for source_id, _, _ in rows}
    unresolved = resolved.rows(
        "select count(*) from intermediate.int_events_unioned e where not exists ("
        "select 1 from intermediate.int_event_messages_resolved m "
        "where m.channel = e.channel and m.message_id = e.message_id) "
        "and e.user_id is not null",
    )
    assert unresolved == [(0,)], "every message with a userId belongs to a profile"


def test_rerun_without_new_data_changes_nothing(resolved):
    columns = "source_system, source_record_type, source_id, profile_id, updated_at"
    every_column = "*" if resolved.name == "duckdb" else columns  # dlt's own columns differ per engine
    profile_map = f"select {every_column} from identity.profile_map order by {columns}"
    before = resolved.rows(profile_map)
    changes_before = resolved.rows("select count(*) from identity.profile_changes")
    summary = resolved.resolve_identities()
    assert (summary.created, summary.merges, summary.splits) == (0, 0, 0)
    assert resolved.rows(profile_map) == before
    assert resolved.rows("select count(*) from identity.profile_changes") == changes_before


@duckdb_only
def test_new_record_joining_two_profiles_merges_them_and_keeps_ids(resolved):
    config = load_identity_config()
    with duckdb.connect(str(resolved.path), read_only=True) as con:
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
