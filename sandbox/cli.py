"""`revloop-sandbox`: run the sandbox CRMs with a synthetic world, alone or around a command.

The CRMs' records are kept in a state file beside the warehouse (WAREHOUSE_PATH): a restart carries on
with what the last run left, and --reset starts a new world.
"""

import argparse
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from revloop.warehouse import warehouse_path
from sandbox.hubspot.webhooks import WebhookTarget
from sandbox.runner import Sandbox
from sandbox.state import (
    SandboxStateError,
    StateKeeper,
    WorldStamp,
    load_state,
    restore_state,
    save_state,
    state_path,
)
from sandbox.warehouse_check import check_warehouse
from sandbox.world import generate_world

WEBHOOK_SECRET_VARIABLE = "HUBSPOT_CLIENT_SECRET"
DEFAULT_PEOPLE = 2000
DEFAULT_SEED = 7
# Live records of these objects are counted in the start-up line.
_SF_OBJECTS = ("Lead", "Contact", "Account", "Opportunity")
_HS_OBJECTS = ("contacts", "companies", "deals")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="revloop-sandbox", description=__doc__)
    parser.add_argument(
        "--people", type=int, help=f"size of a new synthetic world (default {DEFAULT_PEOPLE})"
    )
    parser.add_argument("--seed", type=int, help=f"seed of a new synthetic world (default {DEFAULT_SEED})")
    parser.add_argument(
        "--state",
        type=Path,
        help="the CRMs' saved records (default: sandbox.pickle in the warehouse's state folder, "
        "beside WAREHOUSE_PATH)",
    )
    parser.add_argument(
        "--reset", action="store_true", help="discard the saved records and start a new world"
    )
    parser.add_argument(
        "--no-check",
        action="store_true",
        help="start even when the warehouse holds CRM records this sandbox does not",
    )
    parser.add_argument(
        "--dir", type=Path, default=Path("data/sandbox"), help="certificates, truth, env file"
    )
    parser.add_argument("--events-dir", type=Path, default=Path(os.environ.get("EVENTS_DIR", "data/events")))
    parser.add_argument("--sf-port", type=int, default=8710, help="Salesforce emulator port (0: any)")
    parser.add_argument("--hs-port", type=int, default=8711, help="HubSpot emulator port (0: any)")
    parser.add_argument("--no-events", action="store_true", help="do not write the world's event files")
    parser.add_argument(
        "--webhook-url",
        help="post HubSpot webhooks for contact, company and deal changes to this URL, signed with "
        f"{WEBHOOK_SECRET_VARIABLE} as HubSpot signs them (e.g. http://127.0.0.1:8088/webhooks/hubspot)",
    )
    parser.add_argument(
        "command",
        nargs=argparse.REMAINDER,
        help="after --: a command to run with the sandbox's variables set; the sandbox stops when it ends",
    )
    return parser


def _new_world(args: argparse.Namespace, state: Path) -> tuple[Sandbox, WorldStamp]:
    """A sandbox seeded with a new synthetic world (truth and event files written), saved at once."""
    stamp = WorldStamp.new(DEFAULT_SEED if args.seed is None else args.seed, args.people or DEFAULT_PEOPLE)
    world = generate_world(people=stamp.people, seed=stamp.seed)
    args.dir.mkdir(parents=True, exist_ok=True)
    world.write_truth(args.dir / "truth.json")
    if not args.no_events:
        world.write_events(args.events_dir)
    sandbox = Sandbox.start(args.dir, world, args.sf_port, args.hs_port)
    try:
        save_state(state, stamp, sandbox)
    except OSError:
        sandbox.stop()
        raise
    return sandbox, stamp


def _saved_world(args: argparse.Namespace, state: Path) -> tuple[Sandbox, WorldStamp]:
    """A sandbox holding the records saved in state (no world is generated, no event file rewritten)."""
    saved = load_state(state)
    sandbox = Sandbox.start(args.dir, None, args.sf_port, args.hs_port)
    try:
        restore_state(saved, sandbox)
    except SandboxStateError:
        sandbox.stop()
        raise
    asked = (("people", args.people, saved.world.people), ("seed", args.seed, saved.world.seed))
    ignored = [f"--{name} {given}" for name, given, kept in asked if given is not None and given != kept]
    if ignored:
        print(f"note: {' and '.join(ignored)} ignored: they shape a new world only (add --reset)", flush=True)
    print(f"sandbox restored from {state}: {saved.world.describe()}, saved {saved.saved_at}", flush=True)
    return sandbox, saved.world


def _start(args: argparse.Namespace, state: Path) -> tuple[Sandbox, WorldStamp]:
    started = time.monotonic()
    if args.reset:
        state.unlink(missing_ok=True)
    sandbox, stamp = _saved_world(args, state) if state.exists() else _new_world(args, state)
    env_file = args.dir / "sandbox.env"
    env_file.write_text("".join(f"{k}={shlex.quote(v)}\n" for k, v in sandbox.env().items()))
    sf_counts = ", ".join(f"{len(sandbox.salesforce.app.records(name))} {name}" for name in _SF_OBJECTS)
    hs_counts = ", ".join(f"{len(sandbox.hubspot.app.records(name))} {name}" for name in _HS_OBJECTS)
    elapsed = time.monotonic() - started
    print(
        f"sandbox up in {elapsed:.1f}s: Salesforce {sandbox.salesforce.url} ({sf_counts}); "
        f"HubSpot {sandbox.hubspot.url} ({hs_counts}); {stamp.describe()}; state in {state}; "
        f"events in {args.events_dir}; variables in {env_file}",
        flush=True,
    )
    return sandbox, stamp


def _run_with_sandbox(command: list[str], sandbox) -> int:
    """Run command with the sandbox's variables; a SIGTERM to us is passed on, so nothing is left behind."""
    # Started in the background, we may have inherited an ignored SIGINT, which the child would inherit
    # too: `dagster dev` turns SIGTERM into SIGINT and would then never stop.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    child = subprocess.Popen(command, env={**os.environ, **sandbox.env()})
    signal.signal(signal.SIGTERM, lambda *_: child.terminate())
    try:
        return child.wait()
    except KeyboardInterrupt:  # Ctrl-C reached the child too; let it finish shutting down
        return child.wait()


def main(argv: list[str] | None = None) -> int:
    """Start the sandbox (exit status 2 when its saved state or the warehouse does not fit)."""
    args = _parser().parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    secret = os.environ.get(WEBHOOK_SECRET_VARIABLE)
    if args.webhook_url and not secret:
        print(f"error: --webhook-url needs {WEBHOOK_SECRET_VARIABLE} (the collector checks it)",
              file=sys.stderr)
        return 2
    warehouse = warehouse_path()
    state = (args.state or state_path(warehouse)).resolve()
    try:
        sandbox, stamp = _start(args, state)
    except SandboxStateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    keeper = None
    try:
        check = check_warehouse(warehouse, sandbox)
        if check.skipped:
            print(f"note: not checked against the warehouse: {check.skipped}", flush=True)
        elif not check.matches:
            print(check.message(state), file=sys.stderr, flush=True)
            if not args.no_check:
                return 2
        keeper = StateKeeper(state, stamp, sandbox).start()
        if args.webhook_url:
            sandbox.hubspot.app.deliver_webhooks(WebhookTarget(args.webhook_url, secret))
            print(f"HubSpot webhooks go to {args.webhook_url}", flush=True)
        if command:
            return _run_with_sandbox(command, sandbox)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        print("serving until interrupted (Ctrl-C)", flush=True)
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
        return 0
    finally:
        sandbox.hubspot.app.deliver_webhooks(None)
        sandbox.stop()
        if keeper is not None:
            keeper.stop()


if __name__ == "__main__":
    sys.exit(main())
