"""The events-only shop world: deterministic, shaped like real order histories, and a young variant."""

import json
from datetime import UTC, datetime, timedelta

from sandbox.world.shop import generate_shop, young_shop

AS_OF = datetime(2026, 12, 6, tzinfo=UTC)


def _messages(world) -> list[dict]:
    return [json.loads(line) for lines in world.event_files.lines.values() for line in lines]


def test_the_same_seed_gives_the_same_files_and_another_seed_does_not():
    first, again = generate_shop(200, seed=3, as_of=AS_OF), generate_shop(200, seed=3, as_of=AS_OF)
    assert first.event_files.lines == again.event_files.lines
    assert generate_shop(200, seed=4, as_of=AS_OF).event_files.lines != first.event_files.lines


def test_order_histories_are_sparse_like_a_real_shop():
    world = generate_shop(1500, seed=7, as_of=AS_OF)
    truth = world.truth
    assert truth["one_time_buyers"] / truth["buyers"] > 0.6
    gaps = [
        (later - earlier).days
        for shopper in world.shoppers
        for earlier, later in zip(shopper.orders, shopper.orders[1:], strict=False)
        if later < AS_OF
    ]
    assert sorted(gaps)[len(gaps) // 2] > 60  # the median repeat buyer comes back after months
    orders = [m for m in _messages(world) if m.get("event") == "Order Completed"]
    assert len(orders) == truth["orders"] and all(m["properties"]["order_id"] for m in orders)
    # Segment's spec: revenue, or only total (some senders send it as a string)
    total_only = [m for m in orders if "revenue" not in m["properties"]]
    assert 0 < len(total_only) < len(orders) and any(
        isinstance(m["properties"]["total"], str) for m in total_only
    )
    # guests check out with an e-mail and no userId
    assert any("userId" not in m and m["context"]["traits"]["email"] for m in orders)


def test_nothing_after_as_of_is_written_but_the_truth_knows_the_next_90_days():
    world = generate_shop(800, seed=7, as_of=AS_OF)
    stamps = [datetime.fromisoformat(m["timestamp"].replace("Z", "+00:00")) for m in _messages(world)]
    assert max(stamps) < AS_OF and min(stamps) >= AS_OF - timedelta(days=730)
    assert world.truth["buyers_next_90_days"]


def test_a_young_shop_has_300_people_and_two_weeks_of_events():
    world = young_shop(seed=7, as_of=AS_OF)
    stamps = [datetime.fromisoformat(m["timestamp"].replace("Z", "+00:00")) for m in _messages(world)]
    assert len(world.shoppers) == 300 and min(stamps) >= AS_OF - timedelta(days=14)
    assert world.truth["buyers"] > 0 and len(world.truth["identified_emails"]) > 200
