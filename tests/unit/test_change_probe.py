"""The change probes: baselines, what counts as a change, and errors that skip instead of crashing."""

import os
from pathlib import Path

import pytest
from simple_salesforce.exceptions import SalesforceError

from ingestion import change_probe
from ingestion.change_probe import NOTHING_YET, ProbeResult, probe_event_files, probe_salesforce


class FakeSalesforce:
    """Answers SOQL from a table of newest SystemModstamps per sObject, like queryAll would."""

    def __init__(self, newest: dict[str, str | None], failing: dict[str, SalesforceError] | None = None):
        self.newest = newest
        self.failing = failing or {}
        self.queries: list[tuple[str, bool]] = []

    def query(self, soql: str, include_deleted: bool = False) -> dict:
        self.queries.append((soql, include_deleted))
        name = soql.split(" FROM ")[1].split()[0]
        if name in self.failing:
            raise self.failing[name]
        stamp = self.newest.get(name)
        return {"records": [{"Id": "x", "SystemModstamp": stamp}] if stamp else [], "done": True}


def _error(status: int, code: str) -> SalesforceError:
    return SalesforceError("https://org/services/data/v54.0/queryAll/", status, "query", [
        {"errorCode": code, "message": "no"}
    ])


def test_a_first_salesforce_probe_records_a_baseline_without_changes():
    sf = FakeSalesforce({"Lead": "2026-11-27T10:00:00.000+0000", "Contact": None})
    result = probe_salesforce(sf, ["Lead", "Contact"], {})
    assert result.changed == []
    assert result.markers == {"Lead": "2026-11-27T10:00:00+00:00", "Contact": NOTHING_YET}
    soql, include_deleted = sf.queries[0]
    assert soql == "SELECT Id, SystemModstamp FROM Lead ORDER BY SystemModstamp DESC LIMIT 1"
    assert include_deleted, "queryAll, so that deletions count as changes"


def test_a_newer_modstamp_is_a_change_and_the_query_starts_after_the_cursor():
    cursor = {"Lead": "2026-11-27T10:00:00.250000+00:00", "Contact": "2026-11-27T09:00:00+00:00"}
    sf = FakeSalesforce({"Lead": "2026-11-27T10:00:00.750+0000", "Contact": None})
    result = probe_salesforce(sf, ["Lead", "Contact"], cursor)
    assert result.changed == ["Lead"]
    assert result.cursor(cursor) == {"Lead": "2026-11-27T10:00:00.750000+00:00",
                                     "Contact": "2026-11-27T09:00:00+00:00"}
    # SOQL literals carry whole seconds: the query re-reads the cursor's second, the comparison is exact.
    where = "WHERE SystemModstamp > 2026-11-27T10:00:00Z ORDER BY SystemModstamp DESC LIMIT 1"
    assert where in sf.queries[0][0]


def test_the_record_at_the_cursor_itself_is_not_a_change():
    cursor = {"Lead": "2026-11-27T10:00:00.750000+00:00"}
    result = probe_salesforce(FakeSalesforce({"Lead": "2026-11-27T10:00:00.750+0000"}), ["Lead"], cursor)
    assert result.changed == []
    assert result.cursor(cursor) == cursor


@pytest.mark.parametrize(("status", "code", "reason"), [
    (401, "INVALID_SESSION_ID", "rejected the credentials"),
    (403, "REQUEST_LIMIT_EXCEEDED", "API request limit"),
    (503, "SERVER_UNAVAILABLE", "HTTP 503"),
])
def test_a_failing_object_is_skipped_with_the_reason_and_keeps_its_cursor(status, code, reason):
    cursor = {"Lead": "2026-11-27T10:00:00+00:00", "Contact": "2026-11-27T09:00:00+00:00"}
    sf = FakeSalesforce({"Contact": "2026-11-27T11:00:00.000+0000"}, failing={"Lead": _error(status, code)})
    result = probe_salesforce(sf, ["Lead", "Contact"], cursor)
    assert reason in result.skipped["Lead"]
    assert result.changed == ["Contact"]
    assert result.cursor(cursor)["Lead"] == cursor["Lead"]


def test_an_unreadable_cursor_value_starts_that_object_again_from_a_baseline():
    sf = FakeSalesforce({"Lead": "2026-11-27T10:00:00.000+0000"})
    result = probe_salesforce(sf, ["Lead"], {"Lead": "not a time"})
    assert "WHERE" not in sf.queries[0][0]
    assert result.changed == []
    assert result.markers == {"Lead": "2026-11-27T10:00:00+00:00"}


def _write(path: Path, text: str, mtime_ns: int | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))


def test_event_files_added_grown_or_removed_are_changes_of_their_channel_only(tmp_path):
    _write(tmp_path / "website" / "a.jsonl", "{}\n", 1_000)
    _write(tmp_path / "email" / "a.jsonl.gz", "x", 1_000)
    baseline = probe_event_files(tmp_path, {})
    assert baseline.changed == []
    assert set(baseline.markers) == {"website", "email", "social", "ads", "offline"}
    cursor = baseline.cursor({})

    assert probe_event_files(tmp_path, cursor).changed == []
    _write(tmp_path / "website" / "a.jsonl", "{}\n{}\n", 1_000)  # grown, same mtime
    _write(tmp_path / "social" / "b.jsonl", "{}\n")  # a channel that had no file yet
    grown = probe_event_files(tmp_path, cursor)
    assert grown.changed == ["website", "social"]
    cursor = grown.cursor(cursor)
    (tmp_path / "email" / "a.jsonl.gz").unlink()
    assert probe_event_files(tmp_path, cursor).changed == ["email"]


def test_files_the_events_source_ignores_do_not_count(tmp_path):
    cursor = probe_event_files(tmp_path, {}).cursor({})
    _write(tmp_path / "website" / ".a.jsonl.tmp", "{}\n")  # a writer's temp file
    _write(tmp_path / "website" / ".b.jsonl", "{}\n")  # hidden
    _write(tmp_path / "website" / "notes.txt", "hello")
    assert probe_event_files(tmp_path, cursor).changed == []


def test_an_unlistable_channel_is_skipped_with_the_reason_and_keeps_its_cursor(tmp_path, monkeypatch):
    def denied(channel_dir: Path) -> list[Path]:
        raise PermissionError(13, "Permission denied", str(channel_dir))

    monkeypatch.setattr(change_probe, "event_files", denied)
    result = change_probe.probe_event_files(tmp_path, {"website": "abc"}, channels=["website"])
    assert result.changed == []
    assert "Permission denied" in result.skipped["website"]
    assert result.cursor({"website": "abc"}) == {"website": "abc"}


def test_probe_results_merge_into_the_previous_cursor():
    result = ProbeResult(markers={"a": "2"}, changed=["a"], skipped={"b": "down"})
    assert result.cursor({"a": "1", "b": "1", "c": "1"}) == {"a": "2", "b": "1", "c": "1"}


def test_a_record_with_an_unreadable_modstamp_is_skipped_not_a_crash():
    result = probe_salesforce(FakeSalesforce({"Lead": "yesterday"}), ["Lead"], {})
    assert result.skipped == {"Lead": "Salesforce Lead SystemModstamp 'yesterday' is not a time"}
    assert result.markers == {}
