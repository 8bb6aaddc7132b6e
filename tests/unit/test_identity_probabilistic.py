"""Probabilistic identity: a second cookie of a known person links; strangers and office traps do not."""

from datetime import UTC, datetime

import pytest

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


def web_user(source_id: str, **kw) -> dict:
    """Someone identified on the website only (no CRM record), with person 11's network and behaviour."""
    return event(
        "website",
        kw.pop("kind", "event_user"),
        source_id,
        ip="198.51.11.1",
        user_agent="agent-11",
        page_paths="/|/pricing",
        active_hours="9|10",
        **kw,
    )


# person 11's home IP and browser (nobody else's), pages and hours, no device id (a private window): only the
# identifier that differs tells this visitor from person 11
DIFFERENT_PEOPLE = {
    "e-mail and customer id differ": web_user("usr_x", customer_id="usr_x", email="x@other.com"),
    "customer id differs": web_user("usr_y", customer_id="usr_y"),
    "e-mail differs": web_user("form-z", kind="event_anonymous", anonymous_id="form-z", email="z@other.com"),
}


def comparison(config: IdentityConfig, extra: list[dict], name: str):
    links = resolve(rows(*known_people(), *extra), None, config, datetime.now(UTC)).links
    return next(c for c in links.comparisons if c.name == name)


@pytest.mark.parametrize("shared_computer", [False, True])
@pytest.mark.parametrize("case", DIFFERENT_PEOPLE)
def test_ip_user_agent_and_behaviour_never_link_people_whose_email_or_customer_id_differ(
    case, shared_computer
):
    visitor = {**DIFFERENT_PEOPLE[case], **({"device_id": "dev-11"} if shared_computer else {})}
    links = linked([visitor])
    profile_id, _, _, profile_of = links[visitor["source_id"]]
    assert profile_id != profile_of["L11"]
    # the people's own second cookies still link
    for n in range(4, PEOPLE, 2):
        assert links[f"second-{n}"][0] == profile_of[f"L{n}"]


@pytest.mark.parametrize("case", DIFFERENT_PEOPLE)
def test_on_a_shared_computer_it_is_the_identifier_disagreement_that_keeps_them_apart(case):
    blind = CONFIG.model_copy(
        update={
            "probabilistic": CONFIG.probabilistic.model_copy(
                update={"compare_email": False, "compare_customer_id": False}
            )
        }
    )
    visitor = {**DIFFERENT_PEOPLE[case], "device_id": "dev-11"}
    result = resolve(rows(*known_people(), visitor), None, blind, datetime.now(UTC))
    profile_of = {r["source_id"]: r["profile_id"] for r in result.profile_map.to_pylist()}
    assert profile_of[visitor["source_id"]] == profile_of["L11"]


def test_identifier_disagreement_is_learned_from_the_known_profiles_own_records():
    # m(e-mails differ) is how often two e-mail-bearing records of one known person differ, with a Beta(1, 19)
    # prior: 60 people with a lead and a website user of one e-mail each are 60 agreeing pairs
    email = comparison(CONFIG, [DIFFERENT_PEOPLE["e-mail and customer id differ"]], "email")
    assert email.levels == ("disagree", "agree")
    assert email.m[0] == pytest.approx(1 / (60 + 20))
    assert email.u[0] == pytest.approx(1.0, abs=1e-3)
    # where people often use a second e-mail (every other person's website user here), it weighs less
    two_emails = [
        event("website", "event_user", f"usr_{n}", customer_id=f"usr_{n}", email=f"private{n}@mail.com")
        for n in range(0, PEOPLE, 2)
    ]
    learned = comparison(CONFIG, [DIFFERENT_PEOPLE["e-mail and customer id differ"], *two_emails], "email")
    assert learned.m[0] == pytest.approx((30 + 1) / (60 + 30 + 20))


def test_a_second_email_on_the_persons_own_device_still_links_where_people_use_two():
    # evidence against is a weight, not a veto: a newsletter sign-up with a private e-mail on person 11's own
    # device, pages and hours, in data where half the people show a second e-mail
    two_emails = [
        event("website", "event_user", f"usr_{n}", customer_id=f"usr_{n}", email=f"private{n}@mail.com")
        for n in range(0, PEOPLE, 2)
    ]
    signup = web_user(
        "signup", kind="event_anonymous", anonymous_id="signup", email="p11.home@mail.com", device_id="dev-11"
    )
    links = linked([*two_emails, signup])
    profile_id, match_type, confidence, profile_of = links["signup"]
    assert (profile_id, match_type) == (profile_of["L11"], "probabilistic")
    assert confidence >= CONFIG.match_threshold
