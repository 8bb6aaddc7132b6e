"""One sync run over every mapped object: pairs from the warehouse, a plan per object, then the writes."""

import math
import uuid
from collections import Counter

import duckdb
from hubspot import HubSpot
from simple_salesforce import Salesforce

from activation.associations import (
    ASSOCIATION_BATCH_SIZE,
    linked_partners,
    plan_deal_companies,
    write_associations,
)
from activation.baselines import record_baselines, written_records
from activation.conflicts import record_conflicts
from activation.plan import SyncPair, plan_object
from activation.store import ActivationStore
from activation.sync import SyncReport, run_plan
from activation.warehouse_state import created_records, deal_companies, hubspot_associations, load_pairs
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
    created = created_records(connection)
    reports = []
    for object_key, mapping in config.objects.items():
        if objects is not None and object_key not in objects:
            continue
        pairs = load_pairs(connection, mapping)
        plan = plan_object(object_key, mapping, pairs, store.written(), config.tie_winner, created)
        if not dry_run:
            record_conflicts(connection, object_key, plan.conflicts)
        report = run_plan(
            plan, store, sf, hs, mapping.hubspot, config.batch_size, dry_run=dry_run, run_id=run_id
        )
        if not dry_run:
            record_baselines(connection, written_records(plan, pairs))
        if "companies" in mapping.associate:
            associate_deal_companies(connection, store, hs, pairs, report)
        reports.append(report)
    return reports


def associate_deal_companies(
    connection: duckdb.DuckDBPyConnection,
    store: ActivationStore,
    hs: HubSpot | None,
    pairs: list[SyncPair],
    report: SyncReport,
) -> None:
    """Associate deals (those just created too) with their companies; calls and outcomes join the report.

    A dry run plans from the deals known before the run: deals it would create are not counted.
    """
    partners = linked_partners(store.written())
    deal_of = partners | {
        p.salesforce.record_id: p.hubspot.record_id for p in pairs if p.salesforce and p.hubspot
    }
    keys = {p.salesforce.record_id: p.key for p in pairs if p.salesforce}
    done = hubspot_associations(connection, "deals", "companies") | store.associations("deals", "companies")
    planned = plan_deal_companies(deal_companies(connection), deal_of, partners, keys, done)
    if not planned:
        return
    report.plan["associations"] = len(planned)
    calls_needed = math.ceil(len(planned) / ASSOCIATION_BATCH_SIZE)
    report.plan["api_calls"] = {**report.plan.get("api_calls", {}), "hubspot.deals.associate": calls_needed}
    if report.dry_run or hs is None:
        return
    calls: Counter[str] = Counter()
    results = write_associations(hs, planned, calls)
    store.record_associations(report.run_id, report.object_key, results)
    for result in results:
        report.statuses[result.status] = report.statuses.get(result.status, 0) + 1
        outcome = f"hubspot.{result.association.from_type}.associate.{result.status}"
        report.outcomes[outcome] = report.outcomes.get(outcome, 0) + 1
    for name, n in calls.items():
        report.api_calls[name] = report.api_calls.get(name, 0) + n
