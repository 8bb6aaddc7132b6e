"""Quiet at rest: syncs separated only by re-ingesting what the previous sync wrote must settle.

    python -m benchmarks.sync_at_rest --people 400

Seeds the sandbox with a world (its event files too), builds the warehouse (both CRMs and the events
ingested, dbt, identity resolution, segments, the sync models), serves the same world again (as a
restarted sandbox would) and then, `--rounds` times: sync, ingest both CRMs again, rebuild. Nothing
changes upstream after the first build, so every sync after the first must send no write call (counted
from the emulators' request logs) and the profiles must not move between builds: per round it prints the
write calls, the records' outcomes, the duplicates in the CRMs, the full scans among the reads since the
previous sync, the identity links that changed and the profile values that changed
(marts.customer_profiles, lead_score included). Exit status 1 if a sync after the first wrote.
With --faults the first sync meets commit-then-fail answers and refused records (benchmarks.sync).
"""

import argparse
import os
import shutil
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.crm import machine_line
from benchmarks.sync import build_warehouse, inject_faults, log_positions, run_sync_once
from revloop.profiles import profile_contract
from revloop.warehouse import connect_warehouse

if TYPE_CHECKING:
    from sandbox.world import World


def profile_columns() -> tuple[str, ...]:
    """The customer_profiles values that must stay put at rest: the contract's attributes and lead_score."""
    return (*profile_contract().attributes, "lead_score")


def snapshot(warehouse: Path) -> tuple[dict[str, tuple], set[tuple]]:
    """customer_profiles values per profile id, and every identity link."""
    with connect_warehouse(warehouse, read_only=True) as connection:
        profiles = connection.execute(
            f"select profile_id, {', '.join(profile_columns())} from marts.customer_profiles"
        ).fetchall()
        links = connection.execute(
            "select profile_id, source_system, source_id from marts.identity_links"
            " where source_system in ('salesforce', 'hubspot')"
        ).fetchall()
    return {row[0]: row[1:] for row in profiles}, set(links)


def moved(before: tuple[dict, set], after: tuple[dict, set]) -> dict[str, int]:
    """How many CRM identity links and profile values differ between two snapshots."""
    (profiles_a, links_a), (profiles_b, links_b) = before, after
    changes: Counter = Counter(
        {"crm links gone": len(links_a - links_b), "crm links new": len(links_b - links_a)}
    )
    for profile_id in profiles_a.keys() & profiles_b.keys():
        for name, a, b in zip(profile_columns(), profiles_a[profile_id], profiles_b[profile_id], strict=True):
            if a != b:
                changes[name] += 1
    changes["profiles gone"] = len(profiles_a.keys() - profiles_b.keys())
    changes["profiles new"] = len(profiles_b.keys() - profiles_a.keys())
    return dict(changes)


def ingest_events(world, folder: Path, warehouse: Path) -> None:
    """The world's event files, loaded once (they do not change between rounds)."""
    from ingestion.load import load_source

    events_dir = folder / "events"
    world.write_events(events_dir)
    load_source(events_dir, warehouse)


@dataclass(frozen=True)
class Round:
    """One sync and the rebuild after it: write calls per CRM, records planned and their outcomes, records
    duplicated in the CRMs, full scans in the reads since the previous sync, what moved in the profiles."""

    calls: dict[str, int]  # record-writing calls per CRM, and HubSpot association calls
    planned: dict[str, int]
    outcomes: dict[str, int]  # records per status (held: refused before, unchanged, not sent)
    duplicates: dict[str, int]
    scans: dict[str, int]
    moved: dict[str, int]


def build_world(people: int, seed: int, workdir: Path) -> "World":
    """Generate a world and build workdir/warehouse.duckdb from it: its events, both CRMs as the sandbox
    serves them, dbt around identity resolution and the segments. The sandbox stops afterwards: a sandbox
    seeded again with the returned world serves the same records (what `run_rounds` starts)."""
    from sandbox.runner import Sandbox
    from sandbox.world import generate_world

    world = generate_world(people=people, seed=seed)
    ingest_events(world, workdir, workdir / "warehouse.duckdb")
    with Sandbox.start(workdir / "sandbox", world) as sandbox:
        build_warehouse(sandbox, workdir / "warehouse.duckdb", workdir)
    return world


def run_rounds(
    world: "World", workdir: Path, rounds: int, faults: bool = False,
    reads: list[tuple[str, ...]] | None = None,
) -> list[Round]:
    """On workdir/warehouse.duckdb as `build_world` left it, with a sandbox seeded with its world, `rounds`
    times: sync, ingest the CRMs again, rebuild.

    faults: the first sync meets commit-then-fail answers and one refused record per CRM (inject_faults).
    reads: the CRMs ingested again after each sync (default both every time); one CRM alone is what a
    sensor run for that CRM's change reads."""
    if reads is not None and len(reads) != rounds:
        raise ValueError(f"reads names the CRMs of {len(reads)} rounds, not {rounds}")
    from sandbox.runner import Sandbox

    warehouse = workdir / "warehouse.duckdb"
    results = []
    with Sandbox.start(workdir / "sandbox", world) as sandbox:
        state = snapshot(warehouse)
        since = log_positions(sandbox)
        if faults:
            inject_faults(sandbox)
        for crms in reads or [("salesforce", "hubspot")] * rounds:  # one entry per round
            run = run_sync_once(sandbox, warehouse, since)
            since = log_positions(sandbox)
            build_warehouse(sandbox, warehouse, workdir, crms)
            after = snapshot(warehouse)
            # association calls are writes too (the request-log count covers record writes only)
            associations = sum(n for name, n in run.groups.items() if name.endswith(".associate"))
            calls = {**run.calls, "hubspot associations": associations}
            planned, outcomes = dict(sorted(run.planned.items())), dict(sorted(run.sent.items()))
            results.append(Round(calls, planned, outcomes, run.duplicates, run.scans, moved(state, after)))
            state = after
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=400)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=3, help="syncs, each followed by ingestion and rebuild")
    parser.add_argument("--faults", action="store_true", help="commit-then-fail answers in the first sync")
    parser.add_argument("--workdir", type=Path, help="where files go (default: a temp dir, removed after)")
    args = parser.parse_args(argv)

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="revloop-sync-at-rest-"))
    workdir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    try:
        print(machine_line())
        world = build_world(args.people, args.seed, workdir)
        rounds = run_rounds(world, workdir, args.rounds, args.faults)
        for n, result in enumerate(rounds, 1):
            print(
                f"sync {n}: write calls {result.calls}, records {result.planned}, "
                f"outcomes {result.outcomes}, duplicates {result.duplicates}, "
                f"full scans since the previous sync {result.scans}; "
                f"then re-ingested and rebuilt, moved: {result.moved}"
            )
        later_writes = sum(sum(r.calls.values()) for r in rounds[1:])
        if later_writes:
            print(f"FAILED: syncs after the first sent {later_writes} write calls", file=sys.stderr)
            return 1
        return 0
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
