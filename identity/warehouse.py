"""Reading int_identity_records and the previous profile map, writing schema identity through dlt."""

import logging
from pathlib import Path

import dlt
import duckdb
import pyarrow as pa
from dlt.common.destination import TDestinationReferenceArg
from dlt.destinations.exceptions import DatabaseUndefinedRelation

from identity.records import COLUMNS
from identity.resolve import PROFILE_MAP_SCHEMA, Resolution
from revloop.warehouse import make_pipeline

PIPELINE_NAME = "identity"
DATASET_NAME = "identity"
RECORDS_SCHEMA = "intermediate"
RECORDS_TABLE = "int_identity_records"

log = logging.getLogger(__name__)


def identity_pipeline(warehouse: Path | None = None, destination: TDestinationReferenceArg | None = None):
    """The dlt pipeline that owns schema identity of the warehouse (or of `destination`)."""
    return make_pipeline(PIPELINE_NAME, DATASET_NAME, warehouse=warehouse, destination=destination)


def _query(pipeline: dlt.Pipeline, sql: str, columns: list[str]) -> pa.Table:
    with pipeline.sql_client() as client:
        native = client.native_connection
        if hasattr(native, "sql"):  # DuckDB: its own Arrow reader (dlt 1.31 calls one duckdb 2 renamed)
            try:
                table = native.sql(sql).to_arrow_table()
            except duckdb.CatalogException as exc:
                raise DatabaseUndefinedRelation(exc) from exc
        else:
            with client.execute_query(sql) as cursor:
                table = cursor.arrow()
    if table is None or table.num_rows == 0:
        return pa.table({name: pa.array([], pa.string()) for name in columns})
    return table


def read_records(pipeline: dlt.Pipeline) -> pa.Table:
    """intermediate.int_identity_records, as built by dbt (its columns in COLUMNS order)."""
    with pipeline.sql_client() as client:
        schema, table = (client.escape_column_name(name, False) for name in (RECORDS_SCHEMA, RECORDS_TABLE))
    relation = f"{schema}.{table}"
    try:
        table = _query(pipeline, f"select {', '.join(COLUMNS)} from {relation}", list(COLUMNS))
    except DatabaseUndefinedRelation as exc:
        raise RuntimeError(
            f"{RECORDS_SCHEMA}.{RECORDS_TABLE} does not exist: build it first "
            "(python -m revloop.dbt build --select +int_identity_records)"
        ) from exc
    # PostgreSQL rows reach Arrow as Python values: a column null in every row (no CRM configured, so no CRM
    # ids) comes back untyped, and text functions refuse it
    return pa.table(
        {
            name: col.cast(pa.string()) if pa.types.is_null(col.type) else col
            for name, col in zip(table.column_names, table.columns, strict=True)
        }
    )


def read_profile_map(pipeline: dlt.Pipeline) -> pa.Table | None:
    """The profile map of the previous run, or None before the first run."""
    names = PROFILE_MAP_SCHEMA.names
    with pipeline.sql_client() as client:
        relation = client.make_qualified_table_name("profile_map")
    try:
        table = _query(pipeline, f"select {', '.join(names)} from {relation}", names)
    except DatabaseUndefinedRelation:
        return None
    if table.num_rows == 0:
        return None
    return pa.table({name: table.column(name).cast(PROFILE_MAP_SCHEMA.field(name).type) for name in names})


def write_resolution(pipeline: dlt.Pipeline, resolution: Resolution) -> None:
    """Append this run's identity.profile_changes and identity.record_changes, then replace
    identity.profile_map and identity.shared_values. A kill between the two loads leaves changes logged
    for a map not yet written: the next run logs them again, so no change goes unlogged."""
    logged = {"profile_changes": resolution.changes, "record_changes": resolution.record_changes}
    appended = [
        dlt.resource(rows, name=name, write_disposition="append")
        for name, rows in logged.items()
        if rows.num_rows
    ]
    if appended:
        pipeline.run(appended)
    pipeline.run(
        [
            dlt.resource(resolution.profile_map, name="profile_map", write_disposition="replace"),
            dlt.resource(resolution.shared_values, name="shared_values", write_disposition="replace"),
        ]
    )
