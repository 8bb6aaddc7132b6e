"""dlt source of Salesforce sObjects into raw_salesforce: one merge-loaded table per object."""

import functools
import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

import dlt
from dlt.sources import DltResource
from simple_salesforce import Salesforce

from ingestion.quarantine import Rejections
from ingestion.salesforce.client import (
    SalesforceConnection,
    connect,
    describe_fields,
    query_pages,
)
from ingestion.salesforce.query import build_soql, select_fields
from ingestion.salesforce.records import column_hints, typed_records
from ingestion.salesforce.settings import (
    CURSOR_FIELD,
    DATASET_NAME,
    DEFAULT_OBJECTS,
    PIPELINE_NAME,
    PRIMARY_KEY,
    STANDARD_FIELDS,
    table_name,
)

__all__ = ["DATASET_NAME", "DEFAULT_OBJECTS", "PIPELINE_NAME", "SalesforceConnection", "salesforce_source"]

log = logging.getLogger(__name__)


@dlt.source(name="salesforce", section="salesforce", max_table_nesting=0)
def salesforce_source(
    connection: SalesforceConnection,
    objects: Iterable[str] = DEFAULT_OBJECTS,
    rejections: Rejections | None = None,
    since: datetime | None = None,
) -> Iterator[DltResource]:
    """Lead, Contact, Account, Opportunity, User and Task, incrementally on SystemModstamp.

    Records with a value that does not parse go to rejections (load them with load_rejections after the
    run). since bounds the first run (None: the whole history); later runs continue from the cursor.
    Building the source touches no network: the org is reached when the resources run.
    """
    client = functools.cache(lambda: connect(connection))
    for object_name in objects:
        if object_name not in STANDARD_FIELDS:
            known = ", ".join(STANDARD_FIELDS)
            raise ValueError(f"unknown Salesforce object {object_name!r}; known: {known}")
        # Parquet load files: DuckDB loads them ~10x faster than INSERT statements, in a third of the memory.
        yield dlt.resource(
            _object_records,
            name=table_name(object_name),
            primary_key=PRIMARY_KEY,
            write_disposition="merge",
            file_format="parquet",
        )(client, object_name, rejections, dlt.sources.incremental(CURSOR_FIELD, initial_value=since))


def _object_records(
    client: Callable[[], Salesforce],
    object_name: str,
    rejections: Rejections | None,
    modstamp: dlt.sources.incremental[datetime],
) -> Iterator[Any]:
    """The records of one object changed since the cursor, typed; soft-deleted ones included."""
    sf = client()
    selection = select_fields(object_name, STANDARD_FIELDS[object_name], describe_fields(sf, object_name))
    if selection.missing:
        log.warning("Salesforce %s lacks fields %s: loading without them", object_name, selection.missing)
    # Column types from describe, so that columns that are null so far get their type too.
    yield dlt.mark.with_hints([], dlt.mark.make_hints(columns=column_hints(selection.types)))
    soql = build_soql(object_name, selection.fields, modstamp.start_value)
    # Whole pages, not single records: dlt's tie deduplication costs a pass over the tied rows per item.
    for page in query_pages(sf, object_name, soql, include_deleted=selection.has_is_deleted):
        rows = list(typed_records(object_name, page, selection.types, rejections))
        if rows:
            yield rows
