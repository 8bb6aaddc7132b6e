"""Send a plan: checked target fields, batches committed one by one, partners linked after creates."""

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hubspot import HubSpot
from simple_salesforce import Salesforce

from activation.hubspot_writer import ensure_properties, write_hubspot
from activation.plan import KEY_FIELDS, Plan, RecordWrite, key_moves, release_phases
from activation.results import CrmAccessDenied, WriteResult
from activation.salesforce_writer import MissingSalesforceFields, check_fields, write_salesforce
from activation.store import ActivationStore

# Salesforce record ids start with their sObject's key prefix: how a HubSpot record's partner type is known.
SALESFORCE_KEY_PREFIXES = {"00Q": "Lead", "003": "Contact", "001": "Account", "006": "Opportunity"}


@dataclass
class SyncReport:
    """What one object's sync did (or, in a dry run, would do)."""

    run_id: str
    object_key: str
    dry_run: bool
    plan: dict[str, Any]
    statuses: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was left for later, and why
    # records per 'crm.crm_object.operation.status', and API calls sent per 'crm.crm_object.operation'
    outcomes: dict[str, int] = field(default_factory=dict)
    api_calls: dict[str, int] = field(default_factory=dict)

    @property
    def api_calls_minimum(self) -> dict[str, int]:
        """The fewest calls the planned writes could take (plan.api_calls): what api_calls compares with."""
        return dict(self.plan.get("api_calls", {}))


def _links(result: WriteResult, hubspot_object: str) -> list[RecordWrite]:
    """After a create, the partner record learns the new record's id (the cross id)."""
    write = result.write
    # an upsert that met an existing record (a rerun after a crash) links it as well
    if write.operation != "create" or result.status not in ("created", "updated") or not result.record_id:
        return []
    partner_key = KEY_FIELDS[write.crm][1]
    partner_id = write.fields.get(partner_key)
    if not partner_id:
        return []
    crm = "hubspot" if write.crm == "salesforce" else "salesforce"
    object_name = hubspot_object if crm == "hubspot" else SALESFORCE_KEY_PREFIXES.get(str(partner_id)[:3])
    if object_name is None:
        return []
    name = KEY_FIELDS[crm][1]
    value = result.record_id
    return [
        RecordWrite(crm, object_name, "update", write.key, str(partner_id), {name: value}, {}, {name: value})
    ]


class _Sender:
    """Sends record writes grouped per CRM object, stopping objects whose target fields are missing."""

    def __init__(self, sf: Salesforce | None, hs: HubSpot | None, report: SyncReport):
        self.sf, self.hs, self.report = sf, hs, report
        self.blocked: dict[tuple[str, str], str] = {}
        self.checked: set[tuple[str, str, str]] = set()
        self.denied: dict[str, str] = {}  # CRMs that answered 401/403, with the error
        self.calls: Counter[str] = Counter()

    def _prepare(self, crm: str, object_name: str, names: set[str]) -> None:
        """Check (Salesforce describe) or create (HubSpot properties) the target fields, once each."""
        new = sorted(n for n in names if (crm, object_name, n) not in self.checked)
        if not new or (crm, object_name) in self.blocked:
            return
        try:
            if crm == "salesforce":
                check_fields(self.sf, object_name, new)
            else:
                ensure_properties(self.hs, object_name, new)
        except MissingSalesforceFields as exc:
            self.blocked[(crm, object_name)] = str(exc)
            self.report.errors.append(str(exc))
        self.checked.update((crm, object_name, n) for n in new)

    def send(self, writes: Sequence[RecordWrite]) -> list[WriteResult]:
        groups: dict[tuple[str, str], list[RecordWrite]] = {}
        for write in writes:
            groups.setdefault((write.crm, write.object_name), []).append(write)
        results: list[WriteResult] = []
        for (crm, object_name), group in groups.items():
            client = self.sf if crm == "salesforce" else self.hs
            if client is None:
                results += [WriteResult(w, "skipped", w.record_id, f"{crm} is not configured") for w in group]
                continue
            try:
                results += self._send_group(crm, object_name, group)
            except CrmAccessDenied as exc:
                # one clear error, then no more calls to that CRM in this run
                self.report.errors.append(str(exc))
                self.denied[crm] = str(exc)
                landed = {id(r.write) for r in exc.sent}
                results += exc.sent
                rest = [w for w in group if id(w) not in landed]
                results += [WriteResult(w, "failed", w.record_id, str(exc)) for w in rest]
        return results

    def _send_group(self, crm: str, object_name: str, group: list[RecordWrite]) -> list[WriteResult]:
        if crm not in self.denied:
            self._prepare(crm, object_name, {n for w in group for n in w.fields})
        error = self.denied.get(crm) or self.blocked.get((crm, object_name))
        if error:
            return [WriteResult(w, "failed", w.record_id, error) for w in group]
        if crm == "salesforce":
            return write_salesforce(self.sf, group, self.calls)
        return write_hubspot(self.hs, object_name, group, self.calls)


def run_plan(
    plan: Plan,
    store: ActivationStore,
    sf: Salesforce | None,
    hs: HubSpot | None,
    hubspot_object: str,
    batch_size: int = 1000,
    dry_run: bool = False,
    run_id: str | None = None,
) -> SyncReport:
    """Send plan in batches of batch_size records, each committed before the next (not in a dry run).

    Key-releasing writes come in an earlier phase (and so an earlier call) than the writes taking the key.
    """
    report = SyncReport(run_id or uuid.uuid4().hex, plan.object_key, dry_run, plan.summary())
    if dry_run:
        return report
    sender = _Sender(sf, hs, report)
    statuses: Counter[str] = Counter()
    outcomes: Counter[str] = Counter(f"{j.crm}.{j.object_name}.reject.rejected" for j in plan.rejections)
    store.record(report.run_id, plan.object_key, [], plan.rejections)
    if plan.rejections:
        statuses["rejected"] = len(plan.rejections)
    # refused before and unchanged since: not sent again, its refusal seen once more
    store.record_held(plan.held)
    if plan.held:
        statuses["held"] = len(plan.held)
        outcomes.update(f"{w.crm}.{w.object_name}.{w.operation}.held" for w in plan.held)
    # writes releasing a revloop key go in calls before those taking it (release_phases); within a phase one
    # CRM object and operation after the other, so that each batch fills whole API calls
    unreleased: set[tuple[str, ...]] = set()  # keys whose release failed: taking them would hit the holder
    for phase in release_phases(plan.writes):
        writes = sorted(phase, key=lambda w: (w.crm, w.object_name, w.operation))
        for start in range(0, len(writes), batch_size):
            batch = writes[start : start + batch_size]
            held = [w for w in batch if key_moves(w)[0] in unreleased]
            results = [WriteResult(w, "skipped", w.record_id, "revloop key not released") for w in held]
            results += sender.send([w for w in batch if key_moves(w)[0] not in unreleased])
            for result in results:
                if result.status not in ("created", "updated") and key_moves(result.write)[1]:
                    unreleased.add(key_moves(result.write)[1])
            links = [link for result in results for link in _links(result, hubspot_object)]
            results += sender.send(links)
            store.record(report.run_id, plan.object_key, results)
            statuses.update(r.status for r in results)
            outcomes.update(
                f"{r.write.crm}.{r.write.object_name}.{r.write.operation}.{r.status}" for r in results
            )
    report.statuses, report.outcomes, report.api_calls = dict(statuses), dict(outcomes), dict(sender.calls)
    return report
