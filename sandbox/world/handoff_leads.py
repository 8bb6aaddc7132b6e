"""Planted handoff cases (issue 15): open Salesforce Leads marketing owns and never e-mailed.

fresh: created nurturing_days + 6 days ago, status "Open - Not Contacted", no touch at all: the time
trigger must hand them off (standard). stale: created long before stale_after_days: reported, not handed
off. Both are owned by the org's admin user (marketing's import), with addresses no other person uses.
"""

import random
from datetime import timedelta

from sandbox.salesforce.ids import make_id
from sandbox.salesforce.schema import KEY_PREFIXES
from sandbox.world.timing import ms

FRESH_AGE_DAYS = 20
STALE_AGE_DAYS = (200, 360)
_FIRST = ("Maya", "Jonas", "Leila", "Tomas", "Ines", "Kofi", "Sanna", "Ravi", "Elena", "Hugo", "Noor", "Piet")
_LAST = ("Okafor", "Lindqvist", "Moreau", "Tanaka", "Silva", "Novak", "Haddad", "Brennan", "Kowalski")


def plant_handoff_leads(world, fresh: int = 10, stale: int = 5) -> dict[str, list[str]]:
    """Add the planted Leads to world.salesforce and their ids to world.truth['handoff_leads']."""
    rng = random.Random(f"{world.seed}-handoff-leads")
    leads = world.salesforce["Lead"]
    admin = world.salesforce["User"][0]["Id"]
    planted: dict[str, list[str]] = {"fresh": [], "stale": []}
    for kind, count in (("fresh", fresh), ("stale", stale)):
        for n in range(count):
            age = FRESH_AGE_DAYS if kind == "fresh" else rng.uniform(*STALE_AGE_DAYS)
            created = ms(world.as_of - timedelta(days=age, hours=rng.uniform(1, 12)))
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            record = {
                "Id": make_id(KEY_PREFIXES["Lead"], len(leads) + 1),
                "IsDeleted": False,
                "CreatedDate": created,
                "CreatedById": admin,
                "LastModifiedDate": created,
                "LastModifiedById": admin,
                "SystemModstamp": created,
                "OwnerId": admin,
                "FirstName": first,
                "LastName": last,
                "Name": f"{first} {last}",
                "Email": f"{first}.{last}.{kind}{n}@planted-{world.seed}.example.com".lower(),
                "Company": f"{last} {kind.title()} {n} Ltd",
                "Title": "Operations Manager",
                "LeadSource": "Purchased List",
                "Status": "Open - Not Contacted",
                "Country": "Germany",
                "IsConverted": False,
            }
            leads.append(record)
            planted[kind].append(record["Id"])
    world.truth["handoff_leads"] = planted
    return planted
