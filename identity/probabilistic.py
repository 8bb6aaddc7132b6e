"""Probabilistic identity: anonymous visitors linked to known profiles by a Fellegi-Sunter model.

Only components with no identifying key (anonymous visitors) are candidates, and only to components that
have one (known profiles): deterministic evidence always wins and two known people are never merged here.
Candidates share a device id or an IP together with a user agent. Each candidate pair is compared on
device id (agree / disagree: both carry device ids and none is shared), network (IP+user agent / IP only /
neither), pages seen and active hours of day (levels of the share of the visitor's pages / hours the
profile also shows: a visitor sees a few pages, a profile many, so containment, not Jaccard).

u probabilities (agreement among non-matches): for device and network, exactly from value frequencies over
pairs of distinct known profiles (different people by construction); for behaviour, from random visitor x
known profile pairs (almost all non-matches, shaped like the candidates). When scoring, agreement on a
value is as likely by chance as the people the data shows behind it (term-frequency u): a device id
nobody else has is strong evidence; an IP with a user agent is as common as the people behind it (known
profiles holding it, or distinct device ids seen with it, whichever is more), so an office IP with the
office's browser build is weak evidence. A value with more people behind it than the configured limit
proposes no candidates at all.

m of the device comparison comes from the known profiles' own rows (pairs of one person by deterministic
evidence): different device ids are strong evidence against a link, so IP + user agent alone never links
a visitor whose device differs. The other m probabilities and the share of matches among candidates come
from expectation-maximisation over the candidate pairs. The prior of a match is that share spread over
all visitor x known pairs. A visitor belongs to at most one profile, so each candidate's posterior is
normalised against all of the visitor's candidates and "nobody known": evidence that fits several
profiles equally links none.
"""

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from identity.graph import DeterministicGraph
from identity.records import Records, distinct, strings
from revloop.config.identity import ProbabilisticSettings

# pseudo-counts of the prior of m(device ids differ): a person's own records rarely show two devices
DEVICE_PRIOR_DISAGREE, DEVICE_PRIOR_PAIRS = 1.0, 20.0
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
    """The accepted links (anonymous component -> known component) and the fitted model."""

    anonymous_component: np.ndarray
    known_component: np.ndarray
    confidence: np.ndarray
    matched_on: list[str]
    candidate_pairs: int
    match_share: float  # EM estimate of the share of matches among candidate pairs
    comparisons: list[Comparison]
    shared_ips: list[tuple[str, int]] = field(default_factory=list)  # (IP, people behind it), 2 or more

    @classmethod
    def empty(cls, crowds: list[tuple[str, int]] | None = None) -> "ProbabilisticLinks":
        none = np.zeros(0, dtype=np.int64)
        return cls(none, none, np.zeros(0), [], 0, 0.0, [], crowds or [])


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

    anon_comp: np.ndarray
    anon_value: np.ndarray
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
        """(anonymous comp, known comp, people behind the shared value) of every shared value."""
        usable = self.people[self.anon_value] <= self.limit
        anon_comp, anon_value = self.anon_comp[usable], self.anon_value[usable]
        start = np.searchsorted(self.known_value, anon_value, "left")
        stop = np.searchsorted(self.known_value, anon_value, "right")
        width = stop - start
        anon = np.repeat(anon_comp, width)
        offsets = np.arange(width.sum()) - np.repeat(np.cumsum(width) - width, width)
        position = np.repeat(start, width) + offsets
        return anon, self.known_comp[position], self.people[self.known_value[position]]


def _feature(
    values: pa.Array, row_comp: np.ndarray, known: np.ndarray, devices: tuple[np.ndarray, int], limit: int
) -> _Feature:
    """Holders of each value; `devices` (device index per row, -1 for none; count) counts people behind it."""
    rows, row_value, dictionary = _encode(values)
    count = len(dictionary)
    pair = distinct(row_comp[rows] * count + row_value) if count else np.zeros(0, np.int64)
    comp, value = (pair // count, pair % count) if count else (pair, pair)
    is_known = known[comp] if len(comp) else np.zeros(0, bool)
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
        comp[~is_known],
        value[~is_known],
        known_comp[order],
        known_value[order],
        holders,
        np.maximum(holders, seen),
        (agreeing + 0.5) / (pairs + 1),
        limit,
        dictionary,
    )


def _device_m(row_comp: np.ndarray, known: np.ndarray, device: np.ndarray) -> np.ndarray:
    """m of (device ids differ, agree) from the rows of known profiles: one person by deterministic evidence.

    Consecutive device-bearing rows of one known profile are pairs of the same person; how often their
    device ids differ is how often a person shows two devices (a Beta prior keeps small data sane).
    """
    rows = np.flatnonzero((device >= 0) & known[row_comp])
    order = rows[np.lexsort((device[rows], row_comp[rows]))]
    same = row_comp[order][1:] == row_comp[order][:-1]
    differ = float((device[order][1:] != device[order][:-1])[same].sum())
    disagree = (differ + DEVICE_PRIOR_DISAGREE) / (float(same.sum()) + DEVICE_PRIOR_PAIRS)
    return np.array([disagree, 1 - disagree])


def _sets(records: Records, column: str, row_comp: np.ndarray, wanted: np.ndarray) -> dict[int, frozenset]:
    """Union of a '|'-separated column over the rows of each wanted component."""
    rows = np.flatnonzero(np.isin(row_comp, wanted))
    texts = strings(records.rows.take(pa.array(rows)), column) if len(rows) else []
    found: dict[int, set] = {}
    for comp, text in zip(row_comp[rows], texts, strict=True):
        if text:
            found.setdefault(int(comp), set()).update(text.split("|"))
    return {comp: frozenset(values) for comp, values in found.items()}


def _containment_level(visitor: frozenset | None, profile: frozenset | None, cuts: tuple[float, ...]) -> int:
    if not visitor or not profile:
        return NULL
    return int(np.searchsorted(cuts, len(visitor & profile) / len(visitor), side="right"))


def _em(
    levels: list[np.ndarray], u: list[np.ndarray], iterations: int, fixed_m: dict[int, np.ndarray]
) -> tuple[list[np.ndarray], float]:
    """m of each comparison and the share of matches among the pairs, with u (and `fixed_m`) held fixed."""
    m = [np.linspace(1.0, 2.0, len(p)) / np.linspace(1.0, 2.0, len(p)).sum() for p in u]  # agreement likelier
    for i, m_i in fixed_m.items():
        m[i] = m_i
    share = 0.5
    for _ in range(iterations):
        log_m = np.zeros(len(levels[0]))
        log_u = np.zeros(len(levels[0]))
        for level, m_c, u_c in zip(levels, m, u, strict=True):
            present = level != NULL
            log_m[present] += np.log(m_c[level[present]])
            log_u[present] += np.log(u_c[level[present]])
        match = share * np.exp(log_m)
        posterior = match / (match + (1 - share) * np.exp(log_u))
        share = float(np.clip(posterior.mean(), 1e-6, 1 - 1e-6))
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
    """Score anonymous components against known ones and keep the links at or above threshold."""
    rows = records.rows
    known = graph.known_component
    row_comp = graph.component[records.row_record]
    n_known, n_anon = int(known.sum()), int((~known).sum())
    if n_known < 2 or n_anon == 0:
        return ProbabilisticLinks.empty()
    ip, agent = rows.column("ip"), rows.column("user_agent")
    network = pc.binary_join_element_wise(ip, agent, "\x1f")
    device_rows, device_value, device_values = _encode(rows.column("device_id"))
    device_count = len(device_values)
    row_device = np.full(rows.num_rows, -1, np.int64)
    row_device[device_rows] = device_value
    devices = (row_device, device_count)
    device = _feature(rows.column("device_id"), row_comp, known, devices, settings.max_people_per_device)
    ip_agent = _feature(network, row_comp, known, devices, settings.max_people_per_ip)
    ip_only = _feature(ip, row_comp, known, devices, settings.max_people_per_ip)
    crowds = ip_only.shared()

    n_comp = graph.component_count
    proposals = []
    if settings.compare_device_id:
        proposals.append(device.join())
    if settings.compare_ip_user_agent:
        proposals.append(ip_agent.join())
    if not proposals:
        return ProbabilisticLinks.empty(crowds=crowds)
    anon = np.concatenate([p[0] for p in proposals])
    cand_known = np.concatenate([p[1] for p in proposals])
    if not len(anon):
        return ProbabilisticLinks.empty(crowds=crowds)
    pair = distinct(anon * n_comp + cand_known)
    anon, cand_known = pair // n_comp, pair % n_comp

    def rarest_shared(feature: _Feature) -> np.ndarray:
        """Holders of the rarest value a candidate pair shares (0: shares none)."""
        a, k, holders = feature.join()
        shared = np.full(len(pair), np.iinfo(np.int64).max)
        if len(a):
            position = np.searchsorted(pair, a * n_comp + k)
            hit = (position < len(pair)) & (pair[np.minimum(position, len(pair) - 1)] == a * n_comp + k)
            np.minimum.at(shared, position[hit], holders[hit])
        return np.where(shared == np.iinfo(np.int64).max, 0, shared)

    has_device = np.isin(np.arange(n_comp), device.anon_comp) | np.isin(np.arange(n_comp), device.known_comp)
    has_ip = np.isin(np.arange(n_comp), ip_only.anon_comp) | np.isin(np.arange(n_comp), ip_only.known_comp)
    device_holders, agent_people, ip_people = (
        rarest_shared(device),
        rarest_shared(ip_agent),
        rarest_shared(ip_only),
    )
    both_device = has_device[anon] & has_device[cand_known]
    both_ip = has_ip[anon] & has_ip[cand_known]
    device_level = np.where(device_holders > 0, 1, np.where(both_device, 0, NULL))
    network_level = np.where(agent_people > 0, 2, np.where(ip_people > 0, 1, np.where(both_ip, 0, NULL)))

    comparisons = [
        Comparison("device_id", ("disagree", "agree"), np.array([1 - device.u_agree, device.u_agree])),
        Comparison(
            "network",
            ("disagree", "ip", "ip+user_agent"),
            np.array([1 - ip_only.u_agree, max(ip_only.u_agree - ip_agent.u_agree, 1e-9), ip_agent.u_agree]),
        ),
    ]
    levels = [device_level if settings.compare_device_id else np.full(len(pair), NULL), network_level]
    if not settings.compare_ip_user_agent:
        levels[1] = np.full(len(pair), NULL)
    rng = np.random.default_rng(settings.seed)
    sample_a = rng.choice(np.flatnonzero(~known), settings.u_sample_pairs)
    sample_b = rng.choice(np.flatnonzero(known), settings.u_sample_pairs)
    for name, column, cuts, wanted in (
        ("pages", "page_paths", PAGE_LEVELS, settings.compare_pages),
        ("active_hours", "active_hours", HOUR_LEVELS, settings.compare_active_hours),
    ):
        if not wanted:
            continue
        sets = _sets(
            records, column, row_comp, distinct(np.concatenate([anon, cand_known, sample_a, sample_b]))
        )
        sample = np.array(
            [
                _containment_level(sets.get(a), sets.get(b), cuts)
                for a, b in zip(sample_a, sample_b, strict=True)
            ]
        )
        counts = np.bincount(sample[sample != NULL], minlength=len(cuts) + 1) + 0.5
        comparisons.append(
            Comparison(name, tuple(f"level_{i}" for i in range(len(cuts) + 1)), counts / counts.sum())
        )
        levels.append(
            np.array(
                [
                    _containment_level(sets.get(a), sets.get(k), cuts)
                    for a, k in zip(anon, cand_known, strict=True)
                ],
                dtype=np.int64,
            )
        )

    # device m from the known profiles' own rows, not EM: the candidates are blocked on device and network,
    # so EM over them cannot tell colleagues behind one office IP from one person with two cookies
    m, share = _em(
        levels,
        [c.u for c in comparisons],
        settings.em_iterations,
        {0: _device_m(row_comp, known, row_device)},
    )
    for comparison, m_c in zip(comparisons, m, strict=True):
        comparison.m = m_c
    prior = np.clip(share * len(pair) / (n_anon * n_known), 1e-12, 0.5)
    log_odds = np.full(len(pair), np.log(prior / (1 - prior)))
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
    order = np.argsort(anon, kind="stable")
    anon, cand_known, log_odds = anon[order], cand_known[order], log_odds[order]
    levels = [level[order] for level in levels]
    starts = np.flatnonzero(np.r_[True, anon[1:] != anon[:-1]])
    peak = np.maximum.reduceat(log_odds, starts)
    peak_rows = np.repeat(peak, np.diff(np.r_[starts, len(anon)]))
    total = np.add.reduceat(np.exp(log_odds - peak_rows), starts)
    denominator = np.repeat(np.log(np.exp(-peak) + total) + peak, np.diff(np.r_[starts, len(anon)]))
    confidence = np.exp(log_odds - denominator)
    best = starts + np.array(
        [np.argmax(confidence[s:e]) for s, e in zip(starts, np.r_[starts[1:], len(anon)], strict=True)],
        dtype=int,
    )
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
        for comparison, level in zip(comparisons[2:], levels[2:], strict=True):
            if level[row] >= 1:
                evidence.append(comparison.name)
        matched_on.append("+".join(evidence))
    return ProbabilisticLinks(
        anon[keep],
        cand_known[keep],
        np.round(confidence[keep], 6),
        matched_on,
        len(pair),
        share,
        comparisons,
        crowds,
    )
