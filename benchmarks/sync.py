"""CRM sync benchmark: the two-way sync of ~100k changed records between the sandbox CRMs.

    python -m benchmarks.sync --records 100000

Builds the warehouse the way benchmarks.crm does (a world seeded into the sandbox, both sources run in fresh
processes), then the dbt models, identity resolution and the segments up to the sync models. A world's
first sync changes nearly every CRM record (revloop keys, cross ids, enriched fields, records created on the
other side), so the world is sized to `--records` changed records. The first sync is timed and its write
calls, counted from the emulators' request logs, are compared with the minimum ceil(n/200) Salesforce
sObject Collections calls and ceil(n/100) HubSpot batch calls. The sync then runs again with nothing
changed upstream, which must send no write at all. With --after-ingestion, the CRMs are ingested again and
the models rebuilt before one more sync, which shows what the first sync's own writes set off."""

import argparse
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from benchmarks.crm import machine_line, measure, peak_rss_mb, world_sandbox

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
    env = {
        **os.environ,
        "WAREHOUSE_PATH": str(warehouse),
        "DBT_TARGET": "duckdb",
        "DBT_TARGET_PATH": str(workdir / "dbt_target"),
        "DBT_LOG_PATH": str(workdir / "dbt_logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    result = subprocess.run(
        [sys.executable, "-m", "revloop.dbt", *args, "--quiet"], env=env, capture_output=True, text=True
    )
    if result.returncode:
        raise RuntimeError(f"dbt {' '.join(args)} failed:\n{result.stdout[-4000:]}{result.stderr[-2000:]}")


def build_warehouse(sandbox, warehouse: Path, workdir: Path) -> dict[str, float]:
    """Ingest both CRMs, then dbt around identity resolution and the segments; seconds per step."""
    from identity import resolve_identities
    from sandbox.runner import SANDBOX_TOKEN
    from segments import materialize_segments

    seconds: dict[str, float] = {}
    started = time.perf_counter()
    ca_bundle = str(sandbox.tls.ca_bundle)
    for source, server in (("salesforce", sandbox.salesforce), ("hubspot", sandbox.hubspot)):
        measure(source, source, server, SANDBOX_TOKEN, ca_bundle, warehouse)
    seconds["ingestion"] = time.perf_counter() - started
    started = time.perf_counter()
    dbt(["run", "--select", "+int_identity_records"], warehouse, workdir)
    resolve_identities(warehouse)
    # the segments read the profiles and touchpoints; the sync models read the segments
    upstream = ["+path:models/sync", "+touchpoints"]
    later = ["+int_identity_records", "path:models/sync"]
    dbt(["run", "--select", *upstream, "--exclude", *later], warehouse, workdir)
    materialize_segments(warehouse=warehouse)
    dbt(["run", "--select", "path:models/sync"], warehouse, workdir)
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


def run_sync_once(sandbox, warehouse: Path) -> SyncRun:
    """Plan (timed on its own, as a dry run) and then run one sync against the sandbox."""
    import duckdb

    from activation.run import run_sync
    from ingestion.hubspot import HubSpotConnection
    from ingestion.salesforce.client import SalesforceConnection, connect
    from sandbox.runner import SANDBOX_TOKEN

    ca_bundle = str(sandbox.tls.ca_bundle)
    sf = connect(
        SalesforceConnection(
            instance_url=sandbox.salesforce.url, access_token=SANDBOX_TOKEN, ca_bundle=ca_bundle
        )
    )
    hs = HubSpotConnection(SANDBOX_TOKEN, sandbox.hubspot.url, ca_bundle).hubspot()
    with duckdb.connect(str(warehouse)) as connection:
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
    return SyncRun(planned, sent, calls, groups, group_minimum, seconds, plan_seconds)


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000, help="changed records the first sync plans")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--after-ingestion", action="store_true", help="ingest, rebuild and sync once more")
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
            steps = build_warehouse(sandbox, warehouse, workdir)
            print("warehouse built: " + ", ".join(f"{k} {v:.1f}s" for k, v in steps.items()))
            print_run("first sync (every record changed)", run_sync_once(sandbox, warehouse))
            rerun = run_sync_once(sandbox, warehouse)
            print_run("second sync (nothing changed upstream)", rerun)
            if args.after_ingestion:
                steps = build_warehouse(sandbox, warehouse, workdir)
                print("warehouse rebuilt: " + ", ".join(f"{k} {v:.1f}s" for k, v in steps.items()))
                print_run("sync after ingesting the CRMs again", run_sync_once(sandbox, warehouse))
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
