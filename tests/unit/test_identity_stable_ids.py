"""Stable profile ids across runs: merges keep the survivor's id, splits and merges are logged."""

from datetime import UTC, datetime, timedelta

from identity.resolve import resolve
from revloop.config.identity import IdentityConfig
from tests.unit.test_identity_graph import lead, rows

CONFIG = IdentityConfig()
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def ids(result) -> dict[str, str]:
    table = result.profile_map
    return dict(
        zip(table.column("source_id").to_pylist(), table.column("profile_id").to_pylist(), strict=True)
    )


def changes(result) -> list[tuple]:
    return sorted(
        (c["change_type"], c["profile_id"], c["other_profile_id"], c["source_id"])
        for c in result.changes.to_pylist()
    )


def test_new_people_get_ids_derived_from_their_records_and_a_created_entry():
    first = resolve(rows(lead("L1", email="a@x.com"), lead("L2", email="b@x.com")), None, CONFIG, T0)
    again = resolve(rows(lead("L2", email="b@x.com"), lead("L1", email="a@x.com")), None, CONFIG, T0)
    assert ids(first) == ids(again) and ids(first)["L1"] != ids(first)["L2"]
    assert [c[0] for c in changes(first)] == ["created", "created"]


def test_a_bridge_merges_two_profiles_into_the_bigger_one():
    before = resolve(
        rows(lead("L1", email="a@x.com"), lead("L1b", email="a@x.com"), lead("L2", email="b@x.com")),
        None,
        CONFIG,
        T0,
    )
    old = ids(before)
    bridged = rows(
        lead("L1", email="a@x.com"),
        lead("L1b", email="a@x.com"),
        lead("L2", email="b@x.com"),
        lead("L3", email="a@x.com"),
        lead("L3", email="b@x.com"),
    )
    after = resolve(bridged, before.profile_map, CONFIG, T0 + timedelta(days=1))
    new = ids(after)
    assert set(new.values()) == {old["L1"]}
    assert changes(after) == [("merged", old["L1"], old["L2"], "L2")]
    first_linked = dict(
        zip(
            after.profile_map.column("source_id").to_pylist(),
            after.profile_map.column("first_linked_at").to_pylist(),
            strict=True,
        )
    )
    assert first_linked["L2"] == T0 and first_linked["L3"] == T0 + timedelta(days=1)


def test_a_split_keeps_the_id_with_the_bigger_part_and_logs_the_other():
    before = resolve(
        rows(
            lead("L1", email="a@x.com"),
            lead("L2", email="a@x.com", phone_raw="+14155550123"),
            lead("L3", phone_raw="+14155550123"),
        ),
        None,
        CONFIG,
        T0,
    )
    old = ids(before)
    assert len(set(old.values())) == 1
    # L2 corrected its e-mail: L1 is on its own now
    after = resolve(
        rows(
            lead("L1", email="a@x.com"),
            lead("L2", email="c@x.com", phone_raw="+14155550123"),
            lead("L3", phone_raw="+14155550123"),
        ),
        before.profile_map,
        CONFIG,
        T0 + timedelta(days=1),
    )
    new = ids(after)
    assert new["L2"] == new["L3"] == old["L1"]
    assert new["L1"] != old["L1"]
    assert changes(after) == [("split", new["L1"], old["L1"], "L1")]


def test_unchanged_input_changes_nothing_not_even_timestamps():
    table = rows(lead("L1", email="a@x.com"), lead("L2", email="a@x.com"))
    first = resolve(table, None, CONFIG, T0)
    second = resolve(table, first.profile_map, CONFIG, T0 + timedelta(days=1))
    assert second.changes.num_rows == 0
    assert second.profile_map.equals(first.profile_map)
    assert (second.summary.created, second.summary.merges, second.summary.splits) == (0, 0, 0)


def test_a_record_joining_a_profile_takes_its_id_without_a_change_entry():
    first = resolve(rows(lead("L1", email="a@x.com")), None, CONFIG, T0)
    second = resolve(
        rows(lead("L1", email="a@x.com"), lead("L2", email="a@x.com")),
        first.profile_map,
        CONFIG,
        T0 + timedelta(days=1),
    )
    assert ids(second)["L2"] == ids(first)["L1"]
    assert second.changes.num_rows == 0


def record_changes(result) -> list[tuple]:
    return sorted(
        (c["source_id"], c["profile_id"], c["previous_profile_id"]) for c in result.record_changes.to_pylist()
    )


def test_record_changes_log_every_record_that_moved_joined_or_left_and_nothing_else():
    first = resolve(
        rows(lead("L1", email="a@x.com"), lead("L2", email="b@x.com"), lead("L4", email="d@x.com")),
        None,
        CONFIG,
        T0,
    )
    old = ids(first)
    assert record_changes(first) == sorted((r, p, None) for r, p in old.items())
    # L3 bridges L1 and L2 (L2 moves to L1's profile, L1 now shares its e-mail); L4 is gone from the CRM
    second = resolve(
        rows(
            lead("L1", email="a@x.com"),
            lead("L2", email="b@x.com"),
            lead("L3", email="a@x.com"),
            lead("L3", email="b@x.com"),
        ),
        first.profile_map,
        CONFIG,
        T0 + timedelta(days=1),
    )
    assert record_changes(second) == [
        ("L1", old["L1"], old["L1"]),
        ("L2", old["L1"], old["L2"]),
        ("L3", old["L1"], None),
        ("L4", None, old["L4"]),
    ]
    assert set(second.record_changes.column("run_at").to_pylist()) == {T0 + timedelta(days=1)}
    third = resolve(rows(lead("L1", email="a@x.com")), second.profile_map, CONFIG, T0 + timedelta(days=2))
    assert [source_id for source_id, _, _ in record_changes(third)] == ["L1", "L2", "L3"]
    unchanged = resolve(rows(lead("L1", email="a@x.com")), third.profile_map, CONFIG, T0 + timedelta(days=3))
    assert unchanged.record_changes.num_rows == 0
