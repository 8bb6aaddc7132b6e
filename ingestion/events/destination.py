"""Ask the pipeline's destination which messages a table already holds."""

import dlt
import duckdb
import pyarrow as pa
from dlt.destinations.exceptions import DatabaseUndefinedRelation

EMPTY_IDS = pa.table({"message_id": pa.array([], pa.string())})


def loaded_message_ids(pipeline: dlt.Pipeline | None, table_name: str) -> pa.Table:
    """message_id of every row of `table_name` in the pipeline's dataset (none if no table yet)."""
    if pipeline is None or pipeline.destination is None:
        return EMPTY_IDS
    try:
        with pipeline.sql_client() as client:
            query = f"SELECT message_id FROM {client.make_qualified_table_name(table_name)}"
            native = client.native_connection
            # DuckDB hands the column over as Arrow; other destinations go through Python rows.
            if isinstance(native, duckdb.DuckDBPyConnection):
                return native.sql(query).to_arrow_table()
            with client.execute_query(query) as cursor:
                return pa.table({"message_id": pa.array([row[0] for row in cursor.fetchall()], pa.string())})
    except (DatabaseUndefinedRelation, duckdb.CatalogException):
        return EMPTY_IDS
