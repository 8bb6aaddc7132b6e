"""One sync run over every mapped object: pairs from the warehouse, a plan per object, then the writes."""

import uuid

import duckdb
from hubspot import HubSpot
from simple_salesforce import Salesforce

from activation.plan import plan_object
from activation.store import ActivationStore
from activation.sync import SyncReport, run_plan
from activation.warehouse_state import load_pairs
from revloop.config.sync import SyncConfig, load_sync_config


def run_sync(
    connection: duckdb.DuckDBPyConnection,
    sf: Salesforce | None,
    hs: HubSpot | None,
    config: SyncConfig | None = None,
    dry_run: bool = False,
    objects: list[str] | None = None,
) -> list[SyncReport]:
    """Plan and (unless dry_run) send every object of config/sync.yml; one report per object."""
    config = config or load_sync_config()
    store = ActivationStore(connection)
    run_id = uuid.uuid4().hex
    reports = []
    for object_key, mapping in config.objects.items():
        if objects is not None and object_key not in objects:
            continue
        pairs = load_pairs(connection, mapping)
        plan = plan_object(object_key, mapping, pairs, store.written(), config.tie_winner)
        reports.append(
            run_plan(plan, store, sf, hs, mapping.hubspot, config.batch_size, dry_run=dry_run, run_id=run_id)
        )
    return reports
