"""Row counts and Markdown samples attached to table assets: secrets stay out, missing tables are skipped."""

import duckdb
import pytest

from orchestration.table_metadata import SAMPLE_ROWS, sample_markdown, warehouse_tables_metadata


def make_warehouse(path):
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.people as select i as profile_id, 'p' || i || '@x.io' as email, "
            "'tok-' || i as access_token, 'a|b' as note from range(12) t(i)"
        )
        con.execute("create table marts.empty (profile_id integer)")
    return path


def test_row_count_and_sample_without_secret_columns(tmp_path):
    warehouse = make_warehouse(tmp_path / "w.duckdb")

    found = warehouse_tables_metadata(warehouse, [("marts", "people"), ("marts", "missing")])

    assert set(found) == {("marts", "people")}
    metadata = found[("marts", "people")]
    assert metadata["dagster/row_count"].value == 12
    sample = metadata["sample"].value
    assert "access_token" not in sample and "tok-" not in sample
    assert "p0@x.io" not in sample and "p***@x.io" in sample and "a\\|b" in sample  # mask_pii is on
    assert len([line for line in sample.splitlines() if line.startswith("| ")]) == 1 + SAMPLE_ROWS


def test_empty_table_and_missing_warehouse(tmp_path):
    warehouse = make_warehouse(tmp_path / "w.duckdb")

    found = warehouse_tables_metadata(warehouse, [("marts", "empty")])

    assert found[("marts", "empty")]["dagster/row_count"].value == 0
    assert "_empty_" in found[("marts", "empty")]["sample"].value
    assert warehouse_tables_metadata(tmp_path / "none.duckdb", [("marts", "people")]) == {}


def test_sample_markdown_cuts_long_cells_and_counts_hidden_columns():
    text = sample_markdown(["a"], [("x" * 100,)], hidden=3)

    assert "x" * 100 not in text and "…" in text
    assert "3 more column(s) not shown" in text


class FakeInvocation:
    """A dbt invocation's surface used by with_table_metadata: the manifest and a stream of events."""

    def __init__(self, events, error=None):
        self.events, self.error = events, error
        nodes = {"people": "table", "eph": "ephemeral"}
        self.manifest = {
            "nodes": {
                f"model.revloop.{name}": {"schema": "marts", "alias": name, "config": {"materialized": kind}}
                for name, kind in nodes.items()
            }
        }

    def stream(self):
        yield from self.events
        if self.error:
            raise self.error


def test_dbt_events_get_row_counts_after_the_build_and_failures_still_surface(tmp_path):
    from dagster import AssetCheckResult, Output

    from orchestration.defs.warehouse import with_table_metadata
    from orchestration.resources import WarehouseResource

    warehouse = WarehouseResource(path=str(make_warehouse(tmp_path / "w.duckdb")))
    people = Output(None, "marts_people", metadata={"unique_id": "model.revloop.people"})
    ephemeral = Output(None, "marts_eph", metadata={"unique_id": "model.revloop.eph"})
    check = AssetCheckResult(asset_key=["marts", "people"], passed=True, check_name="unique_profile_id")

    events = list(with_table_metadata(FakeInvocation([people, ephemeral, check]), warehouse))

    assert events[0].metadata["dagster/row_count"].value == 12
    assert "sample" in events[0].metadata and events[0].metadata["unique_id"].value == "model.revloop.people"
    assert "dagster/row_count" not in events[1].metadata
    assert events[2] is check

    failing = with_table_metadata(FakeInvocation([people], RuntimeError("dbt build failed")), warehouse)
    assert next(failing).metadata["dagster/row_count"].value == 12
    with pytest.raises(RuntimeError, match="dbt build failed"):
        next(failing)
