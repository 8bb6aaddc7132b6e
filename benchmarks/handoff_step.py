"""The handoff step alone on a whole-graph benchmark's warehouse: what one first run of it costs at that size.

    python -m benchmarks.whole_graph --people 20000 --events 4000000 --workdir /tmp/wg20
    python -m benchmarks.handoff_step --workdir /tmp/wg20 --people 20000

A copy of <workdir>/warehouse.duckdb loses its handoff tables (the handoffs, states, round-robin pointer,
outbox, record statuses and stale list), so every due lead is handed off again as in the first run. The same
world (--people, --seed) is served again by a spawned sandbox, and an aiosmtpd sink in another spawned
process takes the e-mails: neither's CPU counts. Records the whole run's sync created are not in the world
served again, so their owner writes fail (NOT_FOUND, counted in the errors). --runs runs the step again on
the same warehouse: the second is what an hourly run costs once the first run's handoffs are open. Prints,
per run, the step's wall and CPU seconds per phase, its counts and this process's peak RSS.
--digest-min-handoffs N runs with notifications.digest_min_handoffs set to N (a rep with N or more new
handoffs in a run gets one digest mail; 0: no digest, one mail per handoff).
"""

import argparse
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from benchmarks.crm import machine_line, peak_rss_mb
from benchmarks.handoff import free_port

HANDOFF_TABLES = (
    "lead_handoffs",
    "handoff_state",
    "handoff_round_robin",
    "outbox",
    "handoff_record_status",
    "handoff_stale_leads",
)


def serve_sink(port: int, ready) -> None:
    """(Spawned process) an SMTP sink that accepts every message, until terminated."""
    from aiosmtpd.controller import Controller

    class Accept:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"

    Controller(Accept(), hostname="127.0.0.1", port=port).start()
    ready.set()
    while True:
        time.sleep(60)


def fresh_copy(source: Path, target: Path) -> None:
    """The whole run's warehouse without its handoff tables."""
    from revloop.warehouse import connect_warehouse

    shutil.copy(source, target)
    with connect_warehouse(target) as connection:
        for table in HANDOFF_TABLES:
            connection.execute(f"drop table if exists activation.{table}")


def print_run(number: int, wall: float, cpu: float, report) -> None:
    """One run's figures: wall and CPU seconds, peak RSS, counts, phases and errors by kind."""
    print(f"run {number}: {wall:.1f} s wall, {cpu:.1f} CPU s; peak RSS so far {peak_rss_mb():,.0f} MB")
    print(
        f"  due {report.due:,}, handed off {sum(report.handed_off.values()):,}, "
        f"owners set {report.owners_set:,}, tasks created {report.tasks_created:,}, "
        f"e-mails {report.emails}, stale {report.stale:,}"
    )
    for phase, seconds in report.seconds.items():
        print(f"  {phase:20s} {seconds:7.2f} s wall {report.cpu_seconds[phase]:7.2f} CPU s")
    kinds = Counter(error.partition(":")[2].split(":")[0].strip() or error for error in report.errors)
    print(
        f"  errors {len(report.errors):,}: " + ", ".join(f"{kind} {n:,}" for kind, n in kinds.most_common(5))
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True, help="a whole-graph benchmark's --workdir")
    parser.add_argument("--people", type=int, required=True, help="the whole-graph run's --people")
    parser.add_argument("--seed", type=int, default=7, help="the whole-graph run's --seed")
    parser.add_argument(
        "--runs",
        type=int,
        default=2,
        help="runs one after the other (the second: an hourly run, nothing new)",
    )
    parser.add_argument(
        "--digest-min-handoffs",
        type=int,
        default=None,
        help="notifications.digest_min_handoffs for these runs, 0 for none (default: config/handoff.yml's)",
    )
    args = parser.parse_args(argv)

    from activation.handoff import run_handoffs
    from activation.mail import SmtpSettings
    from benchmarks.whole_graph import serve_sandbox
    from ingestion.hubspot.client import HubSpotConnection
    from ingestion.salesforce.client import SalesforceConnection, connect
    from revloop.config.handoff import load_handoff_config
    from revloop.warehouse import connect_warehouse

    config = load_handoff_config()
    if args.digest_min_handoffs is not None:
        minimum = args.digest_min_handoffs or None
        bulk = config.notifications.model_copy(update={"digest_min_handoffs": minimum})
        config = config.model_copy(update={"notifications": bulk})

    print(machine_line(), flush=True)
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="bench-handoff-step-") as tmp:
        folder = Path(tmp)
        ours, theirs = context.Pipe()
        sandbox = context.Process(
            target=serve_sandbox,
            args=(args.people, args.seed, folder / "sandbox", folder / "events", theirs),
            daemon=True,
        )
        sandbox.start()
        port, ready = free_port(), context.Event()
        sink = context.Process(target=serve_sink, args=(port, ready), daemon=True)
        sink.start()
        try:
            ready.wait()
            sandbox_env, _, _ = ours.recv()
            os.environ.update(sandbox_env)
            warehouse = folder / "warehouse.duckdb"
            fresh_copy(args.workdir / "warehouse.duckdb", warehouse)
            smtp = SmtpSettings("127.0.0.1", port, "revloop@sellwise.io")
            for number in range(1, args.runs + 1):
                started, cpu_started = time.perf_counter(), time.process_time()
                sf, hs = connect(SalesforceConnection.from_env()), HubSpotConnection.from_env().hubspot()
                with connect_warehouse(warehouse) as connection:
                    report = run_handoffs(connection, sf, hs, smtp, config=config)
                print_run(number, time.perf_counter() - started, time.process_time() - cpu_started, report)
        finally:
            sink.terminate()
            sandbox.terminate()
            sandbox.join(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
