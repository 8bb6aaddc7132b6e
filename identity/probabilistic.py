"""Probabilistic identity: website visitors linked to known profiles by a Fellegi-Sunter model.

Visitors are the components that hold no CRM record: anonymous ones, and people identified on the website
only (by an e-mail or customer id no CRM record carries). They are scored against known components
(profiles with an identifying key). Deterministic evidence always wins: a shared e-mail or customer id
already made one component, and a component holding a CRM record is never the visitor of a link.
Candidates share a device id or an IP together with a user agent. Each candidate pair is compared on
device id (agree / disagree: both carry device ids and none is shared), network (IP+user agent / IP only /
neither), pages seen and active hours of day (levels of the share of the visitor's pages / hours the
profile also shows: a visitor sees a few pages, a profile many, so containment, not Jaccard), e-mail and
customer id (disagree: both sides carry one, and never the same, or it would have linked them; null when
either side carries none, as anonymous visitors always do).

u probabilities (agreement among non-matches): for device, network, e-mail and customer id, exactly from
value frequencies over pairs of distinct known profiles (different people by construction: they never
share an e-mail or customer id, so u of those disagreements is 1 less half a pair's chance); for
behaviour, from random visitor x known profile pairs (almost all non-matches, shaped like the
candidates). When scoring, agreement on a value is as likely by chance as the people the data shows
behind it (term-frequency u): a device id nobody else has is strong evidence; an IP with a user agent is
as common as the people behind it (known profiles holding it, or distinct device ids seen with it,
whichever is more), so an office IP with the office's browser build is weak evidence. A value with more
people behind it than the configured limit proposes no candidates at all.

m of the disagreement comparisons (device id, e-mail, customer id) comes from the known profiles' own
records (one person by deterministic evidence): how often two observations of one person carry different
values, with a Beta prior of 1 in 20. A person rarely shows two devices, two e-mails or two customer
ids, so each difference is strong evidence against a link and IP + user agent alone never links two
people whose devices, e-mails or customer ids differ. The other m probabilities and the share of matches
among candidates (one share per kind of visitor: anonymous or identified) come from
expectation-maximisation over the candidate pairs. The prior of a match is that share spread over all
visitor x known pairs of the kind. A visitor belongs to at most one profile, so each candidate's posterior
is normalised against all of the visitor's candidates and "nobody known": evidence that fits several
profiles equally links none.
"""

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from identity.graph import BITS, DeterministicGraph
from identity.records import CRM_SYSTEMS, Records, distinct
from revloop.config.identity import ProbabilisticSettings

# pseudo-counts of the prior of m(values differ): a person's own records rarely show two devices, e-mails
# or customer ids
PRIOR_DISAGREE, PRIOR_PAIRS = 1.0, 20.0
PAGE_LEVELS = (0.5, 1.0)  # share of the visitor's pages the profile saw too: below 0.5, from 0.5, all
HOUR_LEVELS = (0.5, 1.0)  # share of the visitor's hours of day the profile is active at too: same levels
NULL = -1


@dataclass
class Comparison:
    """One comparison of the model: its level names and estimated probabilities."""

    name: str
    levels: tuple[str, ...]
    u: np.ndarray
    m: np.ndarray = field(default_factory=lambda: np.zeros(0))


@dataclass
class ProbabilisticLinks:
    """The accepted links (visitor component -> known component) and the fitted model."""

    visitor_component: np.ndarray
    known_component: np.ndarray
    confidence: np.ndarray
    matched_on: list[str]
    candidate_pairs: int
    # EM estimate of the share of matches among candidate pairs, per kind of visitor
    match_share: dict[str, float]
    comparisons: list[Comparison]
    shared_ips: list[tuple[str, int]] = field(default_factory=list)  # (IP, people behind it), 2 or more

    @classmethod
    def empty(cls, crowds: list[tuple[str, int]] | None = None) -> "ProbabilisticLinks":
        none = np.zeros(0, dtype=np.int64)
        return cls(none, none, np.zeros(0), [], 0, {}, [], crowds or [])


def _encode(values: pa.Array) -> tuple[np.ndarray, np.ndarray, pa.Array]:
    """(rows carrying a value, their value index, the distinct values)."""
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    valid = np.flatnonzero(pc.is_valid(values).to_numpy(zero_copy_only=False))
    if not len(valid):
        return valid, np.zeros(0, np.int64), pa.array([], pa.string())
    encoded = pc.dictionary_encode(values.take(pa.array(valid)))
    return valid, encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64), encoded.dictionary


def _distinct_per_value(value: np.ndarray, other: np.ndarray, other_count: int, count: int) -> np.ndarray:
    """value index -> how many distinct `other` indices it is seen with."""
    if not len(value):
        return np.zeros(count, np.int64)
    pair = distinct(value * max(other_count, 1) + other)
    return np.bincount(pair // max(other_count, 1), minlength=count)


@dataclass
class _Feature:
    """Who holds each value of one exact-match feature (device, ip+ua, ip)."""

    visitor_comp: np.ndarray
    visitor_value: np.ndarray
    known_comp: np.ndarray  # sorted by value
    known_value: np.ndarray
    holders: np.ndarray  # value -> number of known components holding it
    people: np.ndarray  # value -> people the data shows behind it: known holders or distinct devices
    u_agree: float
    limit: int  # a value with more people behind it proposes no candidates
    values: pa.Array  # value index -> value

    def shared(self) -> list[tuple[str, int]]:
        """(value, people) of the values the data shows with two or more people."""
        crowded = np.flatnonzero(self.people >= 2)
        return list(
            zip(self.values.take(pa.array(crowded)).to_pylist(), self.people[crowded].tolist(), strict=True)
        )

    def join(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(visitor comp, another known comp, people behind the shared value) of every shared value."""
        usable = self.people[self.visitor_value] <= self.limit
        visitor_comp, visitor_value = self.visitor_comp[usable], self.visitor_value[usable]
        start = np.searchsorted(self.known_value, visitor_value, "left")
        stop = np.searchsorted(self.known_value, visitor_value, "right")
        width = stop - start
        visitor = np.repeat(visitor_comp, width)
        offsets = np.arange(width.sum()) - np.repeat(np.cumsum(width) - width, width)
        position = np.repeat(start, width) + offsets
        known = self.known_comp[position]
        other = visitor != known
        return visitor[other], known[other], self.people[self.known_value[position[other]]]


def _feature(
    values: pa.Array,
    row_comp: np.ndarray,
    known: np.ndarray,
    visitor: np.ndarray,
    devices: tuple[np.ndarray, int],
    limit: int,
) -> _Feature:
    """Holders of each value; `devices` (device index per row, -1 for none; count) counts people behind it."""
    rows, row_value, dictionary = _encode(values)
    count = len(dictionary)
    pair = distinct(row_comp[rows] * count + row_value) if count else np.zeros(0, np.int64)
    comp, value = (pair // count, pair % count) if count else (pair, pair)
    is_known = known[comp] if len(comp) else np.zeros(0, bool)
    is_visitor = visitor[comp] if len(comp) else np.zeros(0, bool)
    known_comp, known_value = comp[is_known], value[is_known]
    order = np.argsort(known_value, kind="stable")
    holders = np.bincount(known_value, minlength=count)
    device, device_count = devices
    with_device = device[rows] >= 0
    seen = _distinct_per_value(row_value[with_device], device[rows][with_device], device_count, count)
    n = int(known.sum())
    pairs = n * (n - 1) / 2
    # distinct known profiles are different people: their agreement rate is the non-match rate
    agreeing = float((holders * (holders - 1) / 2).sum())
    return _Feature(
        comp[is_visitor],
        value[is_visitor],
        known_comp[order],
        known_value[order],
        holders,
        np.maximum(holders, seen),
        (agreeing + 0.5) / (pairs + 1),
        limit,
        dictionary,
    )


def _own_disagreement(comp: np.ndarray, value: np.ndarray) -> np.ndarray:
    """m of (values differ, agree) from observations of known profiles: one person by deterministic evidence.

    Consecutive observations (sorted by value) of one known profile are pairs of the same person; how often
    their values differ is how often a person shows two values (a Beta prior keeps small data sane).
    """
    order = np.lexsort((value, comp))
    same = comp[order][1:] == comp[order][:-1]
    differ = float((value[order][1:] != value[order][:-1])[same].sum())
    disagree = (differ + PRIOR_DISAGREE) / (float(same.sum()) + PRIOR_PAIRS)
    return np.array([disagree, 1 - disagree])


def _identifier_comparison(
    name: str, graph: DeterministicGraph, known: np.ndarray, visitors: np.ndarray, candidates: np.ndarray
) -> tuple[Comparison, np.ndarray]:
    """The e-mail or customer-id comparison: its m and u, and the level of each candidate pair.

    Both sides carrying one means they differ (a shared one would have linked them): level 0; else null.
    """
    record, key, bits = graph.person_keys
    of_type = bits == BITS[name]
    comp, key = graph.component[record[of_type]], key[of_type]
    has = np.zeros(graph.component_count, dtype=bool)
    has[comp] = True
    own = known[comp]
    n = int(known.sum())
    # distinct known profiles never share one: agreement among them is half a pair's chance at most
    u_agree = 0.5 / (n * (n - 1) / 2 + 1)
    comparison = Comparison(
        name, ("disagree", "agree"), np.array([1 - u_agree, u_agree]), _own_disagreement(comp[own], key[own])
    )
    return comparison, np.where(has[visitors] & has[candidates], 0, NULL)


@dataclass
class _ItemSets:
    """The union of a '|'-separated column over each component's rows, as sorted comp * items + item codes."""

    keys: np.ndarray
    size: np.ndarray  # component -> distinct items
    items: int

    def containment_levels(self, visitor: np.ndarray, other: np.ndarray, cuts: tuple) -> np.ndarray:
        """Level of the share of each visitor's items the other holds too (NULL: either holds none)."""
        width_of = max(self.items, 1)
        start = np.searchsorted(self.keys, visitor * width_of, "left")
        width = np.searchsorted(self.keys, (visitor + 1) * width_of, "left") - start
        pair = np.repeat(np.arange(len(visitor)), width)
        offset = np.arange(width.sum()) - np.repeat(np.cumsum(width) - width, width)
        position = np.repeat(start, width) + offset
        probe = other[pair] * width_of + self.keys[position] % width_of
        found = np.searchsorted(self.keys, probe)
        hit = found < len(self.keys)
        hit[hit] = self.keys[found[hit]] == probe[hit]
        shared = np.bincount(pair, weights=hit, minlength=len(visitor))
        level = np.searchsorted(cuts, shared / np.maximum(self.size[visitor], 1), side="right")
        return np.where((self.size[visitor] > 0) & (self.size[other] > 0), level, NULL)


def _item_sets(records: Records, column: str, row_comp: np.ndarray, wanted: np.ndarray) -> _ItemSets:
    """The items of `column` on the rows of the wanted components (a boolean per component)."""
    text = records.rows.column(column)
    rows = np.flatnonzero(wanted[row_comp] & pc.is_valid(text).to_numpy(zero_copy_only=False))
    lists = pc.split_pattern(text.take(pa.array(rows)), "|")
    flat = pc.list_flatten(lists)
    nonempty = pc.not_equal(flat, "").to_numpy(zero_copy_only=False)
    parent = pc.list_parent_indices(lists).to_numpy(zero_copy_only=False)[nonempty]
    encoded = pc.dictionary_encode(flat.filter(pa.array(nonempty))).combine_chunks()
    items = len(encoded.dictionary)
    item = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    keys = distinct(row_comp[rows][parent] * max(items, 1) + item)
    size = np.bincount(keys // max(items, 1), minlength=len(wanted))
    return _ItemSets(keys, size, items)


def _em(
    levels: list[np.ndarray],
    u: list[np.ndarray],
    iterations: int,
    fixed_m: dict[int, np.ndarray],
    kind: np.ndarray,
) -> tuple[list[np.ndarray], np.ndarray]:
    """m of each comparison and the share of matches among the pairs of each kind (0, 1, ...), with u (and
    `fixed_m`) held fixed."""
    m = [np.linspace(1.0, 2.0, len(p)) / np.linspace(1.0, 2.0, len(p)).sum() for p in u]  # agreement likelier
    for i, m_i in fixed_m.items():
        m[i] = m_i
    kinds = int(kind.max()) + 1 if len(kind) else 1
    pairs_of_kind = np.maximum(np.bincount(kind, minlength=kinds), 1)
    share = np.full(kinds, 0.5)
    for _ in range(iterations):
        log_m = np.zeros(len(levels[0]))
        log_u = np.zeros(len(levels[0]))
        for level, m_c, u_c in zip(levels, m, u, strict=True):
            present = level != NULL
            log_m[present] += np.log(m_c[level[present]])
            log_u[present] += np.log(u_c[level[present]])
        match = share[kind] * np.exp(log_m)
        posterior = match / (match + (1 - share[kind]) * np.exp(log_u))
        share = np.clip(np.bincount(kind, weights=posterior, minlength=kinds) / pairs_of_kind, 1e-6, 1 - 1e-6)
        for i, level in enumerate(levels):
            if i in fixed_m:
                continue
            present = level != NULL
            weights = np.bincount(level[present], weights=posterior[present], minlength=len(u[i]))
            m[i] = (weights + 1.0) / (weights.sum() + len(u[i]))  # Laplace: no level impossible
    return m, share


def probabilistic_links(
    records: Records, graph: DeterministicGraph, settings: ProbabilisticSettings, threshold: float
) -> ProbabilisticLinks:
    """Score visitor components against known ones and keep the links at or above threshold."""
    rows = records.rows
    known = graph.known_component
    n_comp = graph.component_count
    with_crm = np.zeros(n_comp, dtype=bool)
    with_crm[graph.component[np.isin(records.source_system, CRM_SYSTEMS)]] = True
    visitor = ~with_crm
    row_comp = graph.component[records.row_record]
    n_known, n_visitors = int(known.sum()), int(visitor.sum())
    if n_known < 2 or n_visitors == 0:
        return ProbabilisticLinks.empty()
    ip, agent = rows.column("ip"), rows.column("user_agent")
    network = pc.binary_join_element_wise(ip, agent, "\x1f")
    device_rows, device_value, device_values = _encode(rows.column("device_id"))
    device_count = len(device_values)
    row_device = np.full(rows.num_rows, -1, np.int64)
    row_device[device_rows] = device_value
    devices = (row_device, device_count)
    device = _feature(
        rows.column("device_id"), row_comp, known, visitor, devices, settings.max_people_per_device
    )
    ip_agent = _feature(network, row_comp, known, visitor, devices, settings.max_people_per_ip)
    ip_only = _feature(ip, row_comp, known, visitor, devices, settings.max_people_per_ip)
    crowds = ip_only.shared()

    proposals = []
    if settings.compare_device_id:
        proposals.append(device.join())
    if settings.compare_ip_user_agent:
        proposals.append(ip_agent.join())
    if not proposals:
        return ProbabilisticLinks.empty(crowds=crowds)
    visitors = np.concatenate([p[0] for p in proposals])
    if not len(visitors):
        return ProbabilisticLinks.empty(crowds=crowds)
    pair = distinct(visitors * n_comp + np.concatenate([p[1] for p in proposals]))
    visitors, candidates = pair // n_comp, pair % n_comp
    # anonymous visitors and visitors identified on the website are matched at different rates
    kind = known[visitors].astype(np.int64)
    kind_names = ("anonymous", "identified")

    def rarest_shared(feature: _Feature) -> np.ndarray:
        """Holders of the rarest value a candidate pair shares (0: shares none)."""
        a, k, holders = feature.join()
        shared = np.full(len(pair), np.iinfo(np.int64).max)
        if len(a):
            position = np.searchsorted(pair, a * n_comp + k)
            hit = (position < len(pair)) & (pair[np.minimum(position, len(pair) - 1)] == a * n_comp + k)
            np.minimum.at(shared, position[hit], holders[hit])
        return np.where(shared == np.iinfo(np.int64).max, 0, shared)

    def holding(feature: _Feature) -> np.ndarray:
        """component -> carries a value of the feature."""
        has = np.zeros(n_comp, dtype=bool)
        has[feature.visitor_comp] = True
        has[feature.known_comp] = True
        return has

    has_device, has_ip = holding(device), holding(ip_only)
    device_holders, agent_people, ip_people = (
        rarest_shared(device),
        rarest_shared(ip_agent),
        rarest_shared(ip_only),
    )
    both_device = has_device[visitors] & has_device[candidates]
    both_ip = has_ip[visitors] & has_ip[candidates]
    device_level = np.where(device_holders > 0, 1, np.where(both_device, 0, NULL))
    network_level = np.where(agent_people > 0, 2, np.where(ip_people > 0, 1, np.where(both_ip, 0, NULL)))
    nothing = np.full(len(pair), NULL)

    comparisons = [
        Comparison(
            "device_id",
            ("disagree", "agree"),
            np.array([1 - device.u_agree, device.u_agree]),
            _own_disagreement(
                row_comp[device_rows][known[row_comp[device_rows]]],
                device_value[known[row_comp[device_rows]]],
            ),
        ),
        Comparison(
            "network",
            ("disagree", "ip", "ip+user_agent"),
            np.array([1 - ip_only.u_agree, max(ip_only.u_agree - ip_agent.u_agree, 1e-9), ip_agent.u_agree]),
        ),
    ]
    levels = [
        device_level if settings.compare_device_id else nothing,
        network_level if settings.compare_ip_user_agent else nothing,
    ]
    fixed_m = {0: comparisons[0].m}
    for name, wanted in (("email", settings.compare_email), ("customer_id", settings.compare_customer_id)):
        comparison, level = _identifier_comparison(name, graph, known, visitors, candidates)
        fixed_m[len(comparisons)] = comparison.m
        comparisons.append(comparison)
        levels.append(level if wanted else nothing)
    behaviour_from = len(comparisons)
    rng = np.random.default_rng(settings.seed)
    sample_a = rng.choice(np.flatnonzero(visitor), settings.u_sample_pairs)
    sample_b = rng.choice(np.flatnonzero(known), settings.u_sample_pairs)
    for name, column, cuts, wanted in (
        ("pages", "page_paths", PAGE_LEVELS, settings.compare_pages),
        ("active_hours", "active_hours", HOUR_LEVELS, settings.compare_active_hours),
    ):
        if not wanted:
            continue
        wanted_comp = np.zeros(n_comp, dtype=bool)
        wanted_comp[visitors], wanted_comp[candidates] = True, True
        wanted_comp[sample_a], wanted_comp[sample_b] = True, True
        sets = _item_sets(records, column, row_comp, wanted_comp)
        sample = sets.containment_levels(sample_a, sample_b, cuts)
        counts = np.bincount(sample[sample != NULL], minlength=len(cuts) + 1) + 0.5
        comparisons.append(
            Comparison(name, tuple(f"level_{i}" for i in range(len(cuts) + 1)), counts / counts.sum())
        )
        levels.append(sets.containment_levels(visitors, candidates, cuts))

    # m of the disagreements from the known profiles' own records, not EM: the candidates are blocked on
    # device and network, so EM over them cannot tell colleagues behind one office IP from one person with
    # two cookies
    m, share = _em(levels, [c.u for c in comparisons], settings.em_iterations, fixed_m, kind)
    for comparison, m_c in zip(comparisons, m, strict=True):
        comparison.m = m_c
    pairs_of_kind = np.bincount(kind, minlength=len(share))
    visitors_of_kind = np.array([int((visitor & ~known).sum()), int((visitor & known).sum())])[: len(share)]
    prior = np.clip(share * pairs_of_kind / (np.maximum(visitors_of_kind, 1) * n_known), 1e-12, 0.5)
    log_odds = np.log(prior / (1 - prior))[kind]
    # agreement on a value: as likely by chance as other known profiles hold it (term frequency), with
    # the floor of a value nobody else holds: half an agreement among all pairs of known profiles
    floor = 0.5 / (n_known * (n_known - 1) / 2 + 1)
    for i, (comparison, level) in enumerate(zip(comparisons, levels, strict=True)):
        present = level != NULL
        u = comparison.u[np.where(present, level, 0)]
        if i == 0:
            u = np.where(level == 1, np.maximum(floor, (device_holders - 1) / (n_known - 1)), u)
        elif i == 1:
            # the same IP and browser by chance: someone else behind this IP, and with this browser
            agent_given_ip = min(1.0, ip_agent.u_agree / ip_only.u_agree)
            by_chance = np.maximum((agent_people - 1), (ip_people - 1) * agent_given_ip) / (n_known - 1)
            u = np.where(level == 2, np.maximum(floor, by_chance), u)
            u = np.where(level == 1, np.maximum(floor, (ip_people - 1) / (n_known - 1)), u)
        log_odds += np.where(present, np.log(comparison.m[np.where(present, level, 0)]) - np.log(u), 0.0)

    # one visitor, one person at most: normalise against its other candidates and "nobody known"
    order = np.argsort(visitors, kind="stable")
    visitors, candidates, log_odds = visitors[order], candidates[order], log_odds[order]
    levels = [level[order] for level in levels]
    starts = np.flatnonzero(np.r_[True, visitors[1:] != visitors[:-1]])
    peak = np.maximum.reduceat(log_odds, starts)
    peak_rows = np.repeat(peak, np.diff(np.r_[starts, len(visitors)]))
    total = np.add.reduceat(np.exp(log_odds - peak_rows), starts)
    denominator = np.repeat(np.log(np.exp(-peak) + total) + peak, np.diff(np.r_[starts, len(visitors)]))
    confidence = np.exp(log_odds - denominator)
    # each visitor's most likely candidate (the first of equals, as argmax takes)
    by_confidence = np.lexsort((np.arange(len(visitors)), -confidence, visitors))
    best = by_confidence[starts]
    keep = best[confidence[best] >= threshold]
    matched_on = []
    for row in keep:
        evidence = []
        if levels[0][row] == 1:
            evidence.append("device_id")
        if levels[1][row] == 2:
            evidence.append("ip+user_agent")
        elif levels[1][row] == 1:
            evidence.append("ip")
        for comparison, level in zip(comparisons[behaviour_from:], levels[behaviour_from:], strict=True):
            if level[row] >= 1:
                evidence.append(comparison.name)
        matched_on.append("+".join(evidence))
    return ProbabilisticLinks(
        visitors[keep],
        candidates[keep],
        np.round(confidence[keep], 6),
        matched_on,
        len(pair),
        dict(zip(kind_names, share.tolist(), strict=False)),
        comparisons,
        crowds,
    )
