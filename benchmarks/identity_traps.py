"""Identity resolution on the trap world: precision, recall and wrong merges per trap kind, now and before.

    python -m benchmarks.identity_traps --people 2000 --before 15df21d

Generates a world (sandbox/world: office colleagues and strangers behind one IP and browser build,
switchboard phones, namesakes, with truth), ingests it the way users do (both CRMs through the sandbox
emulators with the real sources, the event files), builds intermediate.int_identity_records with dbt, then
resolves it and scores the profile map against the truth with identity.evaluation (one line per trap kind).
With --before REF the same records are also resolved by the identity code of git commit REF (its identity/,
revloop/ and config/, extracted with `git archive` and run in a subprocess), so the two tables compare the
models on one input. --workdir keeps the built records (records.parquet, truth.json) for later runs.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks.crm import machine_line
from benchmarks.dbt_commands import run_dbt_checked
from identity.evaluation import format_score, score
from revloop.warehouse import connect_warehouse

REPOSITORY = Path(__file__).resolve().parent.parent
# run by the subprocess with the old code first on sys.path: resolve the records, keep (source_id, profile_id)
RESOLVE_SNIPPET = """
import sys
from datetime import UTC, datetime
import pyarrow.parquet as pq
from identity.resolve import resolve
from revloop.config.identity import load_identity_config
resolution = resolve(pq.read_table(sys.argv[1]), None, load_identity_config(), datetime.now(UTC))
pq.write_table(resolution.profile_map.select(["source_id", "profile_id"]), sys.argv[2])
"""


def build_records(people: int, seed: int, folder: Path) -> tuple[pa.Table, dict]:
    """int_identity_records of a world of `people` (sandbox ingestion, dbt), and the world's truth."""
    from ingestion.events import events_source
    from ingestion.events import settings as events_settings
    from ingestion.hubspot import HubSpotConnection, hubspot_source
    from ingestion.hubspot import settings as hs_settings
    from ingestion.quarantine import Rejections
    from ingestion.salesforce import SalesforceConnection, salesforce_source
    from ingestion.salesforce import settings as sf_settings
    from revloop.warehouse import make_pipeline
    from sandbox.runner import SANDBOX_TOKEN, Sandbox
    from sandbox.world import generate_world

    warehouse, events_dir = folder / "warehouse.duckdb", folder / "events"
    world = generate_world(people=people, seed=seed)
    world.write_events(events_dir)
    rejections = Rejections()
    with Sandbox.start(folder / "sandbox", world) as sandbox:
        ca_bundle = str(sandbox.tls.ca_bundle)
        sf = SalesforceConnection(
            instance_url=sandbox.salesforce.url, access_token=SANDBOX_TOKEN, ca_bundle=ca_bundle
        )
        hs = HubSpotConnection(SANDBOX_TOKEN, sandbox.hubspot.url, ca_bundle)
        make_pipeline(sf_settings.PIPELINE_NAME, sf_settings.DATASET_NAME, warehouse).run(
            salesforce_source(sf, rejections=rejections)
        )
        make_pipeline(hs_settings.PIPELINE_NAME, hs_settings.DATASET_NAME, warehouse).run(
            hubspot_source(hs, rejections=rejections)
        )
    make_pipeline(events_settings.PIPELINE_NAME, events_settings.DATASET, warehouse).run(
        events_source(events_dir, rejections)
    )
    run_dbt_checked(["run", "--select", "+int_identity_records"], folder, {"WAREHOUSE_PATH": str(warehouse)})
    with connect_warehouse(warehouse, read_only=True) as connection:
        records = connection.sql("select * from intermediate.int_identity_records").to_arrow_table()
    return records, world.truth


def resolve_now(records: pa.Table) -> dict[str, str]:
    """source_id -> profile_id by the identity code of this checkout."""
    from identity.resolve import resolve
    from revloop.config.identity import load_identity_config

    profile_map = resolve(records, None, load_identity_config(), datetime.now(UTC)).profile_map
    return dict(zip(profile_map["source_id"].to_pylist(), profile_map["profile_id"].to_pylist(), strict=True))


def resolve_at(ref: str, records_file: Path, folder: Path) -> dict[str, str]:
    """source_id -> profile_id by the identity code (and its config/identity.yml) of git commit `ref`."""
    code = folder / f"code-{ref}"
    archive = subprocess.run(
        ["git", "-C", str(REPOSITORY), "archive", ref, "identity", "revloop", "config"],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(code, filter="data")
    out = folder / f"profile_map-{ref}.parquet"
    env = {**os.environ, "PYTHONPATH": str(code), "REVLOOP_CONFIG_DIR": str(code / "config")}
    subprocess.run(
        [sys.executable, "-c", RESOLVE_SNIPPET, str(records_file), str(out)], env=env, check=True, cwd=code
    )
    table = pq.read_table(out)
    return dict(zip(table["source_id"].to_pylist(), table["profile_id"].to_pylist(), strict=True))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--before", metavar="REF", help="also score the identity code of this git commit")
    parser.add_argument("--workdir", type=Path, help="keeps the built records for reuse (default: temp dir)")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="revloop-bench-identity-traps-"))
    workdir.mkdir(parents=True, exist_ok=True)
    records_file, truth_file = workdir / "records.parquet", workdir / "truth.json"
    print(machine_line())
    try:
        if records_file.exists() and truth_file.exists():
            records, truth = pq.read_table(records_file), json.loads(truth_file.read_text())
            print(f"reused {records_file}")
        else:
            started = time.perf_counter()
            records, truth = build_records(args.people, args.seed, workdir / "world")
            pq.write_table(records, records_file)
            truth_file.write_text(json.dumps(truth, default=str))
            print(f"world of {args.people:,} people built in {time.perf_counter() - started:.0f}s")
        present = set(records["source_id"].to_pylist())
        runs = [("now", lambda: resolve_now(records))]
        if args.before:
            runs.insert(0, (f"before: {args.before}", lambda: resolve_at(args.before, records_file, workdir)))
        for name, run in runs:
            started = time.perf_counter()
            profile_of = run()
            seconds = time.perf_counter() - started
            print(f"\n{name} ({len(present):,} records, resolved in {seconds:.1f}s)")
            print(format_score(score(truth, profile_of, present)))
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
