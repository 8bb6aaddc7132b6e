"""Probabilistic identity: a second cookie of a known person links; strangers and office traps do not."""

from datetime import UTC, datetime

from identity.resolve import resolve
from revloop.config.identity import IdentityConfig
from tests.unit.test_identity_graph import event, lead, rows

CONFIG = IdentityConfig()
PEOPLE = 60
OFFICE_IP, OFFICE_AGENT = "203.0.113.7", "Mozilla/5.0 (Windows NT 10.0) Chrome/120"


def known_people() -> list[dict]:
    """60 people with a lead and a logged-in website user; 0-2 work at one office with one browser build."""
    found = []
    for n in range(PEOPLE):
        user = f"usr_{n}"
        office = n < 3
        found += [
            lead(f"L{n}", email=f"p{n}@acme.com"),
            event(
                "website",
                "event_user",
                user,
                customer_id=user,
                anonymous_id=f"anon-{n}",
                email=f"p{n}@acme.com",
                device_id=f"dev-{n}",
                ip=f"198.51.{n}.1",
                user_agent=f"agent-{n}",
                page_paths="/|/pricing",
                active_hours="9|10",
            ),
        ]
        if office:
            found.append(
                event(
                    "website",
                    "event_user",
                    user,
                    customer_id=user,
                    device_id=f"dev-{n}",
                    ip=OFFICE_IP,
                    user_agent=OFFICE_AGENT,
                    page_paths="/|/pricing",
                    active_hours="9|10",
                )
            )
        # half the people also browse with a second cookie: same device, or the same browser from home in a
        # private window (no stored device id)
        if n % 2 == 0 and not office:
            same_device = n % 4 == 0
            found.append(
                event(
                    "website",
                    "event_anonymous",
                    f"second-{n}",
                    anonymous_id=f"second-{n}",
                    device_id=f"dev-{n}" if same_device else None,
                    ip=f"192.0.2.{n}" if same_device else f"198.51.{n}.1",
                    user_agent=f"other-agent-{n}" if same_device else f"agent-{n}",
                    page_paths="/pricing",
                    active_hours="10",
                )
            )
    return found


def linked(extra: list[dict]) -> dict[str, tuple[str, str, float]]:
    result = resolve(rows(*known_people(), *extra), None, CONFIG, datetime.now(UTC))
    table = result.profile_map.to_pylist()
    profile_of = {r["source_id"]: r["profile_id"] for r in table}
    return {r["source_id"]: (r["profile_id"], r["match_type"], r["confidence"], profile_of) for r in table}


def test_second_cookies_link_to_their_person_above_the_threshold():
    links = linked([])
    for n in range(4, PEOPLE, 2):
        profile_id, match_type, confidence, profile_of = links[f"second-{n}"]
        assert match_type == "probabilistic"
        assert confidence >= CONFIG.match_threshold
        assert profile_id == profile_of[f"L{n}"]
    assert links["second-4"][0] != links["second-6"][0]


def test_a_stranger_with_nothing_in_common_stays_unlinked():
    links = linked(
        [
            event(
                "website",
                "event_anonymous",
                "stranger",
                anonymous_id="stranger",
                device_id="dev-x",
                ip="192.0.2.250",
                user_agent="agent-x",
                page_paths="/|/pricing",
                active_hours="9|10",
            )
        ]
    )
    assert "stranger" not in links


def test_an_office_ip_and_browser_shared_by_known_people_links_nobody():
    links = linked(
        [
            event(
                "website",
                "event_anonymous",
                "visitor",
                anonymous_id="visitor",
                device_id="dev-y",
                ip=OFFICE_IP,
                user_agent=OFFICE_AGENT,
                page_paths="/|/pricing",
                active_hours="9|10",
            )
        ]
    )
    assert "visitor" not in links
    colleagues = {links[f"L{n}"][0] for n in range(3)}
    assert len(colleagues) == 3, "known people are never merged through shared network evidence"


def test_deterministic_evidence_wins_over_probabilistic():
    # shares a device with person 10 but carries person 11's e-mail: it is person 11's, deterministically
    links = linked(
        [
            event(
                "website",
                "event_anonymous",
                "cookie",
                anonymous_id="cookie",
                device_id="dev-10",
                email="p11@acme.com",
            )
        ]
    )
    profile_id, match_type, confidence, profile_of = links["cookie"]
    assert (profile_id, match_type, confidence) == (profile_of["L11"], "deterministic", 1.0)


def test_a_higher_threshold_keeps_fewer_links():
    strict = IdentityConfig(match_threshold=0.999999)
    loose = resolve(rows(*known_people()), None, CONFIG, datetime.now(UTC)).summary.probabilistic_links
    tight = resolve(rows(*known_people()), None, strict, datetime.now(UTC)).summary.probabilistic_links
    assert tight < loose
