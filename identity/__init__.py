"""Identity resolution: source records -> stable customer profiles (runs without Dagster).

Reads intermediate.int_identity_records (built by dbt), links records deterministically (e-mail, phone in
E.164, customer id, anonymousId seen with a userId, CRM cross ids; a phone or anonymousId seen with
several people is shared and links nothing) and probabilistically (website visitors to known profiles,
Fellegi-Sunter with evidence against: different device ids, e-mails or customer ids), keeps profile ids
stable across runs, and writes
identity.profile_map, identity.profile_changes, identity.record_changes (which records moved, for the
incremental models downstream) and identity.shared_values through dlt.
"""

import logging
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from dlt.common.destination import TDestinationReferenceArg

from identity.resolve import IdentityRunSummary, Resolution, resolve
from revloop.config.identity import IdentityConfig, load_identity_config

__all__ = ["IdentityRunSummary", "Resolution", "resolve", "resolve_identities"]

log = logging.getLogger(__name__)


def resolve_identities(
    warehouse: Path | None = None,
    destination: TDestinationReferenceArg | None = None,
    config: IdentityConfig | None = None,
) -> IdentityRunSummary:
    """One identity run against the warehouse (DuckDB at WAREHOUSE_PATH, or `destination`)."""
    from identity.warehouse import identity_pipeline, read_profile_map, read_records, write_resolution

    started = time.perf_counter()
    config = config or load_identity_config()
    pipeline = identity_pipeline(warehouse, destination)
    rows = read_records(pipeline)
    previous = read_profile_map(pipeline)
    resolution = resolve(rows, previous, config, datetime.now(UTC))
    write_resolution(pipeline, resolution)
    summary = replace(resolution.summary, seconds=round(time.perf_counter() - started, 3))
    _log_changes(resolution)
    log.info("identity resolution: %s", summary)
    return summary


def _log_changes(resolution: Resolution, limit: int = 20) -> None:
    """Merges and splits are worth a line each in the run log (the audit table has them all)."""
    changes = resolution.changes
    notable = changes.filter(pc.is_in(changes.column("change_type"), pa.array(["merged", "split"])))
    for change in notable.slice(0, limit).to_pylist():
        log.info(
            "profile %s: %s %s (record %s/%s %s)",
            change["change_type"],
            change["profile_id"],
            change["other_profile_id"],
            change["source_system"],
            change["source_record_type"],
            change["source_id"],
        )
