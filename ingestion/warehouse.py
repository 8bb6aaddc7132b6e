"""Where the warehouse lives, and the dlt pipelines that load into it."""

import os
from pathlib import Path
from typing import TYPE_CHECKING

# dlt is imported where a pipeline is built: the path helpers serve light CLIs (segment preview) too,
# and importing dlt costs ~2 s.
if TYPE_CHECKING:
    import dlt
    from dlt.common.destination import TDestinationReferenceArg

DEFAULT_WAREHOUSE_PATH = "data/warehouse.duckdb"
DEFAULT_EVENTS_DIR = "data/events"


def warehouse_path() -> Path:
    """The DuckDB warehouse file (WAREHOUSE_PATH), absolute."""
    return Path(os.environ.get("WAREHOUSE_PATH") or DEFAULT_WAREHOUSE_PATH).resolve()


def events_dir() -> Path:
    """The landing folder of event files (EVENTS_DIR), absolute."""
    return Path(os.environ.get("EVENTS_DIR") or DEFAULT_EVENTS_DIR).resolve()


def state_dir(warehouse: Path | None = None) -> Path:
    """A folder beside the warehouse for its local state (dlt pipelines, model registry, ...).

    Derived from the warehouse file, so that two warehouses never share incremental cursors.
    """
    warehouse = warehouse or warehouse_path()
    return warehouse.parent / f".{warehouse.stem}.state"


def duckdb_destination(warehouse: Path):
    """The DuckDB warehouse as a dlt destination."""
    import dlt
    from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials

    # Loads need not keep file order (queries sort): without it DuckDB inserts ~25% faster.
    credentials = DuckDbCredentials(str(warehouse), global_config={"preserve_insertion_order": False})
    return dlt.destinations.duckdb(credentials=credentials)


def make_pipeline(
    pipeline_name: str,
    dataset_name: str,
    warehouse: Path | None = None,
    destination: "TDestinationReferenceArg | None" = None,
) -> "dlt.Pipeline":
    """A dlt pipeline loading dataset_name (a schema) of the warehouse, state kept beside the DuckDB file.

    `destination` (e.g. dlt.destinations.postgres(credentials)) loads elsewhere instead of the DuckDB file;
    the local state still lives beside `warehouse`, so give each destination its own `warehouse` path.
    """
    import dlt

    warehouse = warehouse or warehouse_path()
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    return dlt.pipeline(
        pipeline_name=pipeline_name,
        pipelines_dir=str(state_dir(warehouse) / "dlt"),
        destination=destination or duckdb_destination(warehouse),
        dataset_name=dataset_name,
        progress="log" if os.environ.get("REVLOOP_PROGRESS") else None,
    )
