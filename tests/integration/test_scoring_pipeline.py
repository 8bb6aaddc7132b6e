"""Lead scores on the real pipeline (raw tables, dbt, identity resolution, dbt) with the shipped config."""

import statistics
from collections import Counter
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from tests.fixtures.built import BuiltWarehouse

SCORING_NODES = ["int_lead_score_factors", "int_lead_scores", "lead_score_factors"]
QUIET_DAYS = 30
LINKS_SQL = "select source_id, profile_id from intermediate.int_identities_resolved"
SCORES_SQL = "select profile_id, lead_score, is_sales_ready from intermediate.int_lead_scores"


@pytest.fixture(scope="module")
def scored_warehouse(built_warehouse: BuiltWarehouse, tmp_path_factory) -> Path:
    """The shared warehouse with every model built (read-only), scoring's dbt tests having passed."""
    built_warehouse.dbt.assert_tests_passed(["--select", *SCORING_NODES], tmp_path_factory.mktemp("scoring"))
    return built_warehouse.path


def _query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.mark.slow
def test_factors_sum_to_every_profiles_lead_score(scored_warehouse):
    rows = _query(
        scored_warehouse,
        """
        select
            profiles.profile_id, profiles.lead_score, coalesce(sum(factors.points), 0), count(factors.factor)
        from marts.customer_profiles as profiles
        left join marts.lead_score_factors as factors on factors.profile_id = profiles.profile_id
        group by profiles.profile_id, profiles.lead_score
        """,
    )
    assert len(rows) > 300
    mismatched = [row for row in rows if row[1] != row[2]]
    assert not mismatched, mismatched[:5]
    assert sum(1 for row in rows if row[3] > 0) > 0.9 * len(rows)
    orphans = _query(
        scored_warehouse,
        "select count(*) from marts.lead_score_factors where profile_id not in "
        "(select profile_id from marts.customer_profiles)",
    )
    assert orphans == [(0,)]


@pytest.mark.slow
def test_engaged_people_outscore_quiet_ones_and_some_are_sales_ready(scored_warehouse, raw_warehouse):
    world = raw_warehouse.world
    truth = world.truth
    links = dict(_query(scored_warehouse, LINKS_SQL))
    scores = {row[0]: row[1:] for row in _query(scored_warehouse, SCORES_SQL)}
    profile_of = {}
    for person in truth["people"]:
        record_ids = (
            person["salesforce"]["leads"] + person["salesforce"]["contacts"] + person["hubspot"]["contacts"]
            + person["user_ids"]
        )
        found = Counter(links[i] for i in record_ids if i in links)
        if found:
            profile_of[person["person_id"]] = found.most_common(1)[0][0]

    since = world.as_of - timedelta(days=QUIET_DAYS)
    recent = Counter(e.person_id for e in world.event_log.events if e.person_id and e.at >= since)
    high_engagement = truth["behaviour_triggers"]["high_engagement"]
    high = [scores[profile_of[p]][0] for p in high_engagement if p in profile_of]
    quiet = [scores[profile_of[p]][0] for p in profile_of if recent[p] == 0]
    assert len(high) >= 3 and len(quiet) >= 20
    assert statistics.median(high) > statistics.median(quiet) + 50
    wins = sum((h > q) + 0.5 * (h == q) for h in high for q in quiet) / (len(high) * len(quiet))
    assert wins >= 0.75, f"high-engagement people outscore quiet ones in only {wins:.0%} of pairs"

    ready = [score for score, is_ready in scores.values() if is_ready]
    assert ready and min(ready) >= 500
    assert all(score < 500 for score, is_ready in scores.values() if not is_ready)
    assert len(ready) < 0.2 * len(scores)  # sales-ready is the exception, not the rule
