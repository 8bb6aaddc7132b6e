"""Stable profile ids: a person keeps the id its records had, through merges and splits, across runs."""

import hashlib
import json
import uuid
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from identity.records import distinct_counts

PROFILE_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/revloop/revloop/profile")


@dataclass
class Change:
    """One entry of identity.profile_changes."""

    change_type: str  # created | merged | split
    profile_id: str
    other_profile_id: str | None
    record: int  # a record index that shows the change
    detail: dict


_NAMESPACE_BYTES = PROFILE_NAMESPACE.bytes


def new_profile_id(member_key: str, attempt: int = 0) -> str:
    """The id a new person gets: derived from its smallest record key, so reruns give the same id.

    It is uuid.uuid5(PROFILE_NAMESPACE, key) computed without building UUID objects (a million a run).
    """
    name = member_key if attempt == 0 else f"{member_key}#{attempt}"
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + name.encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
# where the 32 hex digits go in the 36 characters of a UUID's text
_DIGIT_AT = np.array([i for i in range(36) if i not in (8, 13, 18, 23)])


def new_profile_ids(member_keys: np.ndarray) -> np.ndarray:
    """new_profile_id of each key (first attempt), hashed one by one and formatted in bulk."""
    if not len(member_keys):
        return np.zeros(0, dtype=object)
    digests = b"".join(hashlib.sha1(_NAMESPACE_BYTES + str(k).encode()).digest()[:16] for k in member_keys)
    raw = np.frombuffer(digests, dtype=np.uint8).reshape(-1, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x50
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    text = np.full((len(raw), 36), ord("-"), dtype=np.uint8)
    text[:, _DIGIT_AT[0::2]] = _HEX[raw >> 4]
    text[:, _DIGIT_AT[1::2]] = _HEX[raw & 0x0F]
    return text.view("S36").ravel().astype("U36").astype(object)


@dataclass
class Assignment:
    """The id of every group, its representative record, the new groups and the merges and splits."""

    ids: np.ndarray  # per group
    representative: np.ndarray  # per group: its record with the smallest key
    created: np.ndarray  # groups that are new people
    changes: list[Change]  # merges and splits


def assign_profile_ids(
    keys: np.ndarray, group: np.ndarray, group_count: int, old_id: pa.Array, old_linked_at: np.ndarray
) -> Assignment:
    """An id per group and the changes against the ids the records had before.

    keys (record key text), group, old_id (null when new) and old_linked_at (datetime64, NaT when new)
    are per record. Each old id goes to at most one group: the one holding most of its records (ties:
    the group whose smallest record key is smaller). A group holding several old ids keeps the one with
    most of its records (ties: the oldest, then the smaller id); the others merged into it, or split
    from it when they live on elsewhere. Other groups get a new id derived from their smallest key.
    """
    n = len(keys)
    key_rank = np.empty(n, dtype=np.int64)
    key_rank[pc.sort_indices(pa.array(keys, pa.string())).to_numpy()] = np.arange(n)
    never = np.iinfo(np.int64).max
    smallest = np.full(group_count, never, dtype=np.int64)
    np.minimum.at(smallest, group, key_rank)
    record_of_rank = np.empty(n, dtype=np.int64)
    record_of_rank[key_rank] = np.arange(n)
    representative = record_of_rank[smallest] if n else np.zeros(0, np.int64)
    group_rank = np.argsort(np.argsort(smallest, kind="stable"), kind="stable")

    encoded = pc.dictionary_encode(old_id) if len(old_id) else None
    has_old = (
        np.flatnonzero(pc.is_valid(encoded.indices).to_numpy(zero_copy_only=False))
        if encoded is not None
        else np.zeros(0, np.int64)
    )
    olds = encoded.dictionary.to_numpy(zero_copy_only=False) if encoded is not None else np.zeros(0, object)
    width = max(len(olds), 1)
    old_index = (
        encoded.indices.take(pa.array(has_old)).to_numpy().astype(np.int64) if len(has_old) else has_old
    )
    name_rank = np.empty(len(olds), dtype=np.int64)
    name_rank[pc.sort_indices(pa.array(olds, pa.string())).to_numpy()] = np.arange(len(olds))
    stamps = old_linked_at[has_old].astype("datetime64[us]")
    stamps = np.where(np.isnat(stamps), never, stamps.view(np.int64))
    oldest = np.full(len(olds), never, dtype=np.int64)
    np.minimum.at(oldest, old_index, stamps)
    pair, count = distinct_counts(group[has_old] * width + old_index)
    pair_group, pair_old = pair // width, pair % width
    # the record with the smallest key of each (group, old id), to show in the audit log
    pair_record = np.full(len(pair), never, dtype=np.int64)
    np.minimum.at(pair_record, np.searchsorted(pair, group[has_old] * width + old_index), key_rank[has_old])
    pair_record = record_of_rank[np.minimum(pair_record, max(n - 1, 0))] if len(pair) else pair_record

    ids = np.full(group_count, None, dtype=object)
    holder: dict[int, int] = {}  # old id -> group that keeps it
    for i in np.lexsort((group_rank[pair_group], name_rank[pair_old], oldest[pair_old], -count)):
        g, old = int(pair_group[i]), int(pair_old[i])
        if ids[g] is None and old not in holder:
            ids[g] = olds[old]
            holder[old] = g

    taken = set(olds.tolist())
    fresh = np.flatnonzero(ids == None)  # noqa: E711 (element-wise)
    ids[fresh] = new_profile_ids(keys[representative[fresh]])
    taken.update(ids[fresh].tolist())
    for g in fresh[np.isin(ids[fresh], olds)]:
        # an old id still in use elsewhere: derive another, still deterministic
        key, attempt, candidate = str(keys[representative[g]]), 0, ids[g]
        while candidate in taken:
            attempt += 1
            candidate = new_profile_id(key, attempt)
        ids[g] = candidate
        taken.add(candidate)

    changes: list[Change] = []
    with_old = np.zeros(group_count, dtype=bool)
    with_old[pair_group] = True
    for g in fresh[with_old[fresh]]:  # its records belonged to profiles that live on elsewhere
        members = np.flatnonzero(pair_group == g)
        biggest = members[np.argmax(count[members])]
        changes.append(
            Change(
                "split",
                ids[g],
                olds[pair_old[biggest]],
                int(representative[g]),
                {"records_moved": int(count[members].sum())},
            )
        )
    kept = np.zeros(group_count, dtype=bool)
    kept[list(holder.values())] = True
    for i in np.flatnonzero(kept[pair_group] & (ids[pair_group] != olds[pair_old])):
        g, old = int(pair_group[i]), int(pair_old[i])
        # the other id lives on in another group (records moved: a split) or is retired (a merge)
        kind = "split" if old in holder else "merged"
        changes.append(Change(kind, ids[g], olds[old], int(pair_record[i]), {"records_moved": int(count[i])}))
    return Assignment(ids, representative, fresh[~with_old[fresh]], changes)


def detail_text(change: Change) -> str:
    """The change's detail as JSON text."""
    return json.dumps(change.detail, sort_keys=True)
