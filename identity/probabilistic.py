"""Probabilistic identity: anonymous visitors linked to known profiles by a Fellegi-Sunter model.

Only components with no identifying key (anonymous visitors) are candidates, and only to components that
have one (known profiles): deterministic evidence always wins and two known people are never merged here.
Candidates share a device id or an IP together with a user agent. Each candidate pair is compared on
device id (agree / disagree), network (IP+user agent / IP only / neither), pages seen and active hours of
day (levels of the share of the visitor's pages / hours the profile also shows: a visitor sees a few pages,
a profile many, so containment, not Jaccard).

u probabilities (agreement among non-matches): for device and network, exactly from value frequencies over
pairs of distinct known profiles (different people by construction); for behaviour, from random visitor x
known profile pairs (almost all non-matches, shaped like the candidates). When scoring, agreement on a
value is as likely by chance as other known profiles hold it (term-frequency u): a device id nobody else
has is strong evidence; an IP with a user agent is as common as the other people behind that IP times
the share of IP-sharing pairs that also share the browser, so an office IP is weak evidence even with a
browser no other known person there uses. m probabilities and the share of matches among candidates come
from expectation-maximisation over the candidate pairs, u fixed. The prior of a match is that share spread
over all visitor x known pairs. A visitor belongs to at most one profile, so each candidate's posterior is
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

# a value held by more known profiles than this proposes no candidates (a carrier NAT, a kiosk)
MAX_HOLDERS = 25
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

    @classmethod
    def empty(cls, comparisons: list[Comparison] | None = None) -> "ProbabilisticLinks":
        none = np.zeros(0, dtype=np.int64)
        return cls(none, none, np.zeros(0), [], 0, 0.0, comparisons or [])


def _value_pairs(component: np.ndarray, values: pa.Array) -> tuple[np.ndarray, np.ndarray, int]:
    """Distinct (component, value index) of the rows carrying a value."""
    valid = np.flatnonzero(pc.is_valid(values).to_numpy(zero_copy_only=False))
    if not len(valid):
        return np.zeros(0, np.int64), np.zeros(0, np.int64), 0
    encoded = pc.dictionary_encode(values.take(pa.array(valid))).combine_chunks()
    value = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    count = len(encoded.dictionary)
    pair = distinct(component[valid] * count + value)
    return pair // count, pair % count, count


@dataclass
class _Feature:
    """Who holds each value of one exact-match feature (device, ip+ua, ip)."""

    anon_comp: np.ndarray
    anon_value: np.ndarray
    known_comp: np.ndarray  # sorted by value
    known_value: np.ndarray
    holders: np.ndarray  # value -> number of known components holding it
    u_agree: float

    def join(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(anonymous comp, known comp, holders of the shared value) of every shared value."""
        usable = self.holders[self.anon_value] <= MAX_HOLDERS
        anon_comp, anon_value = self.anon_comp[usable], self.anon_value[usable]
        start = np.searchsorted(self.known_value, anon_value, "left")
        stop = np.searchsorted(self.known_value, anon_value, "right")
        width = stop - start
        anon = np.repeat(anon_comp, width)
        offsets = np.arange(width.sum()) - np.repeat(np.cumsum(width) - width, width)
        position = np.repeat(start, width) + offsets
        return anon, self.known_comp[position], self.holders[self.known_value[position]]


def _feature(values: pa.Array, row_comp: np.ndarray, known: np.ndarray) -> _Feature:
    comp, value, count = _value_pairs(row_comp, values)
    is_known = known[comp] if len(comp) else np.zeros(0, bool)
    known_comp, known_value = comp[is_known], value[is_known]
    order = np.argsort(known_value, kind="stable")
    holders = np.bincount(known_value, minlength=count)
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
        (agreeing + 0.5) / (pairs + 1),
    )


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


def _em(levels: list[np.ndarray], u: list[np.ndarray], iterations: int) -> tuple[list[np.ndarray], float]:
    """m of each comparison and the share of matches among the pairs, with u held fixed."""
    m = [np.linspace(1.0, 2.0, len(p)) / np.linspace(1.0, 2.0, len(p)).sum() for p in u]  # agreement likelier
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
    device = _feature(rows.column("device_id"), row_comp, known)
    ip_agent = _feature(network, row_comp, known)
    ip_only = _feature(ip, row_comp, known)

    n_comp = graph.component_count
    proposals = []
    if settings.compare_device_id:
        proposals.append(device.join())
    if settings.compare_ip_user_agent:
        proposals.append(ip_agent.join())
    if not proposals:
        return ProbabilisticLinks.empty()
    anon = np.concatenate([p[0] for p in proposals])
    cand_known = np.concatenate([p[1] for p in proposals])
    if not len(anon):
        return ProbabilisticLinks.empty()
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
    device_holders, agent_holders, ip_holders = (
        rarest_shared(device),
        rarest_shared(ip_agent),
        rarest_shared(ip_only),
    )
    both_device = has_device[anon] & has_device[cand_known]
    both_ip = has_ip[anon] & has_ip[cand_known]
    device_level = np.where(device_holders > 0, 1, np.where(both_device, 0, NULL))
    network_level = np.where(agent_holders > 0, 2, np.where(ip_holders > 0, 1, np.where(both_ip, 0, NULL)))

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

    m, share = _em(levels, [c.u for c in comparisons], settings.em_iterations)
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
            by_chance = np.maximum((agent_holders - 1), (ip_holders - 1) * agent_given_ip) / (n_known - 1)
            u = np.where(level == 2, np.maximum(floor, by_chance), u)
            u = np.where(level == 1, np.maximum(floor, (ip_holders - 1) / (n_known - 1)), u)
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
        anon[keep], cand_known[keep], np.round(confidence[keep], 6), matched_on, len(pair), share, comparisons
    )
