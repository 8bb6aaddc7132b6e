"""The whole-graph benchmark's hourly delta: the records a rep edits, the hour of events, the rows loaded."""

import json
from datetime import UTC, datetime, timedelta

from benchmarks.hourly import EDITABLE, TITLES, plan_edits, spread
from benchmarks.whole_graph import rows_by_source
from sandbox.world import write_bulk_events, write_hour_of_events

START = datetime(2026, 11, 27, 23, 30, tzinfo=UTC)  # the hour crosses midnight


def test_spread_splits_in_proportion_and_adds_up():
    # 8 of 2,843: shares 3.49, 2.03, 2.48; the largest remainder (Lead's) gets the eighth
    assert spread({"Lead": 1240, "Contact": 720, "contacts": 883}, 8) == {
        "Lead": 4,
        "Contact": 2,
        "contacts": 2,
    }
    assert spread({"Lead": 3, "Contact": 1}, 10) == {"Lead": 3, "Contact": 1}
    assert spread({"Lead": 3, "Contact": 1}, 0) == {"Lead": 0, "Contact": 0}


def _records() -> dict:
    leads = {
        f"00Q{i:04d}": {
            "Phone": "+44 1",
            "Title": TITLES[0],
            "Status": "Open - Not Contacted",
            "Company": f"Co {i % 5}",
        }
        for i in range(400)
    }
    contacts = {f"003{i:04d}": {"Phone": None, "Title": None} for i in range(200)}
    hubspot = {
        str(1000 + i): {
            "phone": "+1",
            "jobtitle": TITLES[1],
            "hs_lead_status": "NEW",
            "company": f"Co {i % 3}",
        }
        for i in range(400)
    }
    return {"Lead": leads, "Contact": contacts, "contacts": hubspot}


def test_plan_edits_changes_one_field_of_each_chosen_record_the_same_way_every_time():
    records = _records()
    plan = plan_edits(records, 50, seed=7)
    assert plan == plan_edits(records, 50, seed=7)
    assert plan != plan_edits(records, 50, seed=8)
    assert {name: len(edits) for name, edits in plan.items()} == {"Lead": 20, "Contact": 10, "contacts": 20}
    fields_seen = set()
    for name, edits in plan.items():
        for record_id, change in edits.items():
            [(field, value)] = change.items()
            assert field in EDITABLE[name]
            assert value and value != records[name][record_id][field]
            fields_seen.add(field)
            if field in ("Company", "company"):  # another company the object's records name
                assert value in {row[field] for row in records[name].values()}
    assert {
        "Phone",
        "Title",
        "Status",
        "Company",
        "phone",
        "jobtitle",
        "hs_lead_status",
        "company",
    } <= fields_seen


def _messages(folder, pattern: str) -> list[dict]:
    return [
        json.loads(line) for path in folder.glob(f"*/{pattern}") for line in path.read_text().splitlines()
    ]


def test_hour_of_events_comes_from_the_bulk_visitors_within_the_hour_under_new_ids(tmp_path):
    write_bulk_events(tmp_path, events=30_000, people=300, seed=5, as_of=START.replace(hour=0, minute=0))
    counts = write_hour_of_events(tmp_path, events=901, people=300, seed=5, start=START)
    assert sum(counts.values()) == 901
    assert {path.parent.name for path in tmp_path.glob("*/hour-5-20261127T233000.jsonl")} == set(counts)
    bulk, hour = _messages(tmp_path, "bulk-*.jsonl"), _messages(tmp_path, "hour-*.jsonl")
    assert len(hour) == 901
    for message in hour:
        at = datetime.fromisoformat(message["timestamp"].replace("Z", "+00:00"))
        assert START <= at < START + timedelta(hours=1)
    assert any(m["timestamp"].startswith("2026-11-28T00:") for m in hour)
    # new message and order ids, the same senders
    assert not {m["messageId"] for m in hour} & {m["messageId"] for m in bulk}
    assert len({m["messageId"] for m in hour}) == 901
    orders = {m["properties"]["order_id"] for m in bulk if m.get("event") == "Order Completed"}
    assert not orders & {m["properties"]["order_id"] for m in hour if m.get("event") == "Order Completed"}
    senders = {m.get("anonymousId") or m["userId"] for m in bulk}
    assert {m.get("anonymousId") or m["userId"] for m in hour} <= senders


def test_rows_by_source_sums_per_source_and_leaves_out_empty_tables():
    rows = {"salesforce/lead": 24, "salesforce/contact": 16, "salesforce/user": 0, "events/website": 5400}
    assert rows_by_source(rows) == "salesforce 40 (lead 24, contact 16); events 5,400 (website 5,400)"
    assert rows_by_source({"hubspot/contacts": 0}) == "none"
