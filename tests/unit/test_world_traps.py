"""The identity traps the default world plants, at realistic rates, and recorded in its truth."""

from collections import defaultdict

import pytest

from sandbox.world import generate_world
from sandbox.world.traps import SWITCHBOARD_SHARE


@pytest.fixture(scope="module")
def world():
    return generate_world(people=2000, seed=7)


def test_switchboard_phones_sit_on_about_5_percent_of_company_people_and_their_crm_records(world):
    traps = world.truth["identity_traps"]["switchboard_phones"]
    employed = sum(p.company is not None for p in world.population.people)
    carrying = sum(len(g["person_ids"]) for g in traps)
    assert abs(carrying / employed - SWITCHBOARD_SHARE) < 0.01
    people = {p["person_id"]: p for p in world.truth["people"]}
    for group in traps:
        assert len(group["person_ids"]) >= 2
        assert {people[p]["phone"] for p in group["person_ids"]} == {group["phone"]}
        assert {people[p]["company_domain"] for p in group["person_ids"]} == {group["company_domain"]}
        assert len({people[p]["email"] for p in group["person_ids"]}) == len(group["person_ids"])


def test_namesakes_share_a_name_at_different_companies(world):
    namesakes = world.truth["identity_traps"]["namesakes"]
    assert len(namesakes) >= 10
    people = {p["person_id"]: p for p in world.truth["people"]}
    for pair in namesakes:
        a, b = (people[p] for p in pair["person_ids"])
        assert (a["first_name"], a["last_name"]) == (b["first_name"], b["last_name"])
        assert a["company_domain"] != b["company_domain"] and a["email"] != b["email"]


def test_office_colleagues_share_ip_and_browser_but_never_a_device(world):
    groups = world.truth["identity_traps"]["office_colleagues"]
    assert len(groups) >= 50
    sizes = [len(g["identified_person_ids"]) + len(g["anonymous_person_ids"]) for g in groups]
    assert min(sizes) >= 2 and max(sizes) <= 20
    devices = defaultdict(set)
    for event in world.event_log.events:
        device = event.message.get("context", {}).get("device", {}).get("id")
        if event.person_id and device:
            devices[event.person_id].add(device)
    for group in groups:
        people = group["identified_person_ids"] + group["anonymous_person_ids"]
        seen = [devices[p] for p in people]
        assert all(not (a & b) for i, a in enumerate(seen) for b in seen[i + 1 :])


def test_office_strangers_browse_from_a_known_persons_office_ip_with_their_own_device(world):
    strangers = world.truth["identity_traps"]["office_strangers"]
    assert len(strangers) >= 50 and any(s["same_browser"] for s in strangers)
    assert {s["anonymousId"] for s in strangers} <= set(world.truth["unlinked_anonymous_ids"])
    by_id = {s["anonymousId"]: s for s in strangers}
    for event in world.event_log.events:
        stranger = by_id.get(event.message.get("anonymousId"))
        if stranger:
            assert event.person_id is None and event.message["context"]["ip"] == stranger["ip"]
            assert event.message["context"]["device"]["id"]
