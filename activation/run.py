"""One sync run over every mapped object: pairs from the warehouse, a plan per object, then the writes."""

import math
import uuid
from collections import Counter

import duckdb
from hubspot import HubSpot
from simple_salesforce import Salesforce

from activation.associations import (
    ASSOCIATION_BATCH_SIZE,
    Association,
    linked_partners,
    plan_deal_companies,
    write_associations,
)
from activation.baselines import record_baselines, record_created, written_records
from activation.conflicts import record_conflicts
from activation.contact_companies import plan_contact_companies
from activation.plan import SyncPair, plan_object
from activation.results import CrmAccessDenied
from activation.store import ActivationStore
from activation.sync import SyncReport, run_plan
from activation.warehouse_state import (
    contact_accounts,
    created_records,
    deal_companies,
    hubspot_associations,
    load_pairs,
)
from revloop.config.sync import Crm, ObjectMapping, SyncConfig, load_sync_config
from revloop.salesforce_user import integration_user_id


def run_sync(
    connection: duckdb.DuckDBPyConnection,
    sf: Salesforce | None,
    hs: HubSpot | None,
    config: SyncConfig | None = None,
    dry_run: bool = False,
    objects: list[str] | None = None,
    retry_refused: bool = False,
) -> list[SyncReport]:
    """Plan and (unless dry_run) send every object of config/sync.yml; one report per object.

    With both CRMs this is the two-way sync; with one, the write-back of warehouse values (scores, segments)
    into that CRM's existing records, for the objects that map such values. A write the CRM refused is sent
    again only when it or its record changed, or with retry_refused (the daily reconciliation: an admin may
    have fixed what made the CRM refuse it).
    """
    config = config or load_sync_config()
    crms = configured_crms(sf, hs)
    if not crms:
        raise ValueError("the CRM sync needs Salesforce or HubSpot")
    store = ActivationStore(connection)
    run_id = uuid.uuid4().hex
    created = created_records(connection)
    refused = frozenset() if retry_refused else store.refused()
    own_user = integration_user_id(sf) if sf is not None else None
    reports = []
    associating: list[tuple[ObjectMapping, list[SyncPair], SyncReport]] = []
    for object_key, mapping in config.objects.items():
        if objects is not None and object_key not in objects:
            continue
        if len(crms) == 1 and not any(
            spec.source and not spec.on_create_only and crms[0] in spec.targets() for spec in mapping.fields
        ):
            continue
        pairs = load_pairs(connection, mapping)
        plan = plan_object(
            object_key, mapping, pairs, store.written(), config.tie_winner, created, crms, refused, own_user
        )
        if not dry_run:
            record_conflicts(connection, object_key, plan.conflicts)
        report = run_plan(
            plan, store, sf, hs, mapping.hubspot, config.batch_size, dry_run=dry_run, run_id=run_id
        )
        if not dry_run:
            record_baselines(connection, written_records(plan, pairs), own_user)
        if "companies" in mapping.associate and len(crms) == 2:
            associating.append((mapping, pairs, report))
        reports.append(report)
    if not dry_run:
        record_created(connection, created_records(connection) - created, own_user)
    # after every object: a company (or deal) created in this run is then known by its partner link
    for mapping, pairs, report in associating:
        if mapping.hubspot == "deals":
            planned = deal_company_associations(connection, store, pairs)
        else:
            done = hubspot_associations(connection, "contacts", "companies")
            done |= store.associations("contacts", "companies")
            partners = linked_partners(store.written())
            planned = plan_contact_companies(contact_accounts(connection), pairs, done, partners)
        send_associations(store, hs, planned, report)
    return reports


def configured_crms(sf: Salesforce | None, hs: HubSpot | None) -> tuple[Crm, ...]:
    """The CRMs a sync writes to: those with a client."""
    return tuple(crm for crm, client in (("salesforce", sf), ("hubspot", hs)) if client is not None)


def deal_company_associations(
    connection: duckdb.DuckDBPyConnection, store: ActivationStore, pairs: list[SyncPair]
) -> list[Association]:
    """Deal -> company associations still missing, deals just created included.

    A dry run plans from the deals known before the run: deals it would create are not counted.
    """
    partners = linked_partners(store.written())
    deal_of = partners | {
        p.salesforce.record_id: p.hubspot.record_id for p in pairs if p.salesforce and p.hubspot
    }
    keys = {p.salesforce.record_id: p.key for p in pairs if p.salesforce}
    done = hubspot_associations(connection, "deals", "companies") | store.associations("deals", "companies")
    return plan_deal_companies(deal_companies(connection), deal_of, partners, keys, done)


def send_associations(
    store: ActivationStore, hs: HubSpot | None, planned: list[Association], report: SyncReport
) -> None:
    """Create planned associations (not in a dry run); calls and outcomes join the report."""
    if not planned:
        return
    call_name = f"hubspot.{planned[0].from_type}.associate"
    report.plan["associations"] = len(planned)
    calls_needed = math.ceil(len(planned) / ASSOCIATION_BATCH_SIZE)
    report.plan["api_calls"] = {**report.plan.get("api_calls", {}), call_name: calls_needed}
    if report.dry_run or hs is None:
        return
    calls: Counter[str] = Counter()
    try:
        results = write_associations(hs, planned, calls)
    except CrmAccessDenied as exc:
        report.errors.append(str(exc))
        return
    store.record_associations(report.run_id, report.object_key, results)
    for result in results:
        report.statuses[result.status] = report.statuses.get(result.status, 0) + 1
        outcome = f"hubspot.{result.association.from_type}.associate.{result.status}"
        report.outcomes[outcome] = report.outcomes.get(outcome, 0) + 1
    for name, n in calls.items():
        report.api_calls[name] = report.api_calls.get(name, 0) + n
