"""Deterministic identity: the keys each record carries, and the connected components they form."""

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from identity.phones import is_international, region_of_country, region_of_e164, to_e164, to_e164_many
from identity.records import CRM_SYSTEMS, Records, distinct

# key type -> bit of a record's matched_on mask; the order is the order of names in matched_on
KEY_TYPES = ("email", "phone", "customer_id", "anonymous_id", "crm_id")
BITS = {name: 1 << i for i, name in enumerate(KEY_TYPES)}
# keys that say who a person is; an anonymousId alone does not
IDENTIFYING = BITS["email"] | BITS["phone"] | BITS["customer_id"] | BITS["crm_id"]
# keys that count people: a value of a limited key type seen with records of several of them is shared
PERSON_KEYS = BITS["email"] | BITS["customer_id"]
PREFIX_TYPES = {
    "e:": "email",
    "p:": "phone",
    "u:": "customer_id",
    "a:": "anonymous_id",
    "sfc:": "crm_id",
    "hsc:": "crm_id",
}


@dataclass
class DeterministicGraph:
    """Components of the record-key graph and what each record shares with the rest of its component."""

    component: np.ndarray  # record -> component
    component_count: int
    shared_mask: np.ndarray  # record -> bits of key types it shares with another record
    identified: np.ndarray  # record -> carries an identifying key or is a CRM record
    known_component: np.ndarray  # component -> has an identified record
    invalid_phones: int
    shared_values: list[tuple[str, str, int]] = field(default_factory=list)  # (type, value, people)
    # the e-mails and customer ids each record carries (record, key index, key type bit): evidence against
    # linking components whose values differ
    person_keys: tuple[np.ndarray, np.ndarray, np.ndarray] = field(
        default_factory=lambda: (np.zeros(0, np.int64),) * 3
    )


def matched_on_text(mask: int) -> str:
    """'email+phone' for a mask of key-type bits."""
    return "+".join(name for name in KEY_TYPES if mask & BITS[name])


def _normalised_phones(records: Records, default_region: str, ignored: set[str]) -> tuple[np.ndarray, int]:
    """E.164 per row (None when absent or unreadable) and the count of unreadable numbers.

    A national number is read in the region of its row's country, else of the country its record states
    on another row (an identify call's address), else of the record's international numbers, else in the
    default region.
    """
    rows = records.rows
    phones = np.full(rows.num_rows, None, dtype=object)
    has = np.flatnonzero(pc.is_valid(rows.column("phone_raw")).to_numpy(zero_copy_only=False))
    if not len(has):
        return phones, 0
    countries = pc.dictionary_encode(rows.column("country")).combine_chunks()
    region_of_code = np.array(
        [region_of_country(c) for c in countries.dictionary.to_pylist()] + [None], object
    )
    row_region = region_of_code[
        countries.indices.fill_null(len(countries.dictionary)).to_numpy(zero_copy_only=False)
    ]
    record_region = np.full(records.count, None, dtype=object)
    stated = np.flatnonzero(row_region != None)  # noqa: E711 (element-wise)
    record_region[records.row_record[stated]] = row_region[stated]
    raw = rows.column("phone_raw").take(pa.array(has)).to_numpy(zero_copy_only=False)
    record = records.row_record[has]
    region = row_region[has]
    unknown = np.flatnonzero(region == None)  # noqa: E711
    region[unknown] = record_region[record[unknown]]
    unknown = np.flatnonzero(region == None)  # noqa: E711
    if len(unknown):
        from_numbers: dict[int, str] = {}
        for i in unknown:
            if is_international(raw[i]):
                e164 = to_e164(raw[i], default_region)
                found = region_of_e164(e164) if e164 else None
                if found:
                    from_numbers.setdefault(int(record[i]), found)
        region[unknown] = [from_numbers.get(int(record[i]), default_region) for i in unknown]
    normalised = to_e164_many(raw, region)
    invalid = int((normalised == None).sum())  # noqa: E711
    if ignored:
        normalised[np.isin(normalised.astype(str), list(ignored))] = None
    phones[has] = normalised
    return phones, invalid


def _edges(records: Records, default_region: str, ignored_emails: set[str], ignored_phones: set[str]):
    """(record, key index, key count, key type bit, unreadable phones) of every identifier of every row."""
    rows = records.rows
    phones, invalid = _normalised_phones(records, default_region, ignored_phones)
    nothing = pa.scalar(None, pa.string())
    email = pc.utf8_lower(pc.utf8_trim_whitespace(rows.column("email")))
    email = pc.if_else(pc.match_substring(email, "@"), email, nothing)
    if ignored_emails:
        email = pc.if_else(pc.is_in(email, pa.array(sorted(ignored_emails))), nothing, email)
    parts = [
        ("email", "e:", email),
        ("phone", "p:", pa.array(phones, pa.string())),
        ("customer_id", "u:", rows.column("customer_id")),
        ("anonymous_id", "a:", rows.column("anonymous_id")),
        ("crm_id", "sfc:", rows.column("salesforce_contact_id")),
        ("crm_id", "hsc:", rows.column("hubspot_contact_id")),
    ]
    record_parts, key_parts, bit_parts = [], [], []
    for name, prefix, values in parts:
        values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
        present = np.flatnonzero(pc.is_valid(values).to_numpy(zero_copy_only=False))
        record_parts.append(records.row_record[present])
        # the prefix keeps key types apart: an e-mail and a userId that happen to be equal are not one key
        key_parts.append(pc.binary_join_element_wise(pa.scalar(prefix), values.take(pa.array(present)), ""))
        bit_parts.append(np.full(len(present), BITS[name], dtype=np.int64))
    keys = pc.dictionary_encode(pa.chunked_array(key_parts, pa.string()).combine_chunks())
    key_index = keys.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    return np.concatenate(record_parts), key_index, keys.dictionary, np.concatenate(bit_parts), invalid


def _components(n: int, record: np.ndarray, key: np.ndarray, key_count: int) -> np.ndarray:
    """Connected component of each record in the graph of records and the given (record, key) edges."""
    graph = coo_matrix(
        (np.ones(len(record), dtype=np.int8), (record, n + key)), shape=(n + key_count, n + key_count)
    )
    return connected_components(graph, directed=False)[1][:n]


def _shared_keys(
    n: int, record: np.ndarray, key: np.ndarray, bit_of_key: np.ndarray, limits: dict[str, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Keys of limited types seen with more people than their limit, and how many people each is seen with.

    People are the components of the graph without the limited key types that hold an e-mail or customer
    id: two records whose e-mails (or userIds) no other identifier ties together are two people, so a
    phone on both is a switchboard and an anonymousId on both a shared computer.
    """
    key_count = len(bit_of_key)
    limited = np.zeros(key_count, dtype=bool)
    limit_of_key = np.zeros(key_count, dtype=np.int64)
    for name, limit in limits.items():
        of_type = bit_of_key == BITS[name]
        limited |= of_type
        limit_of_key[of_type] = limit
    if not limited.any():
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    strong = ~limited[key]
    component = _components(n, record[strong], key[strong], key_count)
    counted = np.zeros(n, dtype=bool)
    counted[record[strong & ((bit_of_key[key] & PERSON_KEYS) != 0)]] = True
    edge = limited[key] & counted[record]
    pair = distinct(key[edge] * n + component[record[edge]])
    people = np.bincount(pair // n, minlength=key_count)
    shared = np.flatnonzero(limited & (people > limit_of_key))
    return shared, people[shared]


def deterministic_graph(
    records: Records,
    default_region: str,
    ignored_emails: frozenset[str] = frozenset(),
    ignored_phones: frozenset[str] = frozenset(),
    shared_value_limits: dict[str, int] | None = None,
) -> DeterministicGraph:
    """Records sharing any key are one person, transitively: connected components of records and keys.

    A value of a type in `shared_value_limits` seen with more people than its limit is shared: it links
    nothing (and is listed in shared_values).
    """
    n = records.count
    record, key, dictionary, bit, invalid = _edges(
        records, default_region, set(ignored_emails), set(ignored_phones)
    )
    key_count = len(dictionary)
    bit_of_key = np.zeros(key_count, dtype=np.int64)
    bit_of_key[key] = bit  # a key's prefix gives it exactly one type
    pair = distinct(record * key_count + key)
    record, key = pair // key_count, pair % key_count
    shared, people = _shared_keys(n, record, key, bit_of_key, shared_value_limits or {})
    shared_values = []
    if len(shared):
        texts = dictionary.take(pa.array(shared)).to_pylist()
        for text, count in zip(texts, people.tolist(), strict=True):
            prefix, value = text.split(":", 1)
            shared_values.append((PREFIX_TYPES[prefix + ":"], value, count))
        linking = ~np.isin(key, shared)
        record, key = record[linking], key[linking]
    component = np.unique(_components(n, record, key, key_count), return_inverse=True)[1]
    component_count = int(component.max()) + 1 if n else 0
    # a record "matched on" the key types it shares with at least one other record
    records_per_key = np.bincount(key, minlength=key_count)
    shared = records_per_key[key] >= 2
    shared_mask = np.zeros(n, dtype=np.int64)
    np.bitwise_or.at(shared_mask, record[shared], bit_of_key[key[shared]])
    own_mask = np.zeros(n, dtype=np.int64)
    np.bitwise_or.at(own_mask, record, bit_of_key[key])
    identified = ((own_mask & IDENTIFYING) != 0) | np.isin(records.source_system, CRM_SYSTEMS)
    known_component = np.zeros(component_count, dtype=bool)
    known_component[component[identified]] = True
    person = (bit_of_key[key] & PERSON_KEYS) != 0
    return DeterministicGraph(
        component,
        component_count,
        shared_mask,
        identified,
        known_component,
        invalid,
        shared_values,
        (record[person], key[person], bit_of_key[key[person]]),
    )
