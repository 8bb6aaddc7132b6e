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
    AssociationResult,
    linked_partners,
    plan_deal_companies,
    write_associations,
)
from activation.baselines import record_baselines, record_created, written_records
from activation.conflicts import record_conflicts
from activation.contact_companies import plan_contact_companies
from activation.deal_contacts import (
    ROLE_OBJECT,
    partners,
    plan_contact_roles,
    plan_deal_contact_associations,
    write_contact_roles,
)
from activation.plan import SALESFORCE_COLLECTION_SIZE, SyncPair, plan_object
from activation.results import CrmAccessDenied
from activation.store import ActivationStore
from activation.sync import SyncReport, run_plan
from activation.warehouse_state import (
    contact_accounts,
    created_records,
    current_records,
    deal_companies,
    hubspot_associations,
    load_pairs,
    newest_loads,
    records_loaded_since,
    views_behind_raw,
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
    changed_only: bool = False,
) -> list[SyncReport]:
    """Plan and (unless dry_run) send every object of config/sync.yml; one report per object.

    With both CRMs this is the two-way sync; with one, the write-back of warehouse values (scores, segments)
    into that CRM's existing records, for the objects that map such values. A write the CRM refused is sent
    again only when it or its record changed, or with retry_refused (the daily reconciliation: an admin may
    have fixed what made the CRM refuse it).

    changed_only: plan only the pairs holding a CRM record loaded since the last finished sync (its
    watermarks), none before a first one, and leave the associations to the next full sync: the CRM change
    path does this right after the loads, on the pairing of the last build.
    """
    config = config or load_sync_config()
    crms = configured_crms(sf, hs)
    if not crms:
        raise ValueError("the CRM sync needs Salesforce or HubSpot")
    store = ActivationStore(connection)
    run_id = uuid.uuid4().hex
    loads = newest_loads(connection)
    watermarks = store.watermarks()
    only = None  # every pair
    if changed_only:
        only = records_loaded_since(connection, config.objects.values(), watermarks) if watermarks else set()
    created = created_records(connection)
    refused = frozenset() if retry_refused else store.refused()
    own_user = integration_user_id(sf) if sf is not None else None
    reports = []
    loaded: dict[str, list[SyncPair]] = {}
    associating: list[tuple[ObjectMapping, list[SyncPair], SyncReport]] = []
    complete = objects is None  # every record loaded so far planned
    for object_key, mapping in config.objects.items():
        if objects is not None and object_key not in objects:
            continue
        if len(crms) == 1 and not any(
            spec.source and not spec.on_create_only and crms[0] in spec.targets() for spec in mapping.fields
        ):
            continue
        deferred = _deferred(connection, mapping, watermarks) if changed_only else None
        pairs = loaded[object_key] = [] if deferred else load_pairs(connection, mapping)
        written = store.written()
        plan = plan_object(
            object_key, mapping, pairs, written, config.tie_winner, created, crms, refused, own_user, only
        )
        if not dry_run:
            record_conflicts(connection, object_key, plan.conflicts)
        report = run_plan(
            plan, store, sf, hs, mapping.hubspot, config.batch_size, dry_run=dry_run, run_id=run_id
        )
        if deferred:
            complete = False
            report.notes.append(f"left to the sync after the models: {deferred}")
        if not dry_run:
            record_baselines(connection, written_records(plan, pairs), own_user)
        if mapping.associate and len(crms) == 2 and not changed_only:
            associating.append((mapping, pairs, report))
        reports.append(report)
    if not dry_run:
        record_created(connection, created_records(connection) - created, own_user)
    # after every object: a company (or deal) created in this run is then known by its partner link
    for mapping, pairs, report in associating:
        if mapping.hubspot == "deals":
            if "companies" in mapping.associate:
                send_links(store, hs, deal_company_associations(connection, store, pairs), report)
            if "contacts" in mapping.associate:
                people = _person_pairs(connection, config, loaded)
                hubspot_links, roles = deal_contact_links(connection, store, pairs, people)
                send_links(store, hs, hubspot_links, report)
                send_links(store, sf, roles, report)
        else:
            done = hubspot_associations(connection, "contacts", "companies")
            done |= store.associations("contacts", "companies")
            linked = linked_partners(store.written())
            planned = plan_contact_companies(contact_accounts(connection), pairs, done, linked)
            send_links(store, hs, planned, report)
    if complete and not dry_run:
        store.set_watermarks(run_id, loads)
    return reports


def _deferred(
    connection: duckdb.DuckDBPyConnection, mapping: ObjectMapping, watermarks: dict[str, str]
) -> str | None:
    """Why a sync of the changed records only cannot plan an object now (None: it can)."""
    if not watermarks:
        return "no sync has finished yet (the first runs after the models, in crm_sync)"
    behind = views_behind_raw(connection, mapping)
    if behind:  # dbt builds them again before crm_sync
        return f"{', '.join(behind)} lack fields loaded since they were built"
    return None


def _person_pairs(
    connection: duckdb.DuckDBPyConnection, config: SyncConfig, loaded: dict[str, list[SyncPair]]
) -> list[SyncPair]:
    """The person pairs of this run (loaded again when the people object was not synced in it)."""
    pairs: list[SyncPair] = []
    for object_key, mapping in config.objects.items():
        if mapping.match == "identity":
            pairs += loaded[object_key] if object_key in loaded else load_pairs(connection, mapping)
    return pairs


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


def deal_contact_links(
    connection: duckdb.DuckDBPyConnection,
    store: ActivationStore,
    deal_pairs: list[SyncPair],
    person_pairs: list[SyncPair],
) -> tuple[list[Association], list[Association]]:
    """Deal contacts still missing on each side: (HubSpot deal -> contact associations, Salesforce
    Opportunity contact roles). Deals and contacts created in this run are known by their partner links.
    """
    known = partners(deal_pairs, person_pairs, linked_partners(store.written()))
    keys = {p.salesforce.record_id: p.key for p in deal_pairs if p.salesforce}
    roles = current_records(connection, "salesforce", ROLE_OBJECT, ["OpportunityId", "ContactId"]).values()
    held_roles = {(r.values.get("OpportunityId"), r.values.get("ContactId")) for r in roles}
    deal_contacts = hubspot_associations(connection, "deals", "contacts")
    to_hubspot = plan_deal_contact_associations(
        held_roles, known, keys, deal_contacts | store.associations("deals", "contacts")
    )
    to_salesforce = plan_contact_roles(
        deal_contacts, known, keys, held_roles | store.associations("Opportunity", "Contact")
    )
    return to_hubspot, to_salesforce


def send_links(
    store: ActivationStore,
    client: Salesforce | HubSpot | None,
    planned: list[Association],
    report: SyncReport,
) -> None:
    """Create planned links of one CRM (HubSpot associations or Salesforce contact roles) with its client,
    unless a dry run; the plan counts them and the calls they need, calls and outcomes join the report."""
    if not planned:
        return
    first = planned[0]
    on_salesforce = first.crm == "salesforce"
    plan_key = "contact_roles" if on_salesforce else "associations"
    call_name = (
        f"salesforce.{ROLE_OBJECT}.create" if on_salesforce else f"hubspot.{first.from_type}.associate"
    )
    batch_size = SALESFORCE_COLLECTION_SIZE if on_salesforce else ASSOCIATION_BATCH_SIZE
    report.plan[plan_key] = report.plan.get(plan_key, 0) + len(planned)
    api_calls = report.plan.get("api_calls", {})
    calls_needed = api_calls.get(call_name, 0) + math.ceil(len(planned) / batch_size)
    report.plan["api_calls"] = {**api_calls, call_name: calls_needed}
    if report.dry_run or client is None:
        return
    calls: Counter[str] = Counter()
    write = write_contact_roles if on_salesforce else write_associations
    try:
        results = write(client, planned, calls)
    except CrmAccessDenied as exc:
        report.errors.append(str(exc))
        return
    _report_links(store, report, results, call_name, calls)


def _report_links(
    store: ActivationStore,
    report: SyncReport,
    results: list[AssociationResult],
    outcome_prefix: str,
    calls: Counter[str],
) -> None:
    """Log and remember the links made; their outcomes and calls join the report."""
    store.record_associations(report.run_id, report.object_key, results)
    for result in results:
        report.statuses[result.status] = report.statuses.get(result.status, 0) + 1
        outcome = f"{outcome_prefix}.{result.status}"
        report.outcomes[outcome] = report.outcomes.get(outcome, 0) + 1
    for name, n in calls.items():
        report.api_calls[name] = report.api_calls.get(name, 0) + n
