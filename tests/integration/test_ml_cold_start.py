"""Cold start: a new installation (300 people, two weeks of events, no CRM) has no label window yet. Every
task is refused with its reason in ml.model_runs, and the baseline rules score every identified person
instead of leaving nulls; marts.customer_profiles says 'baseline' for each score. ~80 s."""

from pathlib import Path

import duckdb
import pytest

from benchmarks.ml_shop import ShopRun, run
from ml.registry import ModelRegistry
from sandbox.world.shop import young_shop

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def young(tmp_path_factory) -> tuple[ShopRun, object]:
    world = young_shop(seed=7)
    return run(world, tmp_path_factory.mktemp("young_shop")), world


def _query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_every_task_is_refused_with_its_reason_and_recorded(young):
    result, _ = young
    for task, report in result.training.items():
        assert report.status == "skipped" and "0 labelled snapshot" in report.reason, (task, report.reason)
        assert report.current_version == "baseline"
    runs = _query(
        result.warehouse,
        "select task, status, promoted, reason, version, current_version from ml.model_runs order by task",
    )
    assert [(task, status, promoted) for task, status, promoted, *_ in runs] == [
        ("churn", "skipped", False),
        ("engagement", "skipped", False),
        ("purchase", "skipped", False),
    ]
    assert all(
        "0 labelled snapshot" in reason and version is None and current == "baseline"
        for *_, reason, version, current in runs
    )


def test_the_baseline_scores_every_identified_person(young):
    result, world = young
    assert result.identified == len(world.truth["identified_emails"]) > 200
    for column in ("purchase_likelihood", "engagement_potential"):
        assert result.covered[column] / result.identified >= 0.95, (column, result.covered)
    assert result.scoring.model_versions == {
        "churn": "baseline",
        "purchase": "baseline",
        "engagement": "baseline",
    }
    ((profiles, purchase_models, engagement_models, nulls),) = _query(
        result.warehouse,
        "select count(*), count(case when purchase_model = 'baseline' then 1 end), "
        "count(case when engagement_model = 'baseline' then 1 end), "
        "count(case when purchase_likelihood is null or engagement_potential is null then 1 end) "
        "from marts.customer_profiles",
    )
    assert profiles == purchase_models == engagement_models and nulls == 0


def test_churn_risk_is_for_customers_only(young):
    result, world = young
    ((customers, with_churn, non_customers_with_churn, models),) = _query(
        result.warehouse,
        "select count(case when order_count > 0 then 1 end), count(churn_risk), "
        "count(case when coalesce(order_count, 0) = 0 and churn_risk is not null then 1 end), "
        "count(case when churn_risk is not null and churn_model = 'baseline' then 1 end) "
        "from marts.customer_profiles",
    )
    assert customers == with_churn == models == world.truth["buyers"] and non_customers_with_churn == 0


def test_baseline_scores_average_to_the_observed_base_rate(young):
    result, _ = young
    registry = ModelRegistry(warehouse=result.warehouse)
    purchase = registry.baseline_card("purchase")
    # orders happened in the two weeks: the rate is observed (over the 14 days seen), not assumed
    assert purchase["base_rate_observed"] is True and "bought in the last" in purchase["base_rate_rule"]
    assert "ml.model_runs" in purchase["why"]
    # nobody is old enough to have churned: the churn rules fall back to their documented prior
    assert registry.baseline_card("churn")["base_rate_observed"] is False
    ((mean,),) = _query(result.warehouse, "select avg(score) from ml.predictions where task = 'purchase'")
    assert mean == pytest.approx(purchase["base_rate"], abs=1e-6)
