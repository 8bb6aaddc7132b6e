"""Models on an events-only shop (Segment "Order Completed" events, no CRM) with real-world-shaped order
histories: most people buy once, repeat buyers come back after long gaps. The purchase model (next 90 days)
ranks buyers at least as well as the plain RFM logistic regression on the same split, every run records
both AUCs in ml.model_runs, and >= 95% of identified people get scores. ~2 min."""

from pathlib import Path

import duckdb
import pytest

from benchmarks.ml_shop import ShopRun, run
from sandbox.world.shop import generate_shop

pytestmark = pytest.mark.slow

SHOP_PEOPLE = 2000


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> tuple[ShopRun, object]:
    world = generate_shop(SHOP_PEOPLE, seed=7)
    return run(world, tmp_path_factory.mktemp("shop")), world


def _query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_the_world_is_shaped_like_a_real_shop(shop):
    _, world = shop
    truth = world.truth
    assert truth["one_time_buyers"] / truth["buyers"] > 0.6 and truth["orders"] / truth["buyers"] < 2.5


def test_orders_sending_only_total_count_with_their_amount(shop):
    result, world = shop
    ((orders, with_amount),) = _query(
        result.warehouse,
        "select count(*), count(case when revenue > 0 then 1 end) from intermediate.int_touchpoints "
        "where event_name = 'Order Completed'",
    )
    assert orders == world.truth["orders"] and with_amount == orders


def test_the_purchase_model_ranks_at_least_as_well_as_the_rfm_baseline(shop):
    result, _ = shop
    purchase = result.training["purchase"]
    assert purchase.status == "promoted", purchase.reason
    assert purchase.metrics["auc"] >= purchase.metrics["baseline_auc"], purchase.metrics
    assert purchase.metrics["holdout_rows"] > 1000
    runs = _query(
        result.warehouse,
        "select task, promoted, auc, pr_auc, brier, baseline_auc, rules_auc, training_rows, holdout_rows "
        "from ml.model_runs order by task",
    )
    assert [row[0] for row in runs] == ["churn", "engagement", "purchase"]
    for task, promoted, *metrics in runs:
        assert promoted is (result.training[task].status == "promoted")
        assert all(value is not None for value in metrics), (task, metrics)
    assert "RFM baseline" in purchase.markdown() and purchase.metadata()["baseline_auc"] == runs[2][5]


def test_scores_cover_identified_people_and_name_their_model(shop):
    result, _ = shop
    for column in ("purchase_likelihood", "engagement_potential"):
        assert result.covered[column] / result.identified >= 0.95, (column, result.covered)
    versions = {task: report.current_version for task, report in result.training.items()}
    ((profiles, purchase_models, churn_models, customers),) = _query(
        result.warehouse,
        f"select count(*), count(case when purchase_model = '{versions['purchase']}' then 1 end), "
        f"count(case when churn_model = '{versions['churn']}' then 1 end), "
        "count(case when order_count > 0 then 1 end) from marts.customer_profiles",
    )
    assert purchase_models == profiles and churn_models == customers > 0
