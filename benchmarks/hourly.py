"""The whole-graph benchmark's hourly delta and one-change latency (issue 18).

A delta: a sales rep edits --crm-share of the world's CRM records (one field each: a phone, a title, a lead
status or a company, on open Leads, Contacts and HubSpot contacts, through simple-salesforce's sObject
Collections as the rep's own Salesforce user and hubspot-api-client's batch update), and one hour of new
events (--event-share of the event lines) lands in new files; then the `hourly_sync` job runs.

The one-change latency: the Dagster daemon runs the sensors as `make dev` does (schedules off); after
crm_change_sensor's first tick, one HubSpot contact paired with a Salesforce record gets a new job title,
and Salesforce is polled until its Title reads the same.
"""

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.whole_graph import REPO, TreeSampler, kill_group

REP_USERNAME = "rep@sellwise.io"
REP_TOKEN = "bench-rep-token"
SENSOR = "crm_change_sensor"
TITLES = (
    "Head of Revenue Operations",
    "VP Sales",
    "Marketing Director",
    "Sales Operations Analyst",
    "Chief Revenue Officer",
    "Demand Generation Manager",
    "Account Executive",
)
# Lead statuses a rep sets by hand on each side (conversion is not an edit)
SALESFORCE_STATUSES = ("Open - Not Contacted", "Working - Contacted", "Closed - Not Converted")
HUBSPOT_STATUSES = ("NEW", "OPEN", "IN_PROGRESS", "UNQUALIFIED", "ATTEMPTED_TO_CONTACT", "CONNECTED")
# what a rep edits, by object: field -> "phone", "title", "company" or the picklist's values
EDITABLE: dict[str, dict[str, str | tuple[str, ...]]] = {
    "Lead": {"Phone": "phone", "Title": "title", "Status": SALESFORCE_STATUSES, "Company": "company"},
    "Contact": {"Phone": "phone", "Title": "title"},
    "contacts": {
        "phone": "phone",
        "jobtitle": "title",
        "hs_lead_status": HUBSPOT_STATUSES,
        "company": "company",
    },
}
SOQL = {
    "Lead": "SELECT Id, Phone, Title, Status, Company FROM Lead WHERE IsConverted = false",
    "Contact": "SELECT Id, Phone, Title FROM Contact",
}
SF_BATCH, HS_BATCH = 200, 100  # records per sObject Collections call, inputs per HubSpot batch
POLL_S = 0.5
ONE_CHANGE_TIMEOUT_S = 3600
DAEMON_START_TIMEOUT_S = 300
FINISHED = ("SUCCESS", "FAILURE", "CANCELED")

Records = Mapping[str, Mapping[str, Mapping[str, str | None]]]  # object -> record id -> field -> value
Edits = dict[str, dict[str, dict[str, str]]]  # object -> record id -> {field: new value}


# --- what the rep edits (pure) ----------------------------------------------------------------------------


def spread(sizes: Mapping[str, int], count: int) -> dict[str, int]:
    """count split over the keys in proportion to their sizes (largest remainders get the rest)."""
    total = sum(sizes.values())
    count = min(count, total)
    if not count:
        return {name: 0 for name in sizes}
    shares = {name: count * size / total for name, size in sizes.items()}
    parts = {name: int(share) for name, share in shares.items()}
    by_remainder = sorted(sizes, key=lambda name: (parts[name] - shares[name], name))
    for name in by_remainder[: count - sum(parts.values())]:
        parts[name] += 1
    return parts


def new_value(
    kind: str | tuple[str, ...], current: str | None, rng: random.Random, companies: list[str]
) -> str:
    """A value of the kind that differs from current: a new phone number, another title, status or company."""
    if kind == "phone":
        return f"+1 {rng.randrange(201, 990)} {rng.randrange(200, 1000)} {rng.randrange(10_000):04d}"
    choices = {"title": TITLES, "company": companies}.get(kind, kind)
    return rng.choice([value for value in choices if value != current])


def plan_edits(records: Records, count: int, seed: int | str) -> Edits:
    """One field edit on each of `count` records spread over the objects in proportion to their records,
    drawn by the seed: object -> record id -> {field: new value}."""
    rng = random.Random(f"{seed}-rep-edits")
    plan: Edits = {}
    for name, picks in spread({name: len(rows) for name, rows in records.items()}, count).items():
        rows = records[name]
        fields = EDITABLE[name]
        company_field = next((f for f, kind in fields.items() if kind == "company"), None)
        companies = (
            sorted({row.get(company_field) for row in rows.values()} - {None, ""}) if company_field else []
        )
        usable = [f for f, kind in fields.items() if kind != "company" or len(companies) > 1]
        for record_id in rng.sample(sorted(rows), picks):
            name_of_field = rng.choice(usable)
            value = new_value(fields[name_of_field], rows[record_id].get(name_of_field), rng, companies)
            plan.setdefault(name, {})[record_id] = {name_of_field: value}
    return plan


def describe_edits(plan: Edits) -> str:
    """'Lead 3 (Phone 1, Title 2), ...': records edited per object and fields among them."""
    parts = []
    for name, edits in plan.items():
        fields = Counter(field_name for change in edits.values() for field_name in change)
        label = "HubSpot contacts" if name == "contacts" else name
        parts.append(f"{label} {len(edits):,} ({', '.join(f'{f} {n:,}' for f, n in sorted(fields.items()))})")
    return ", ".join(parts)


# --- the CRMs, through the real clients ------------------------------------------------------------------


@dataclass
class Crms:
    """simple-salesforce and hubspot-api-client on the sandbox the run uses."""

    sf: object
    hs: object

    @classmethod
    def connect(cls, env: Mapping[str, str], salesforce_token: str) -> "Crms":
        import requests
        from hubspot import HubSpot
        from simple_salesforce import Salesforce

        session = requests.Session()
        session.trust_env = False  # else REQUESTS_CA_BUNDLE of this shell overrides verify
        session.verify = env["REQUESTS_CA_BUNDLE"]
        sf = Salesforce(
            instance_url=env["SALESFORCE_INSTANCE_URL"],
            session_id=salesforce_token,
            version=env.get("SALESFORCE_API_VERSION", "54.0"),
            session=session,
        )
        hs = HubSpot(
            access_token=env["HUBSPOT_ACCESS_TOKEN"],
            host=env["HUBSPOT_BASE_URL"],
            ssl_ca_cert=env["REQUESTS_CA_BUNDLE"],
        )
        return cls(sf, hs)

    def people(self) -> dict[str, dict[str, dict]]:
        """The fields a rep edits of every open Lead, Contact and HubSpot contact, by object and id."""
        records: dict[str, dict[str, dict]] = {}
        for sobject, soql in SOQL.items():
            rows = self.sf.query_all(soql)["records"]
            records[sobject] = {row["Id"]: {f: row.get(f) for f in EDITABLE[sobject]} for row in rows}
        contacts = self.hs.crm.contacts.get_all(properties=list(EDITABLE["contacts"]))
        records["contacts"] = {c.id: {f: c.properties.get(f) for f in EDITABLE["contacts"]} for c in contacts}
        return records

    def apply(self, plan: Edits) -> int:
        """Send the edits in batches; returns the API calls made. Fails on any refused record."""
        from hubspot.crm.contacts import BatchInputSimplePublicObjectBatchInput, SimplePublicObjectBatchInput

        calls = 0
        for sobject in ("Lead", "Contact"):
            edits = list(plan.get(sobject, {}).items())
            for first in range(0, len(edits), SF_BATCH):
                records = [
                    {"attributes": {"type": sobject}, "Id": record_id, **change}
                    for record_id, change in edits[first : first + SF_BATCH]
                ]
                results = self.sf.restful(
                    "composite/sobjects", method="PATCH", json={"allOrNone": False, "records": records}
                )
                calls += 1
                refused = [r for r in results if not r.get("success")]
                if refused:
                    raise RuntimeError(f"Salesforce refused {len(refused)} {sobject} edits: {refused[:3]}")
        edits = list(plan.get("contacts", {}).items())
        for first in range(0, len(edits), HS_BATCH):
            inputs = [
                SimplePublicObjectBatchInput(id=record_id, properties=change)
                for record_id, change in edits[first : first + HS_BATCH]
            ]
            self.hs.crm.contacts.batch_api.update(BatchInputSimplePublicObjectBatchInput(inputs=inputs))
            calls += 1
        return calls

    def salesforce_people(self, email: str) -> list[tuple[str, str, str | None]]:
        """(sObject, Id, Title) of the open Leads and the Contacts carrying the e-mail."""
        from simple_salesforce import format_soql

        found = []
        for sobject, extra in (("Lead", " AND IsConverted = false"), ("Contact", "")):
            soql = format_soql(f"SELECT Id, Title FROM {sobject} WHERE Email = {{}}{extra}", email)
            found += [(sobject, row["Id"], row["Title"]) for row in self.sf.query(soql)["records"]]
        return found

    def title(self, sobject: str, record_id: str) -> str | None:
        return self.sf.restful(f"sobjects/{sobject}/{record_id}", params={"fields": "Title"})["Title"]


@dataclass(frozen=True)
class Pair:
    """A HubSpot contact and the one Salesforce record with its e-mail, both holding the same title."""

    contact_id: str
    email: str
    sobject: str
    record_id: str
    title: str


def paired_contact(crms: Crms) -> Pair:
    """The first HubSpot contact (in id order) whose e-mail names exactly one open Lead or Contact, with
    the same job title on both sides: a pair the sync keeps."""
    after = None
    while True:
        page = crms.hs.crm.contacts.basic_api.get_page(
            limit=100, after=after, properties=["email", "jobtitle"]
        )
        for contact in page.results:
            email, title = contact.properties.get("email"), contact.properties.get("jobtitle")
            if not (email and title):
                continue
            found = crms.salesforce_people(email)
            if len(found) == 1 and found[0][2] == title:
                return Pair(contact.id, email, found[0][0], found[0][1], title)
        if not (page.paging and page.paging.next):
            raise RuntimeError("no HubSpot contact is paired with exactly one Salesforce record")
        after = page.paging.next.after


# --- the daemon and the sensor's ticks -------------------------------------------------------------------


@contextmanager
def running_daemon(env: Mapping[str, str], log: Path, sampler_args: dict) -> Iterator[TreeSampler]:
    """`dagster-daemon run` in its own process group (schedules off), its tree sampled; stopped at exit."""
    command = [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-m", "orchestration.definitions"]
    with open(log, "w") as out:
        daemon = subprocess.Popen(
            command,
            cwd=REPO,
            env={**env, "REVLOOP_SCHEDULES": "off"},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    sampler = TreeSampler(daemon.pid, **sampler_args).start()
    try:
        yield sampler
    finally:
        try:
            os.killpg(daemon.pid, signal.SIGTERM)
            daemon.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        kill_group(daemon.pid)  # whatever outlived it (a run worker mid-step)
        daemon.wait()
        sampler.stop()


def sensor_ticks(instance, after: float) -> list:
    """crm_change_sensor's completed ticks that started after `after`, oldest first."""
    from dagster._core.scheduler.instigation import InstigatorType

    for state in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR):
        if state.instigator_name == SENSOR:
            ticks = instance.get_ticks(state.instigator_origin_id, state.selector_id, after=after)
            return sorted((t for t in ticks if t.is_completed), key=lambda t: t.timestamp)
    return []


def tick_outcome(tick) -> str:
    """What a tick did, in words."""
    if tick.run_ids:
        return f"requested run {tick.run_ids[0][:8]}"
    if tick.is_failure:
        return f"failed: {tick.error.message.strip().splitlines()[-1] if tick.error else '?'}"
    return f"skipped: {tick.skip_reason}"


def wait_for(what: str, check: Callable[[], object], timeout_s: float, log: Path, every_s: float = POLL_S):
    """check()'s first truthy answer, polled; RuntimeError with the daemon log's tail on timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        answer = check()
        if answer:
            return answer
        time.sleep(every_s)
    raise RuntimeError(f"no {what} within {timeout_s:.0f} s; daemon log {log}:\n{log.read_text()[-3000:]}")


def finished(instance, run_id: str):
    """The run's record once it has ended, else None."""
    record = instance.get_run_record_by_id(run_id)
    return record if record and record.dagster_run.status.value in FINISHED else None


@dataclass
class OneChange:
    """The moments (epoch seconds) of the one-change latency and the run it started."""

    pair: Pair
    title: str
    changed_at: float
    seen_at: float | None = None
    tick_at: float | None = None
    tick_end: float | None = None
    ticks_between: list[str] = field(default_factory=list)
    run_id: str | None = None
    run_created: float | None = None
    run_started: float | None = None
    run_ended: float | None = None
    run_status: str | None = None
    next_tick: str | None = None


def measure_one_change(
    env: Mapping[str, str], dagster_home: Path, log: Path, sampler_args: dict
) -> tuple[OneChange, TreeSampler]:
    """Run the daemon, make the change after the sensor's first tick, time it into Salesforce."""
    from dagster import DagsterInstance, RunsFilter
    from dagster._core.storage.tags import SENSOR_NAME_TAG
    from hubspot.crm.contacts import SimplePublicObjectInput

    crms = Crms.connect(env, env["SALESFORCE_ACCESS_TOKEN"])
    pair = paired_contact(crms)
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    with DagsterInstance.get() as instance, running_daemon(env, log, sampler_args) as sampler:
        started = time.time()
        first = wait_for(
            f"first tick of {SENSOR}", lambda: sensor_ticks(instance, started), DAEMON_START_TIMEOUT_S, log
        )
        if first[0].is_failure:
            raise RuntimeError(f"{SENSOR}'s first tick {tick_outcome(first[0])}; daemon log {log}")
        title = f"{pair.title} (benchmark {datetime.now(UTC):%H%M%S})"[:128]
        crms.hs.crm.contacts.basic_api.update(
            pair.contact_id, SimplePublicObjectInput(properties={"jobtitle": title})
        )
        change = OneChange(pair, title, time.time())
        change.seen_at = wait_for(
            "new title in Salesforce",
            lambda: time.time() if crms.title(pair.sobject, pair.record_id) == title else None,
            ONE_CHANGE_TIMEOUT_S,
            log,
        )
        sensor_runs = RunsFilter(
            tags={SENSOR_NAME_TAG: SENSOR}, created_after=datetime.fromtimestamp(change.changed_at, UTC)
        )
        [run] = wait_for("run of the sensor", lambda: instance.get_runs(sensor_runs, limit=1), 60, log)
        record = wait_for(
            "end of the sensor's run", lambda: finished(instance, run.run_id), ONE_CHANGE_TIMEOUT_S, log
        )
        change.run_id, change.run_status = run.run_id, record.dagster_run.status.value
        change.run_created, change.run_started = record.create_timestamp.timestamp(), record.start_time
        change.run_ended = record.end_time
        for tick in sensor_ticks(instance, change.changed_at):
            if run.run_id in tick.run_ids:
                change.tick_at, change.tick_end = tick.timestamp, tick.end_timestamp
                break
            change.ticks_between.append(tick_outcome(tick))
        # the first tick after the run: does revloop's own write come back as a change?
        after = wait_for(
            f"{SENSOR} tick after the run",
            lambda: sensor_ticks(instance, change.run_ended),
            DAEMON_START_TIMEOUT_S,
            log,
        )
        change.next_tick = tick_outcome(after[0])
    return change, sampler


def one_change_lines(change: OneChange, interval_s: int) -> list[str]:
    """The figures of the one-change latency, one per line."""
    pair = change.pair
    between = f"; ticks between: {'; '.join(change.ticks_between)}" if change.ticks_between else ""
    before = f" (the change was made just after a tick{between})"
    spans = (
        ("change -> tick that requested the run", change.changed_at, change.tick_at, before),
        ("tick evaluation (start -> end)", change.tick_at, change.tick_end, ""),
        ("tick -> run started (queue, launch, definitions loaded)", change.tick_at, change.run_started, ""),
        ("run started -> value readable in Salesforce", change.run_started, change.seen_at, ""),
        ("tick -> value readable in Salesforce", change.tick_at, change.seen_at, " (issue 18: <= 60 s)"),
        ("change -> value readable in Salesforce", change.changed_at, change.seen_at, ""),
        ("run created -> ended", change.run_created, change.run_ended, f" ({change.run_status})"),
        ("run started -> ended (Dagster's run duration)", change.run_started, change.run_ended, ""),
    )
    lines = [
        f"changed: HubSpot contact {pair.contact_id} jobtitle -> {json.dumps(change.title)} (paired with "
        f"Salesforce {pair.sobject} {pair.record_id}); sensor interval {interval_s} s; run {change.run_id}"
    ]
    for label, start, end, note in spans:
        seconds = f"{end - start:8.1f}" if start is not None and end is not None else f"{'-':>8s}"
        lines.append(f"  {label:62s} {seconds} s{note}")
    lines.append(f"  first tick after the run: {change.next_tick}")
    return lines
