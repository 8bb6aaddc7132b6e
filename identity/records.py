"""int_identity_records as columns: the record of every row, and per-record attributes."""

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

COLUMNS = (
    "source_system",
    "source_record_type",
    "source_id",
    "email",
    "phone_raw",
    "country",
    "customer_id",
    "anonymous_id",
    "salesforce_contact_id",
    "hubspot_contact_id",
    "device_id",
    "ip",
    "user_agent",
    "observed_at",
    "message_count",
    "page_paths",
    "active_hours",
)
CRM_SYSTEMS = ("salesforce", "hubspot")


def strings(table: pa.Table, column: str) -> np.ndarray:
    """A text column as a numpy object array (None for nulls)."""
    return table.column(column).to_numpy(zero_copy_only=False)


@dataclass
class Records:
    """The rows of int_identity_records grouped into records (system, type, id)."""

    rows: pa.Table
    row_record: np.ndarray  # row -> record index
    source_system: np.ndarray  # per record
    source_record_type: np.ndarray
    source_id: np.ndarray
    first_observed_at: np.ndarray  # per record, datetime64[us] (NaT when unknown)
    keys: np.ndarray  # per record, 'system\x1ftype\x1fid'

    @property
    def count(self) -> int:
        return len(self.source_id)

    def key(self, index: int) -> tuple[str, str, str]:
        return (self.source_system[index], self.source_record_type[index], self.source_id[index])

    def sort_keys(self) -> np.ndarray:
        """A text key per record ('system\x1ftype\x1fid') whose order is the order of (system, type, id)."""
        return self.keys


def group_records(rows: pa.Table) -> Records:
    """Index the rows by their record; rows without a source id are dropped (they identify nothing)."""
    missing = [c for c in COLUMNS if c not in rows.column_names]
    if missing:
        raise ValueError(f"int_identity_records lacks columns {missing}: rebuild it with dbt")
    rows = rows.filter(
        pc.and_(
            pc.is_valid(rows.column("source_id")),
            pc.and_(
                pc.is_valid(rows.column("source_system")), pc.is_valid(rows.column("source_record_type"))
            ),
        )
    )
    key = pc.binary_join_element_wise(
        rows.column("source_system"), rows.column("source_record_type"), rows.column("source_id"), "\x1f"
    )
    encoded = pc.dictionary_encode(key).combine_chunks()
    row_record = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    count = len(encoded.dictionary)
    first_row = np.full(count, len(row_record), dtype=np.int64)
    np.minimum.at(first_row, row_record, np.arange(len(row_record)))
    observed = pc.cast(rows.column("observed_at"), pa.timestamp("us", tz="UTC")).to_numpy()
    observed = observed.astype("datetime64[us]")
    never = np.iinfo(np.int64).max
    stamps = np.where(np.isnat(observed), never, observed.view(np.int64))
    earliest = np.full(count, never, dtype=np.int64)
    np.minimum.at(earliest, row_record, stamps)
    first_observed = np.where(earliest == never, np.iinfo(np.int64).min, earliest).view("datetime64[us]")
    take = pa.array(first_row)
    return Records(
        rows=rows,
        row_record=row_record,
        source_system=rows.column("source_system").take(take).to_numpy(zero_copy_only=False),
        source_record_type=rows.column("source_record_type").take(take).to_numpy(zero_copy_only=False),
        source_id=rows.column("source_id").take(take).to_numpy(zero_copy_only=False),
        first_observed_at=first_observed,
        keys=encoded.dictionary.to_numpy(zero_copy_only=False),
    )


def distinct(values: np.ndarray) -> np.ndarray:
    """Sorted distinct integers (numpy 2's hash-based np.unique is much slower on millions of int64)."""
    ordered = np.sort(values)
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]] if len(ordered) else ordered


def distinct_counts(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct integers and how often each occurs."""
    ordered = np.sort(values)
    if not len(ordered):
        return ordered, np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    return ordered[starts], np.diff(np.r_[starts, len(ordered)])
