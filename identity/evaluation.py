"""Scoring a resolution against the synthetic world's truth: pairwise precision and recall, per trap kind.

Records are named by their source id (CRM ids, userIds and anonymousIds do not collide in the world).
Precision is judged against who each record really is (every id of a person, including cookies no
evidence ties to them); recall against the links the data supports (truth identity_merges and
probabilistic_links). A wrong merge is a profile holding records of two different people of one trap.
"""

from collections import Counter, defaultdict
from collections.abc import Iterable

TRAP_KINDS = ("office_colleagues", "office_strangers", "switchboard_phones", "namesakes")


def person_of_id(truth: dict) -> dict[str, str]:
    """Every id the truth knows -> the person it really belongs to (a stranger's cookie -> itself)."""
    owner = {i: f"stranger:{i}" for i in truth["unlinked_anonymous_ids"]}
    for person in truth["people"]:
        ids = (
            person["salesforce"]["leads"]
            + person["salesforce"]["contacts"]
            + person["hubspot"]["contacts"]
            + person["user_ids"]
            + person["anonymous_ids"]
            + person["unidentified_anonymous_ids"]
            + [link["anonymousId"] for link in person["probabilistic_anonymous_ids"]]
        )
        owner.update({i: person["person_id"] for i in ids})
    return owner


def supported_person_of_id(truth: dict) -> dict[str, str]:
    """The ids the truth says evidence ties to their person: identity_merges and probabilistic_links."""
    owner = {r["id"]: merge["person_id"] for merge in truth["identity_merges"] for r in merge["records"]}
    owner.update({link["anonymousId"]: link["person_id"] for link in truth["probabilistic_links"]})
    return owner


def _pairs(sizes: Iterable[int]) -> int:
    return sum(n * (n - 1) // 2 for n in sizes)


def pairwise(profile_of: dict[str, str], really: dict[str, str], supported: dict[str, str], ids: set[str]):
    """(precision, recall, profiles holding two people) over the records `ids` (present in the data)."""
    predicted = Counter(profile_of[i] for i in ids if i in profile_of)
    agreeing = Counter((profile_of[i], really[i]) for i in ids if i in profile_of and i in really)
    expected = Counter(supported[i] for i in ids if i in supported)
    found = Counter((supported[i], profile_of[i]) for i in ids if i in supported and i in profile_of)
    people_in = defaultdict(set)
    for i in ids:
        if i in profile_of and i in really:
            people_in[profile_of[i]].add(really[i])
    together, linked = _pairs(predicted.values()), _pairs(expected.values())
    return (
        _pairs(agreeing.values()) / together if together else 1.0,
        _pairs(found.values()) / linked if linked else 1.0,
        sum(len(people) >= 2 for people in people_in.values()),
    )


def trap_people(truth: dict) -> dict[str, list[set[str]]]:
    """Per trap kind, its groups of different people (person ids, or a stranger's cookie)."""
    traps = truth["identity_traps"]
    return {
        "office_colleagues": [
            set(g["identified_person_ids"]) | set(g["anonymous_person_ids"])
            for g in traps["office_colleagues"]
        ],
        "office_strangers": [
            {s["known_person_id"], f"stranger:{s['anonymousId']}"} for s in traps["office_strangers"]
        ],
        "switchboard_phones": [set(g["person_ids"]) for g in traps["switchboard_phones"]],
        "namesakes": [set(g["person_ids"]) for g in traps["namesakes"]],
    }


def score(truth: dict, profile_of: dict[str, str], present: set[str]) -> dict[str, dict]:
    """Overall and per trap kind: records, precision, recall and wrong merges (profiles holding 2 people)."""
    really, supported = person_of_id(truth), supported_person_of_id(truth)
    ids_of = defaultdict(set)
    for i, person in really.items():
        if i in present:
            ids_of[person].add(i)
    precision, recall, mixed = pairwise(profile_of, really, supported, present)
    result = {
        "all": {"records": len(present), "precision": precision, "recall": recall, "wrong_merges": mixed}
    }
    for kind, groups in trap_people(truth).items():
        ids = set().union(*(ids_of[p] for group in groups for p in group)) if groups else set()
        wrong = 0
        for group in groups:
            holders = defaultdict(set)
            for person in group:
                for i in ids_of[person]:
                    if i in profile_of:
                        holders[profile_of[i]].add(person)
            wrong += sum(len(people) >= 2 for people in holders.values())
        precision, recall, _ = pairwise(profile_of, really, supported, ids)
        result[kind] = {
            "groups": len(groups),
            "records": len(ids),
            "precision": precision,
            "recall": recall,
            "wrong_merges": wrong,
        }
    return result


def format_score(result: dict[str, dict]) -> str:
    """One line per row of `score`."""
    return "\n".join(
        f"{kind:<20} records {row['records']:>6}  precision {row['precision']:.4f}"
        f"  recall {row['recall']:.4f}"
        f"  wrong merges {row['wrong_merges']}" + (f"  groups {row['groups']}" if "groups" in row else "")
        for kind, row in result.items()
    )
