"""CRM sync benchmark: the two-way sync of ~100k changed records between the sandbox CRMs.

    python -m benchmarks.sync --records 100000

Builds the warehouse the way benchmarks.crm does (a world seeded into the sandbox, both sources run in fresh
processes), then the dbt models, identity resolution and the segments up to the sync models. A world's
first sync changes nearly every CRM record (revloop keys, cross ids, enriched fields, records created on the
other side), so the world is sized to `--records` changed records. The first sync is timed and its write
calls, counted from the emulators' request logs, are compared with the minimum ceil(n/200) Salesforce
sObject Collections calls and ceil(n/100) HubSpot batch calls. The sync then runs again with nothing
changed upstream, which must send no write at all. With --after-ingestion, the CRMs are ingested again and
the models rebuilt before one more sync, which shows what the first sync's own writes set off.

With --faults, the first sync meets "commit then fail" answers (the write applied, then a 503 or a dropped
connection) on both CRMs' write endpoints and one record per CRM that refuses every write: the second sync
holds those refused writes back (outcome `held`) and sends nothing either. Every run prints the duplicates
found in the CRMs (records sharing a revloop key or, in HubSpot contacts, an e-mail) and the full scans in
the emulators' request logs (listings and searches without a cursor filter, SOQL without WHERE)."""

import argparse
import math
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote_plus

from benchmarks.crm import crm_origin, machine_line, measure, peak_rss_mb, world_sandbox
from benchmarks.dbt_commands import run_dbt_checked

# Changed records of a world's first sync per person of the world (2,657 at 1,000 people, seed 7).
CHANGED_RECORDS_PER_PERSON = 2.66
CALL_SIZES = {"salesforce": 200, "hubspot": 100}
# API calls that write records: sObject Collections and HubSpot batch endpoints (batch reads are POSTs too).
WRITE_PATHS = {
    "salesforce": ("/composite/sobjects",),
    "hubspot": ("/batch/upsert", "/batch/update", "/batch/create"),
}


def dbt(args: list[str], warehouse: Path, workdir: Path) -> None:
    """`python -m revloop.dbt <args>` on warehouse, its target and logs in workdir; raises if dbt fails."""
    run_dbt_checked([*args, "--quiet"], workdir, {"WAREHOUSE_PATH": str(warehouse), "DBT_TARGET": "duckdb"})


def build_warehouse(
    sandbox, warehouse: Path, workdir: Path, crms: tuple[str, ...] = ("salesforce", "hubspot"),
    fresh_processes: bool = False,
) -> dict[str, float]:
    """Ingest the CRMs (both, or those named, as a sensor run for one CRM's change does), then dbt around
    identity resolution and the segments; seconds per step.

    fresh_processes: load each CRM in a process of its own, so that this process's peak memory is what
    follows (the sync benchmark prints it); otherwise in this process."""
    from identity import resolve_identities
    from ingestion.load import load_source
    from sandbox.runner import SANDBOX_TOKEN
    from segments import materialize_segments

    seconds: dict[str, float] = {}
    started = time.perf_counter()
    ca_bundle = str(sandbox.tls.ca_bundle)
    for source in crms:
        server = getattr(sandbox, source)
        if fresh_processes:
            measure(source, source, server, SANDBOX_TOKEN, ca_bundle, warehouse)
        else:
            load_source(crm_origin(source, server.url, SANDBOX_TOKEN, ca_bundle), warehouse)
    seconds["ingestion"] = time.perf_counter() - started
    started = time.perf_counter()
    dbt(["run", "--select", "+int_identity_records"], warehouse, workdir)
    resolve_identities(warehouse)
    # the segments read the profiles and touchpoints; the sync models read the segments
    upstream = ["+path:models/sync", "+touchpoints"]
    later = ["+int_identity_records", "path:models/sync"]
    dbt(["run", "--select", *upstream, "--exclude", *later], warehouse, workdir)
    materialize_segments(warehouse=warehouse)
    # the segment marts over the step's tables, then the sync models that read them (as dbt_after_segments)
    dbt(["run", "--select", "source:segments+", "path:models/sync"], warehouse, workdir)
    seconds["dbt, identity, segments"] = time.perf_counter() - started
    return seconds


def write_calls(sandbox, since: dict[str, int]) -> dict[str, int]:
    """Record-writing API calls each emulator answered after the request log positions in since."""
    calls = {}
    for crm in CALL_SIZES:
        log = getattr(sandbox, crm).app.request_log[since[crm] :]
        calls[crm] = sum(
            1 for r in log if r.method in ("POST", "PATCH") and any(p in r.path for p in WRITE_PATHS[crm])
        )
    return calls


def duplicates(sandbox) -> dict[str, int]:
    """Records beyond the first sharing a revloop key (or a HubSpot contact e-mail), per CRM."""
    found = {}
    for crm, objects, keys in (
        ("salesforce", ("Lead", "Contact", "Account", "Opportunity"), ("Revloop_Id__c",)),
        ("hubspot", ("contacts", "companies", "deals"), ("revloop_id", "email")),
    ):
        app = getattr(sandbox, crm).app
        extra = 0
        for object_name in objects:
            try:
                rows = app.records(object_name)
            except Exception:  # an object this world does not hold
                continue
            for key in keys:
                values = Counter(
                    str(v).lower()
                    for v in ((r.get("properties") or r).get(key) for r in rows)
                    if v not in (None, "")
                )
                extra += sum(n - 1 for n in values.values())
        found[crm] = extra
    return found


def full_scans(sandbox, since: dict[str, int]) -> dict[str, int]:
    """Requests after since reading a whole object: lists, owners, unfiltered searches, SOQL without WHERE."""
    scans = {}
    for crm in CALL_SIZES:
        log = getattr(sandbox, crm).app.request_log[since[crm] :]
        if crm == "hubspot":
            scans[crm] = sum(
                1
                for r in log
                if (r.method == "GET" and r.path.startswith("/crm/v3/objects/") and r.path.count("/") == 4)
                or (r.method == "GET" and r.path.startswith("/crm/v3/owners"))
                or (r.path.endswith("/search") and '"filters"' not in r.body)
            )
        else:
            soql = [unquote_plus(r.query).lower() for r in log if "/query" in r.path and r.query]
            scans[crm] = sum(1 for q in soql if "where" not in q)
    return scans


def inject_faults(sandbox) -> None:
    """Commit-then-fail answers on both CRMs' write endpoints, and one refused record per CRM."""
    from sandbox.server import RESET

    hubspot, salesforce = sandbox.hubspot.app.faults, sandbox.salesforce.app.faults
    hubspot.fail_after_commit(503, 2, "/batch/upsert", "POST")
    hubspot.fail_after_commit(RESET, 2, "/batch/update", "POST")
    salesforce.fail_after_commit(503, 2, "/composite/sobjects", "PATCH")
    salesforce.fail_after_commit(RESET, 2, "/composite/sobjects", "PATCH")
    hubspot.refuse([sandbox.hubspot.app.records("contacts")[0]["id"]], "injected: a validation rule")
    salesforce.refuse([sandbox.salesforce.app.records("Contact")[0]["Id"]], "injected: a validation rule")


def log_positions(sandbox) -> dict[str, int]:
    """How many requests each emulator has logged so far."""
    return {crm: len(getattr(sandbox, crm).app.request_log) for crm in CALL_SIZES}


@dataclass(frozen=True)
class SyncRun:
    """One sync: planned record writes and the write calls they took per CRM, and its wall time."""

    planned: Counter
    sent: Counter
    calls: dict[str, int]
    groups: Counter  # calls per 'crm.object.operation' as the writers counted them (partner links included)
    group_minimum: Counter  # ceil(records / call size) per 'crm.object.operation' of the plan
    seconds: float
    plan_seconds: float
    duplicates: dict[str, int]
    scans: dict[str, int]  # full scans since the previous sync (the ingestion between them included)


def run_sync_once(sandbox, warehouse: Path, scans_since: dict[str, int]) -> SyncRun:
    """Plan (timed on its own, as a dry run) and then run one sync against the sandbox."""
    from activation.run import run_sync
    from ingestion.hubspot import HubSpotConnection
    from ingestion.salesforce.client import SalesforceConnection, connect
    from revloop.warehouse import connect_warehouse
    from sandbox.runner import SANDBOX_TOKEN

    ca_bundle = str(sandbox.tls.ca_bundle)
    sf = connect(
        SalesforceConnection(
            instance_url=sandbox.salesforce.url, access_token=SANDBOX_TOKEN, ca_bundle=ca_bundle
        )
    )
    hs = HubSpotConnection(SANDBOX_TOKEN, sandbox.hubspot.url, ca_bundle).hubspot()
    with connect_warehouse(warehouse) as connection:
        started = time.perf_counter()
        dry = run_sync(connection, sf, hs, dry_run=True)
        plan_seconds = time.perf_counter() - started
        planned: Counter = Counter()
        for report in dry:
            for name, n in report.plan["counts"].items():
                planned[name] += n
        before = log_positions(sandbox)
        started = time.perf_counter()
        reports = run_sync(connection, sf, hs)
        seconds = time.perf_counter() - started
    sent: Counter = Counter()
    groups: Counter = Counter()
    group_minimum: Counter = Counter()
    for report in reports:
        sent.update(report.statuses)
        groups.update(report.api_calls)
        group_minimum.update(report.api_calls_minimum)
        for error in report.errors:
            print(f"  {report.object_key}: {error}")
    calls = write_calls(sandbox, before)
    scans = full_scans(sandbox, scans_since)
    return SyncRun(
        planned, sent, calls, groups, group_minimum, seconds, plan_seconds, duplicates(sandbox), scans
    )


def print_run(name: str, run: SyncRun) -> None:
    print(f"{name}: sync {run.seconds:.1f}s (planning alone {run.plan_seconds:.1f}s), "
          f"planned {dict(sorted(run.planned.items()))}, outcomes {dict(sorted(run.sent.items()))}")
    print(f"  {'CRM':10s} {'records':>8s} {'calls':>6s} {'minimum':>8s} {'ratio':>6s}")
    for crm, size in CALL_SIZES.items():
        n = sum(v for k, v in run.planned.items() if k.startswith(f"{crm}."))
        minimum = math.ceil(n / size)
        ratio = f"{run.calls[crm] / minimum:.2f}" if minimum else "-"
        print(f"  {crm:10s} {n:>8,} {run.calls[crm]:>6,} {minimum:>8,} {ratio:>6s}")
    for group in sorted(set(run.groups) | set(run.group_minimum)):
        print(f"    {group}: {run.groups[group]} calls, {run.group_minimum[group]} for the planned records")
    print(f"  duplicates in the CRMs {run.duplicates}; full scans since the previous sync {run.scans}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000, help="changed records the first sync plans")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--after-ingestion", action="store_true", help="ingest, rebuild and sync once more")
    parser.add_argument("--faults", action="store_true", help="commit-then-fail answers in the first sync")
    parser.add_argument("--workdir", type=Path, help="where files go (default: a temp dir, removed after)")
    args = parser.parse_args(argv)

    people = max(50, round(args.records / CHANGED_RECORDS_PER_PERSON))
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="revloop-bench-sync-"))
    workdir.mkdir(parents=True, exist_ok=True)
    warehouse = workdir / "warehouse.duckdb"
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    try:
        print(machine_line())
        with world_sandbox(people, args.seed, workdir / "sandbox") as sandbox:
            start = log_positions(sandbox)
            steps = build_warehouse(sandbox, warehouse, workdir, fresh_processes=True)
            print("warehouse built: " + ", ".join(f"{k} {v:.1f}s" for k, v in steps.items()))
            if args.faults:
                inject_faults(sandbox)
            name = "first sync (every record changed" + (", faults injected)" if args.faults else ")")
            print_run(name, run_sync_once(sandbox, warehouse, start))
            rerun = run_sync_once(sandbox, warehouse, log_positions(sandbox))
            print_run("second sync (nothing changed upstream)", rerun)
            if args.after_ingestion:
                since = log_positions(sandbox)
                steps = build_warehouse(sandbox, warehouse, workdir, fresh_processes=True)
                print("warehouse rebuilt: " + ", ".join(f"{k} {v:.1f}s" for k, v in steps.items()))
                print_run("sync after ingesting the CRMs again", run_sync_once(sandbox, warehouse, since))
            print(f"benchmark process peak RSS {peak_rss_mb():,.0f} MB")
        if sum(rerun.calls.values()) or sum(rerun.planned.values()):
            print("FAILED: the sync without any upstream change sent writes", file=sys.stderr)
            return 1
        return 0
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
