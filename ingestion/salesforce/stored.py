"""What the running pipeline's destination already holds of a Salesforce object: its live record ids."""

import dlt
from dlt.destinations.exceptions import DatabaseUndefinedRelation


def stored_live_ids(table: str, deleted_table: str) -> set[str]:
    """Ids of the raw table's records not soft-deleted nor listed in deleted_table (empty if neither exists).

    Read from the destination of the pipeline that runs the source (the id reconciliation compares them
    with the org's ids); the load of the same run comes after, so this sees what earlier runs stored.
    """
    pipeline = dlt.current.pipeline()
    with pipeline.sql_client() as client:
        records = client.make_qualified_table_name(table)
        deleted = client.make_qualified_table_name(deleted_table)
        try:
            rows = client.execute_sql(f"select id from {records} where not coalesce(is_deleted, false)")
        except DatabaseUndefinedRelation:
            return set()
        try:
            gone = {row[0] for row in client.execute_sql(f"select id from {deleted}")}
        except DatabaseUndefinedRelation:
            gone = set()
    return {row[0] for row in rows} - gone
