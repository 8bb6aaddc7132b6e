"""Keyset paging of the CRM search: every record is read, whatever the timestamps and the cap look like."""

import copy
from datetime import UTC, datetime, timedelta

import pytest

from ingestion.hubspot.client import SearchPage, search_modified_since
from ingestion.hubspot.records import epoch_ms

T0 = datetime(2026, 1, 1, tzinfo=UTC)
LM = "lastmodifieddate"


class FakeSearch:
    """An in-memory first page of HubSpot search: filters, one ascending sort, a result cap, a total."""

    def __init__(self, records: list[dict], server_cap: int = 10_000) -> None:
        self.records = records
        self.server_cap = server_cap
        self.calls: list[tuple[list[dict], str, int]] = []
        self.after_each_call = lambda: None

    def __call__(self, filters, sort_property, limit) -> SearchPage:
        self.calls.append((filters, sort_property, limit))
        matches = [r for r in self.records if all(self._matches(r, f) for f in filters)]
        matches.sort(key=lambda r: (self._number(r, sort_property), int(r["id"])))
        results = copy.deepcopy(matches[:min(limit, self.server_cap)])
        self.after_each_call()
        return SearchPage(results, len(matches) > len(results))

    @staticmethod
    def _number(record: dict, name: str) -> int:
        return int(record["properties"][name])

    def _matches(self, record: dict, spec: dict) -> bool:
        value, target = self._number(record, spec["propertyName"]), int(spec["value"])
        return {"GTE": value >= target, "GT": value > target, "EQ": value == target}[spec["operator"]]


def _records(moments: list[datetime]) -> list[dict]:
    return [
        {"id": str(1000 + i), "properties": {LM: str(epoch_ms(m)), "hs_object_id": str(1000 + i)}}
        for i, m in enumerate(moments)
    ]


def _read(search: FakeSearch, since=None, page_size=20) -> list[str]:
    pages = search_modified_since(search, LM, since, page_size=page_size)
    return [record["id"] for page in pages for record in page]


def test_every_record_is_read_with_only_the_boundary_read_twice():
    records = _records([T0 + timedelta(seconds=i) for i in range(437)])
    search = FakeSearch(records)
    ids = _read(search)
    assert set(ids) == {r["id"] for r in records}
    # Each page after the first starts at the previous page's last time: one record read again.
    assert len(ids) == 437 + len(search.calls) - 1
    assert all(limit == 20 for _, _, limit in search.calls)


def test_a_server_cap_below_the_page_size_is_crossed_by_moving_the_bound():
    records = _records([T0 + timedelta(seconds=i) for i in range(300)])
    search = FakeSearch(records, server_cap=50)
    assert set(_read(search, page_size=200)) == {r["id"] for r in records}


def test_more_records_than_a_page_sharing_one_timestamp_are_walked_by_id():
    moments = [T0] * 5 + [T0 + timedelta(minutes=1)] * 75 + [T0 + timedelta(minutes=2)] * 7
    records = _records(moments)
    search = FakeSearch(records)
    assert set(_read(search)) == {r["id"] for r in records}
    # The crowded instant is read by id, each page after the last id read, then the scan goes on after it.
    walk = [(f, sort) for f, sort, _ in search.calls if f and f[0]["operator"] == "EQ"]
    assert [sort for _, sort in walk] == ["hs_object_id"] * 4
    assert [[x["operator"] for x in f] for f, _ in walk] == [["EQ"], ["EQ", "GT"], ["EQ", "GT"], ["EQ", "GT"]]
    after_walk = search.calls[search.calls.index((walk[-1][0], "hs_object_id", 20)) + 1][0]
    crowded = str(epoch_ms(T0 + timedelta(minutes=1)))
    assert after_walk == [{"propertyName": LM, "operator": "GT", "value": crowded}]


def test_everything_at_one_timestamp_from_the_first_run():
    records = _records([T0] * 130)
    search = FakeSearch(records, server_cap=50)
    assert set(_read(search)) == {r["id"] for r in records}


def test_a_record_edited_during_the_scan_hides_no_other():
    records = _records([T0 + timedelta(seconds=i) for i in range(100)])
    search = FakeSearch(records)

    def edit_an_early_record():
        # What an offset would not survive: an already-read record jumps to the end of the order.
        if len(search.calls) == 1:
            records[3]["properties"][LM] = str(epoch_ms(T0 + timedelta(hours=1)))

    search.after_each_call = edit_an_early_record
    ids = _read(search)
    assert set(ids) == {r["id"] for r in records}
    assert ids.count("1003") == 2  # read before and after its edit


def test_since_reads_only_later_modifications_inclusive():
    records = _records([T0 + timedelta(seconds=i) for i in range(100)])
    search = FakeSearch(records)
    ids = _read(search, since=T0 + timedelta(seconds=90))
    assert set(ids) == {str(1000 + i) for i in range(90, 100)}
    first_filters = search.calls[0][0]
    assert first_filters == [{"propertyName": LM, "operator": "GTE", "value": str(epoch_ms(T0) + 90_000)}]


def test_no_matches_means_one_request_and_no_pages():
    search = FakeSearch([])
    assert _read(search) == []
    assert len(search.calls) == 1


def test_a_page_without_readable_timestamps_fails_loudly():
    records = [{"id": str(i), "properties": {LM: "garbage"}} for i in range(60)]

    def search(filters, sort_property, limit):
        return SearchPage(records[:limit], True)

    with pytest.raises(RuntimeError, match="modification time"):
        list(search_modified_since(search, LM, None, page_size=50))
