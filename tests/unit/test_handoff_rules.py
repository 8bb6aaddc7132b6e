"""Handoff triggers, state machine, assignment rules and config validation, as pure functions."""

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from activation.handoff.assignment import Assigner, Lead, Rep
from activation.handoff.lifecycle import read_back
from activation.handoff.triggers import evaluate, stale
from revloop.config import ConfigError, load
from revloop.config.assignment import AssignmentConfig
from revloop.config.handoff import HandoffConfig

AS_OF = datetime(2026, 6, 1, 12, tzinfo=UTC)
CONFIG = HandoffConfig()


def signal(profile_id="p1", **values):
    row = {
        "profile_id": profile_id,
        "lifecycle_stage": "lead",
        "is_customer": False,
        "lead_score": 100,
        "nurturing_started_at": AS_OF - timedelta(days=3),
        "last_nurtured_at": AS_OF - timedelta(days=1),
    }
    return {**row, **values}


def due_of(rows, behaviors=None, states=None, as_of=AS_OF):
    return {d.profile_id: d for d in evaluate(rows, behaviors or {}, states or {}, CONFIG, as_of)}


def test_each_trigger_fires_with_its_priority_and_only_then():
    rows = [
        signal("score", lead_score=500),
        signal("below", lead_score=499),
        signal("behavior"),
        signal("old_behavior"),
        signal("time", nurturing_started_at=AS_OF - timedelta(days=14)),
        signal("young", nurturing_started_at=AS_OF - timedelta(days=13, hours=23)),
        # engaged or not: a lead marketing never e-mailed is handed off after 14 days all the same
        signal("quiet", nurturing_started_at=AS_OF - timedelta(days=90), last_nurtured_at=None),
        # in nurturing longer than stale_after_days: reported, not handed off
        signal("stale", nurturing_started_at=AS_OF - timedelta(days=181)),
    ]
    behaviors = {
        "behavior": [("demo_request", AS_OF - timedelta(hours=2))],
        "old_behavior": [("pricing_page_visit", AS_OF - timedelta(days=8))],
    }
    due = due_of(rows, behaviors)
    assert {k: (d.trigger, d.priority) for k, d in due.items()} == {
        "score": ("score", "immediate"),
        "behavior": ("behavior", "priority"),
        "time": ("time", "standard"),
        "quiet": ("time", "standard"),
    }
    assert [p for p, _ in stale(rows, {}, CONFIG, AS_OF)] == ["stale"]


def test_several_triggers_at_once_hand_off_once_under_the_strongest():
    rows = [
        signal("a", lead_score=900, nurturing_started_at=AS_OF - timedelta(days=40)),
        signal("b", nurturing_started_at=AS_OF - timedelta(days=40)),
    ]
    behaviors = {"a": [("trial_signup", AS_OF)], "b": [("trial_signup", AS_OF)]}
    due = evaluate(rows, behaviors, {}, CONFIG, AS_OF)
    assert [(d.profile_id, d.trigger) for d in due] == [("a", "score"), ("b", "behavior")]


def test_customers_other_stages_and_handed_off_profiles_are_not_due():
    rows = [
        signal("customer", lead_score=900, is_customer=True),
        signal("opportunity", lead_score=900, lifecycle_stage="opportunity"),
        signal("handed", lead_score=900),
        signal("accepted", lead_score=900),
    ]
    states = {
        "handed": {"state": "handed_off", "cycle_started_at": AS_OF, "last_handoff_score": None},
        "accepted": {"state": "accepted", "cycle_started_at": AS_OF, "last_handoff_score": None},
    }
    assert due_of(rows, states=states) == {}


def test_a_recycled_profile_needs_new_signals_in_its_new_cycle():
    restarted = AS_OF - timedelta(days=2)
    state = {"state": "nurturing", "cycle": 2, "cycle_started_at": restarted, "last_handoff_score": 600}
    rows = [signal("p", lead_score=600, nurturing_started_at=AS_OF - timedelta(days=100))]
    before = {"p": [("demo_request", restarted - timedelta(hours=1))]}
    assert due_of(rows, before, {"p": state}) == {}
    after = {"p": [("demo_request", restarted + timedelta(hours=1))]}
    assert due_of(rows, after, {"p": state})["p"].trigger == "behavior"
    assert due_of([signal("p", lead_score=650)], states={"p": state})["p"].trigger == "score"
    # the 14 days of nurturing count again from the recycle
    later = AS_OF + timedelta(days=12, hours=1)
    rows = [
        signal("p", lead_score=600, nurturing_started_at=AS_OF - timedelta(days=100), last_nurtured_at=later)
    ]
    assert due_of(rows, states={"p": state}, as_of=later)["p"].trigger == "time"
    assert due_of(rows, states={"p": state}, as_of=later - timedelta(hours=2)) == {}


def handoff(status_at_handoff="Open - Not Contacted", crm="salesforce", state="handed_off"):
    return {
        "profile_id": "p",
        "cycle": 1,
        "crm": crm,
        "crm_record_id": "00Q1",
        "state": state,
        "status_at_handoff": status_at_handoff,
        "lead_score": 550,
    }


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("Open - Not Contacted", None),
        (None, None),
        ("Working - Contacted", "accepted"),
        ("Closed - Not Converted", "recycled"),
    ],
)
def test_state_is_read_back_from_the_crm_lead_status(status, expected):
    moved = read_back([handoff()], {("salesforce", "00Q1"): status}, CONFIG, AS_OF)
    assert [h["state"] for h in moved.handoffs] == ([expected] if expected else [])
    if expected == "recycled":
        assert moved.states[0] | {} == {
            "profile_id": "p",
            "cycle": 2,
            "state": "nurturing",
            "cycle_started_at": AS_OF,
            "last_handoff_score": 550,
        }


def test_a_status_already_there_at_handoff_does_not_count_as_acceptance():
    moved = read_back(
        [handoff("Working - Contacted")], {("salesforce", "00Q1"): "Working - Contacted"}, CONFIG, AS_OF
    )
    assert moved.handoffs == []


REPS = [
    Rep(
        "salesforce",
        "u1",
        "ann@x.io",
        department="Sales - EMEA",
        title="AE (Analytics, Security)",
        open_lead_count=10,
    ),
    Rep("salesforce", "u2", "bob@x.io", department="Sales - EMEA", title="AE (Platform)", open_lead_count=2),
    Rep(
        "salesforce",
        "u3",
        "cid@x.io",
        department="Sales - North America",
        title="AE (Platform)",
        open_lead_count=5,
    ),
    Rep(
        "salesforce",
        "u4",
        "dee@x.io",
        department="Sales - North America",
        title="SDR (Security)",
        open_lead_count=5,
    ),
    Rep("salesforce", "u9", "admin@x.io", department="IT", title="Admin", open_lead_count=0),
    Rep("hubspot", "h1", "ann@x.io", department="Sales - EMEA", open_lead_count=0),
]
ASSIGNMENT = AssignmentConfig.model_validate(
    {
        "exclude": ["ADMIN@x.io"],
        "territories": [
            {"name": "EMEA", "countries": ["Germany"], "team": "Sales - EMEA"},
            {"name": "NA", "countries": ["United States"], "team": "Sales - North America"},
            {"name": "Fintech", "industries": ["Banking"], "reps": ["dee@x.io"]},
        ],
        "skills": {"products": ["Analytics", "Platform", "Security"], "reps": {"bob@x.io": ["Integrations"]}},
        "workload": {"tolerance": 0},
    }
)


def assign(lead, config=ASSIGNMENT, crm="salesforce"):
    return Assigner(config, REPS, {}, 0).assign(crm, lead)


def test_territory_then_skill_decide_and_the_rule_is_recorded():
    picked = assign(Lead("Germany", None, frozenset({"security"})))
    assert (picked.rep.rep_id, picked.rule) == ("u1", "skill")
    assert picked.detail.startswith("territory: 2 of 4 (EMEA); skill: 1 of 2")
    picked = assign(Lead(None, "Banking"))
    assert (picked.rep.rep_id, picked.rule) == ("u4", "territory")
    picked = assign(Lead("Germany", None, frozenset({"integrations"})))  # listed in config for bob
    assert (picked.rep.rep_id, picked.rule) == ("u2", "skill")


def test_workload_decides_when_territory_and_skill_leave_several():
    picked = assign(Lead("Germany"))  # no products: skill is skipped, the less loaded EMEA rep wins
    assert (picked.rep.rep_id, picked.rule) == ("u2", "workload")
    assert "skill: skipped (no product interest)" in picked.detail


def test_rules_that_keep_nobody_fall_through_to_the_next():
    picked = assign(Lead("Japan", None, frozenset({"platform"})))  # no territory: skill among all
    assert picked.rule == "workload" and picked.rep.rep_id == "u2"
    only_rr = ASSIGNMENT.model_copy(update={"order": ["territory", "round_robin"]})
    picked = assign(Lead("United States"), only_rr)
    assert (picked.rep.rep_id, picked.rule) == ("u3", "round_robin")
    assert assign(Lead("Germany"), crm="hubspot").rep.rep_id == "h1"
    assert Assigner(ASSIGNMENT, [], {}, 0).assign("salesforce", Lead("Germany")) is None


def test_round_robin_is_fair_over_many_leads_and_across_runs():
    config = ASSIGNMENT.model_copy(update={"order": ["round_robin"]})
    assigner = Assigner(config, REPS, {}, 0)
    counts = Counter(assigner.assign("salesforce", Lead()).rep.rep_id for _ in range(999))
    assert set(counts) == {"u1", "u2", "u3", "u4"} and max(counts.values()) - min(counts.values()) <= 1
    # a new run continues from the persisted pointer instead of starting over at the first rep
    pointer = {(crm, rep): seq for crm, rep, seq in assigner.picks}
    again = Assigner(config, REPS, pointer, assigner.sequence)
    next_reps = [again.assign("salesforce", Lead()).rep.rep_id for _ in range(4)]
    last_three = [rep for _, rep, _ in assigner.picks[-3:]]
    assert next_reps[0] not in last_three and sorted(next_reps) == ["u1", "u2", "u3", "u4"]


def test_workload_counts_the_leads_given_in_the_run():
    config = ASSIGNMENT.model_copy(update={"order": ["workload", "round_robin"]})
    assigner = Assigner(config, [r for r in REPS if r.rep_id in ("u1", "u2")], {}, 0)
    picks = Counter(assigner.assign("salesforce", Lead()).rep.rep_id for _ in range(20))
    assert picks == {"u2": 14, "u1": 6}  # u2 starts 8 leads lighter, then they alternate


def test_config_errors_name_the_file_and_key(tmp_path):
    (tmp_path / "assignment.yml").write_text("order: [round_robin, territory]\n")
    with pytest.raises(ConfigError, match=r"assignment\.yml: order: .*round_robin must be the last"):
        load("assignment", AssignmentConfig, tmp_path)
    (tmp_path / "handoff.yml").write_text(
        "triggers:\n  behavior:\n    behaviors:\n      demo: {type: track}\n  score: {treshold: 5}\n"
    )
    with pytest.raises(ConfigError) as error:
        load("handoff", HandoffConfig, tmp_path)
    message = str(error.value)
    assert "handoff.yml" in message and "triggers.score.treshold" in message
    assert "triggers.behavior.behaviors.demo" in message and "needs event" in message


def test_the_shipped_config_files_load():
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "config"
    handoff_config = load("handoff", HandoffConfig, folder)
    assert (
        handoff_config.triggers.score.threshold == 500 and handoff_config.triggers.time.nurturing_days == 14
    )
    assert load("assignment", AssignmentConfig, folder).order[-1] == "round_robin"
