"""Shared values are not identifiers: switchboard phones, crowded office networks, colleagues' devices."""

from datetime import UTC, datetime, timedelta

import pytest

from identity.resolve import resolve, value_hash
from revloop.config import ConfigError, load
from revloop.config.identity import IdentityConfig
from tests.unit.test_identity_graph import event, lead, rows
from tests.unit.test_identity_probabilistic import CONFIG, OFFICE_AGENT, OFFICE_IP, known_people

SWITCHBOARD = "+1 415 519 0615"


def hubspot(i, **kw):
    return {"source_system": "hubspot", "source_record_type": "hubspot_contact", "source_id": i, **kw}


def profiles(table, config=CONFIG, previous=None, at=None):
    result = resolve(table, previous, config, at or datetime.now(UTC))
    return result, {r["source_id"]: r["profile_id"] for r in result.profile_map.to_pylist()}


def test_a_switchboard_phone_of_two_colleagues_links_neither():
    result, profile_of = profiles(
        rows(
            lead("L1", email="ann@acme.com", phone_raw=SWITCHBOARD),
            hubspot("H2", email="bob@acme.com", phone_raw=SWITCHBOARD),
        )
    )
    assert profile_of["L1"] != profile_of["H2"]
    shared = result.shared_values.to_pylist()
    assert [(r["value_type"], r["value_hash"], r["people"]) for r in shared] == [
        ("phone", value_hash("+14155190615"), 2)
    ]


def test_a_persons_own_phone_still_links_their_records():
    # the same person: one e-mail, and a phone-only call-in duplicate
    _, profile_of = profiles(
        rows(
            lead("L1", email="ann@acme.com", phone_raw=SWITCHBOARD),
            hubspot("H1", email="Ann@acme.com", phone_raw="(415) 519-0615"),
            lead("L2", phone_raw="415.519.0615"),
        )
    )
    assert profile_of["L1"] == profile_of["H1"] == profile_of["L2"]


def test_the_limit_is_configurable_and_must_be_positive(tmp_path):
    table = rows(
        lead("L1", email="ann@acme.com", phone_raw=SWITCHBOARD),
        lead("L2", email="bob@acme.com", phone_raw=SWITCHBOARD),
    )
    lenient = IdentityConfig(shared_value_limits={"phone": 2, "anonymous_id": 1})
    assert len(set(profiles(table, lenient)[1].values())) == 1
    (tmp_path / "identity.yml").write_text("shared_value_limits: {phone: 0}\n")
    with pytest.raises(ConfigError, match="shared_value_limits"):
        load("identity", IdentityConfig, tmp_path)


def test_an_anonymous_id_seen_with_two_users_is_a_shared_computer():
    table = rows(
        event("website", "event_user", "u1", customer_id="u1", email="ann@acme.com", anonymous_id="kiosk"),
        event("website", "event_user", "u2", customer_id="u2", email="bob@acme.com", anonymous_id="kiosk"),
    )
    _, profile_of = profiles(table)
    assert profile_of["u1"] != profile_of["u2"]


def test_blocked_values_are_listed_and_link_nobody():
    config = IdentityConfig(ignored_phones=["+14155190615"])
    result, profile_of = profiles(
        rows(lead("L1", email="ann@acme.com", phone_raw=SWITCHBOARD), lead("L2", phone_raw=SWITCHBOARD)),
        config,
    )
    assert profile_of["L1"] != profile_of["L2"]
    assert ("phone", value_hash("+14155190615"), None) in [
        (r["value_type"], r["value_hash"], r["people"]) for r in result.shared_values.to_pylist()
    ]


def colleague(name: str, device: str | None) -> dict:
    return event(
        "website",
        "event_anonymous",
        name,
        anonymous_id=name,
        device_id=device,
        ip=OFFICE_IP,
        user_agent=OFFICE_AGENT,
        page_paths="/|/pricing",
        active_hours="9|10",
    )


def test_an_anonymous_colleague_with_another_device_behind_the_office_ip_stays_unlinked():
    # person 0 alone of the known people uses the office network below: one colleague and strangers too
    extra = [colleague("colleague", "dev-colleague"), colleague("stranger", "dev-stranger")]
    _, profile_of = profiles(rows(*known_people(), *extra))
    assert "colleague" not in profile_of and "stranger" not in profile_of


def test_ips_with_people_behind_them_are_listed():
    result, _ = profiles(rows(*known_people(), colleague("colleague", "dev-colleague")))
    ips = [r for r in result.shared_values.to_pylist() if r["value_type"] == "ip"]
    assert (value_hash(OFFICE_IP), 4) in [(r["value_hash"], r["people"]) for r in ips]


def test_a_merge_that_new_evidence_undoes_is_a_split():
    # run 1: a lead and a phone-only call-in share a number: one person
    first = [lead("L1", email="ann@acme.com", phone_raw=SWITCHBOARD), lead("L2", phone_raw=SWITCHBOARD)]
    before, profile_of = profiles(rows(*first))
    assert profile_of["L1"] == profile_of["L2"]
    # run 2: a colleague's record shows the number is the switchboard: the call-in is nobody's in particular
    later = datetime.now(UTC) + timedelta(hours=1)
    table = rows(*first, lead("L3", email="bob@acme.com", phone_raw=SWITCHBOARD))
    after, now = profiles(table, previous=before.profile_map, at=later)
    assert now["L1"] == profile_of["L1"], "the profile keeps its id"
    assert now["L2"] != now["L1"]
    changes = [
        (c["change_type"], c["profile_id"], c["other_profile_id"], c["source_id"])
        for c in after.changes.to_pylist()
    ]
    assert ("split", now["L2"], profile_of["L1"], "L2") in changes
