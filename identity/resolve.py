"""One identity run as a pure function: records and the previous map in, the new map and its changes out."""

import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from identity.graph import KEY_TYPES, DeterministicGraph, deterministic_graph, matched_on_text
from identity.probabilistic import ProbabilisticLinks, probabilistic_links
from identity.records import Records, group_records
from identity.stable_ids import Assignment, assign_profile_ids, detail_text
from revloop.config.identity import IdentityConfig

PROFILE_MAP_SCHEMA = pa.schema(
    [
        ("source_system", pa.string()),
        ("source_record_type", pa.string()),
        ("source_id", pa.string()),
        ("profile_id", pa.string()),
        ("match_type", pa.string()),
        ("matched_on", pa.string()),
        ("confidence", pa.float64()),
        ("first_linked_at", pa.timestamp("us", tz="UTC")),
        ("updated_at", pa.timestamp("us", tz="UTC")),
    ]
)
PROFILE_CHANGES_SCHEMA = pa.schema(
    [
        ("change_type", pa.string()),
        ("profile_id", pa.string()),
        ("other_profile_id", pa.string()),
        ("source_system", pa.string()),
        ("source_record_type", pa.string()),
        ("source_id", pa.string()),
        ("run_at", pa.timestamp("us", tz="UTC")),
        ("detail", pa.string()),
    ]
)
RECORD_CHANGES_SCHEMA = pa.schema(
    [
        ("source_system", pa.string()),
        ("source_record_type", pa.string()),
        ("source_id", pa.string()),
        ("profile_id", pa.string()),
        ("previous_profile_id", pa.string()),
        ("run_at", pa.timestamp("us", tz="UTC")),
    ]
)
SHARED_VALUES_SCHEMA = pa.schema(
    [
        ("value_type", pa.string()),
        ("value_hash", pa.string()),
        ("people", pa.int64()),
        ("why", pa.string()),
        ("run_at", pa.timestamp("us", tz="UTC")),
    ]
)
SOLE_RECORD = "sole_record"


@dataclass(frozen=True)
class IdentityRunSummary:
    """What one identity run found and changed."""

    records: int
    profiles: int
    deterministic_links: int
    probabilistic_links: int
    unlinked_anonymous_records: int
    created: int
    merges: int
    splits: int
    invalid_phones: int
    candidate_pairs: int
    shared_values: int = 0  # rows of identity.shared_values: values that are no identifiers
    seconds: float = 0.0


@dataclass
class Resolution:
    """The new identity.profile_map, the rows to append to identity.profile_changes and
    identity.record_changes, and the summary."""

    profile_map: pa.Table
    changes: pa.Table
    record_changes: pa.Table
    summary: IdentityRunSummary
    links: ProbabilisticLinks
    shared_values: pa.Table


def _record_keys(table: pa.Table) -> pa.Array:
    return pc.binary_join_element_wise(
        table.column("source_system"), table.column("source_record_type"), table.column("source_id"), "\x1f"
    )


def _previous_columns(previous: pa.Table | None, keys: np.ndarray) -> dict[str, np.ndarray]:
    """The previous map's columns aligned to the records (None / NaT where a record is new)."""
    n = len(keys)
    aligned = {
        "profile_id": np.full(n, None, dtype=object),
        "match_type": np.full(n, None, dtype=object),
        "matched_on": np.full(n, None, dtype=object),
        "confidence": np.full(n, np.nan),
        "first_linked_at": np.full(n, np.datetime64("NaT"), dtype="datetime64[us]"),
        "updated_at": np.full(n, np.datetime64("NaT"), dtype="datetime64[us]"),
    }
    if previous is None or previous.num_rows == 0:
        return aligned
    position = pc.index_in(_record_keys(previous), value_set=pa.array(keys, pa.string()))
    found = pc.is_valid(position).to_numpy(zero_copy_only=False)
    target = position.filter(pc.is_valid(position)).to_numpy().astype(np.int64)
    for name in aligned:
        values = previous.column(name).filter(pa.array(found))
        if name.endswith("_at"):
            values = values.cast(pa.timestamp("us", tz="UTC")).to_numpy().astype("datetime64[us]")
        else:
            values = values.to_numpy(zero_copy_only=False)
        aligned[name][target] = values
    return aligned


def resolve(
    rows: pa.Table, previous: pa.Table | None, config: IdentityConfig, run_at: datetime
) -> Resolution:
    """Resolve every record of int_identity_records into profiles, keeping the ids of `previous`."""
    records = group_records(rows)
    graph = deterministic_graph(
        records,
        config.default_phone_region,
        frozenset(config.ignored_emails),
        frozenset(config.ignored_phones),
        dict(config.shared_value_limits),
    )
    links = probabilistic_links(records, graph, config.probabilistic, config.match_threshold)

    record_profile = _profile_of_component(graph, links)[graph.component]
    mapped = np.flatnonzero(record_profile >= 0)
    groups, group = np.unique(record_profile[mapped], return_inverse=True)

    keys = records.sort_keys()
    old = _previous_columns(previous, keys)
    assignment = assign_profile_ids(
        keys[mapped],
        group,
        len(groups),
        pa.array(old["profile_id"][mapped], pa.string()),
        old["first_linked_at"][mapped],
    )
    ids = assignment.ids

    linked = np.zeros(graph.component_count, dtype=bool)
    linked[links.visitor_component] = True
    probabilistic = linked[graph.component[mapped]]
    link_of_component = np.full(graph.component_count, -1, dtype=np.int64)
    link_of_component[links.visitor_component] = np.arange(len(links.visitor_component))
    link_index = link_of_component[graph.component[mapped][probabilistic]]
    names = np.array(
        [matched_on_text(mask) or SOLE_RECORD for mask in range(1 << len(KEY_TYPES))], dtype=object
    )
    matched_on = names[graph.shared_mask[mapped]]
    confidence = np.ones(len(mapped))
    if len(link_index):
        matched_on[probabilistic] = np.array(links.matched_on, dtype=object)[link_index]
        confidence[probabilistic] = links.confidence[link_index]
    match_type = np.where(probabilistic, "probabilistic", "deterministic").astype(object)
    profile_id = ids[group]

    now = np.datetime64(run_at.replace(tzinfo=None), "us")
    first_linked = old["first_linked_at"][mapped]
    first_linked = np.where(np.isnat(first_linked), now, first_linked)
    unchanged = (
        (old["profile_id"][mapped] == profile_id)
        & (old["match_type"][mapped] == match_type)
        & (old["matched_on"][mapped] == matched_on)
        & np.isclose(old["confidence"][mapped], confidence, atol=1e-6)
    )
    updated = np.where(unchanged & ~np.isnat(old["updated_at"][mapped]), old["updated_at"][mapped], now)
    profile_map = pa.table(
        {
            "source_system": records.source_system[mapped],
            "source_record_type": records.source_record_type[mapped],
            "source_id": records.source_id[mapped],
            "profile_id": profile_id,
            "match_type": match_type,
            "matched_on": matched_on,
            "confidence": confidence,
            "first_linked_at": pa.array(first_linked, pa.timestamp("us")).cast(pa.timestamp("us", tz="UTC")),
            "updated_at": pa.array(updated, pa.timestamp("us")).cast(pa.timestamp("us", tz="UTC")),
        },
        schema=PROFILE_MAP_SCHEMA,
    )
    changes = _changes_table(records, mapped, assignment, run_at)
    record_changes = pa.concat_tables(
        [
            _moved_records(profile_map, old["profile_id"][mapped], updated == now, run_at),
            _removed_records(previous, keys[mapped], run_at),
        ]
    )
    kinds = Counter(c.change_type for c in assignment.changes)
    shared = _shared_values_table(graph, links.shared_ips, config, run_at)
    summary = IdentityRunSummary(
        records=records.count,
        profiles=len(groups),
        deterministic_links=int((~probabilistic).sum()),
        probabilistic_links=int(probabilistic.sum()),
        unlinked_anonymous_records=int(records.count - len(mapped)),
        created=len(assignment.created),
        merges=kinds["merged"],
        splits=kinds["split"],
        invalid_phones=graph.invalid_phones,
        candidate_pairs=links.candidate_pairs,
        shared_values=shared.num_rows,
    )
    return Resolution(profile_map, changes, record_changes, summary, links, shared)


def _profile_of_component(graph: DeterministicGraph, links: ProbabilisticLinks) -> np.ndarray:
    """component -> its profile (the smallest component of its group), -1 for anonymous ones linked to none.

    A profile is a known component with the visitors linked to it, transitively: a visitor identified on
    the website is a known component itself.
    """
    n = graph.component_count
    links_graph = coo_matrix(
        (
            np.ones(len(links.visitor_component), dtype=np.int8),
            (links.visitor_component, links.known_component),
        ),
        shape=(n, n),
    )
    group = connected_components(links_graph, directed=False)[1]
    smallest = np.full(n, n, dtype=np.int64)
    np.minimum.at(smallest, group, np.arange(n))
    with_known = np.zeros(n, dtype=bool)
    with_known[group[graph.known_component]] = True
    return np.where(with_known[group], smallest[group], -1)


def value_hash(value: str) -> str:
    """SHA-256 of a normalised identifier: the table shows which value is shared without showing it."""
    return hashlib.sha256(value.encode()).hexdigest()


def _shared_values_table(
    graph: DeterministicGraph, crowds: list[tuple[str, int]], config: IdentityConfig, run_at: datetime
) -> pa.Table:
    """identity.shared_values: values seen with too many people, and the values config blocks."""
    rows = [
        (
            kind,
            value_hash(value),
            people,
            f"seen with {people} people (limit {config.shared_value_limits[kind]})",
        )
        for kind, value, people in graph.shared_values
    ]
    blocked = [("email", e) for e in config.ignored_emails] + [("phone", p) for p in config.ignored_phones]
    rows += [(kind, value_hash(value), None, "blocked in config/identity.yml") for kind, value in blocked]
    limit = config.probabilistic.max_people_per_ip
    rows += [
        (
            "ip",
            value_hash(ip),
            people,
            f"{people} people behind it: weak evidence"
            if people <= limit
            else f"{people} people behind it (limit {limit}): no evidence",
        )
        for ip, people in crowds
    ]
    return pa.table(
        {
            "value_type": [r[0] for r in rows],
            "value_hash": [r[1] for r in rows],
            "people": [r[2] for r in rows],
            "why": [r[3] for r in rows],
            "run_at": pa.array([run_at] * len(rows), pa.timestamp("us", tz="UTC")),
        },
        schema=SHARED_VALUES_SCHEMA,
    )


def _moved_records(
    profile_map: pa.Table, previous_ids: np.ndarray, changed: np.ndarray, run_at: datetime
) -> pa.Table:
    """identity.record_changes rows of the records this run linked anew or whose row changed."""
    rows = profile_map.filter(pa.array(changed))
    return pa.table(
        {
            "source_system": rows.column("source_system"),
            "source_record_type": rows.column("source_record_type"),
            "source_id": rows.column("source_id"),
            "profile_id": rows.column("profile_id"),
            "previous_profile_id": pa.array(previous_ids[changed], pa.string()),
            "run_at": pa.array([run_at] * rows.num_rows, pa.timestamp("us", tz="UTC")),
        },
        schema=RECORD_CHANGES_SCHEMA,
    )


def _removed_records(previous: pa.Table | None, kept_keys: np.ndarray, run_at: datetime) -> pa.Table:
    """identity.record_changes rows of the records the previous map had and this one has not."""
    if previous is None or previous.num_rows == 0:
        return RECORD_CHANGES_SCHEMA.empty_table()
    gone = previous.filter(
        pc.invert(pc.is_in(_record_keys(previous), value_set=pa.array(kept_keys, pa.string())))
    )
    return pa.table(
        {
            "source_system": gone.column("source_system"),
            "source_record_type": gone.column("source_record_type"),
            "source_id": gone.column("source_id"),
            "profile_id": pa.nulls(gone.num_rows, pa.string()),
            "previous_profile_id": gone.column("profile_id"),
            "run_at": pa.array([run_at] * gone.num_rows, pa.timestamp("us", tz="UTC")),
        },
        schema=RECORD_CHANGES_SCHEMA,
    )


def _changes_table(
    records: Records, mapped: np.ndarray, assignment: Assignment, run_at: datetime
) -> pa.Table:
    """identity.profile_changes rows: one per new profile, merge and split."""
    created = assignment.created
    logged = assignment.changes
    shown = mapped[
        np.concatenate([assignment.representative[created], [c.record for c in logged]]).astype(np.int64)
    ]
    count = len(shown)
    return pa.table(
        {
            "change_type": ["created"] * len(created) + [c.change_type for c in logged],
            "profile_id": list(assignment.ids[created]) + [c.profile_id for c in logged],
            "other_profile_id": [None] * len(created) + [c.other_profile_id for c in logged],
            "source_system": records.source_system[shown],
            "source_record_type": records.source_record_type[shown],
            "source_id": records.source_id[shown],
            "run_at": pa.array([run_at] * count, pa.timestamp("us", tz="UTC")),
            "detail": ["{}"] * len(created) + [detail_text(c) for c in logged],
        },
        schema=PROFILE_CHANGES_SCHEMA,
    )
