"""One raw source into the warehouse: build it, run its dlt pipeline, quarantine what it refused.

The Dagster assets, the test fixtures and the ingestion benchmark all load through load_source.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingestion.events import events_source
from ingestion.events import settings as events_settings
from ingestion.hubspot import HubSpotConnection, hubspot_source
from ingestion.hubspot import settings as hs_settings
from ingestion.quarantine import Rejections, load_rejections
from ingestion.salesforce import SalesforceConnection, salesforce_source
from ingestion.salesforce import settings as sf_settings
from revloop.warehouse import make_pipeline

if TYPE_CHECKING:
    import dlt
    from dlt.common.destination import TDestinationReferenceArg

# Where a source reads: a Salesforce org, a HubSpot portal, or the landing folder of event files.
Origin = SalesforceConnection | HubSpotConnection | Path
# How a pipeline runs a source (dlt's own pipeline.run by default; Dagster's dlt resource in the assets).
Run = Callable[["dlt.Pipeline", Any], Any]


@dataclass(frozen=True)
class SourceLoad:
    """What loading one source did: its pipeline, what the run returned, the records quarantined."""

    pipeline: "dlt.Pipeline"
    result: Any
    quarantined: int


def source_names(origin: Origin) -> tuple[str, str]:
    """The pipeline name and the dataset (raw schema) of the source that reads `origin`."""
    match origin:
        case SalesforceConnection():
            return sf_settings.PIPELINE_NAME, sf_settings.DATASET_NAME
        case HubSpotConnection():
            return hs_settings.PIPELINE_NAME, hs_settings.DATASET_NAME
        case Path():
            return events_settings.PIPELINE_NAME, events_settings.DATASET
    raise TypeError(f"no source reads a {type(origin).__name__}")


def raw_source(
    origin: Origin, rejections: Rejections, full_reconciliation: bool = False, reconcile_ids: bool = False
) -> Any:
    """The dlt source that reads `origin` and adds what it refuses to `rejections`.

    full_reconciliation: HubSpot also lists what no cursor finds (archived records, owners) in full.
    reconcile_ids: Salesforce also lists every id per object and marks the stored ones the org lost.
    """
    match origin:
        case SalesforceConnection():
            return salesforce_source(origin, rejections=rejections, reconcile_ids=reconcile_ids)
        case HubSpotConnection():
            return hubspot_source(origin, rejections=rejections, full_reconciliation=full_reconciliation)
        case Path():
            return events_source(origin, rejections)
    raise TypeError(f"no source reads a {type(origin).__name__}")


def raw_pipeline(
    origin: Origin, warehouse: Path | None = None, destination: "TDestinationReferenceArg | None" = None
) -> "dlt.Pipeline":
    """The dlt pipeline of the source that reads `origin` (see revloop.warehouse.make_pipeline)."""
    pipeline_name, dataset = source_names(origin)
    return make_pipeline(pipeline_name, dataset, warehouse, destination)


def load_source(
    origin: Origin,
    warehouse: Path,
    destination: "TDestinationReferenceArg | None" = None,
    full_reconciliation: bool = False,
    run: Run | None = None,
    reconcile_ids: bool = False,
) -> SourceLoad:
    """Load the source that reads `origin` into the warehouse (or into `destination`), then merge the records
    it refused into quarantine.rejected_records of the warehouse file.

    Refusals are spooled beside the warehouse first, so a kill between the two steps loses none: the next
    load of the same source quarantines them.
    """
    pipeline_name, _ = source_names(origin)
    rejections = Rejections.spooled(pipeline_name, warehouse)
    pipeline = raw_pipeline(origin, warehouse, destination)
    source = raw_source(origin, rejections, full_reconciliation, reconcile_ids)
    result = run(pipeline, source) if run else pipeline.run(source)
    return SourceLoad(pipeline, result, load_rejections(rejections, warehouse))
