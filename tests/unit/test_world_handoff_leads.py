"""The planted handoff leads: an option that adds fifteen Leads and leaves the rest of the world as it was."""

from collections import Counter
from datetime import UTC, datetime, timedelta

from sandbox.world import generate_world

AS_OF = datetime(2026, 6, 1, tzinfo=UTC)


def test_planted_leads_are_added_and_nothing_else_changes():
    plain = generate_world(people=40, seed=3, as_of=AS_OF)
    planted_world = generate_world(people=40, seed=3, as_of=AS_OF, handoff_leads=True)
    planted = planted_world.truth["handoff_leads"]
    assert (len(planted["fresh"]), len(planted["stale"])) == (10, 5)
    counts = {name: len(records) for name, records in plain.salesforce.items()}
    assert {name: len(r) for name, r in planted_world.salesforce.items()} == {
        **counts,
        "Lead": counts["Lead"] + 15,
    }
    assert (
        planted_world.hubspot == plain.hubspot and planted_world.event_files.lines == plain.event_files.lines
    )
    leads = {r["Id"]: r for r in planted_world.salesforce["Lead"]}
    assert len(leads) == len(planted_world.salesforce["Lead"])  # ids stay unique
    for lead_id in planted["fresh"]:
        lead = leads[lead_id]
        assert lead["Status"] == "Open - Not Contacted" and not lead["IsConverted"]
        assert timedelta(days=20) <= AS_OF - lead["CreatedDate"] <= timedelta(days=21)
    assert all(AS_OF - leads[i]["CreatedDate"] > timedelta(days=180) for i in planted["stale"])
    emails = Counter(
        r.get("Email") for r in planted_world.salesforce["Lead"] + planted_world.salesforce["Contact"]
    )
    assert all(emails[leads[i]["Email"]] == 1 for i in planted["fresh"] + planted["stale"])
    # the same seed plants the same leads
    again = generate_world(people=40, seed=3, as_of=AS_OF, handoff_leads=True)
    assert again.salesforce["Lead"] == planted_world.salesforce["Lead"]
