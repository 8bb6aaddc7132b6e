"""`revloop-sandbox`: run the sandbox CRMs with a synthetic world, alone or around a command."""

import argparse
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from sandbox.runner import Sandbox
from sandbox.world import generate_world


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="revloop-sandbox", description=__doc__)
    parser.add_argument("--people", type=int, default=2000, help="size of the synthetic world")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--dir", type=Path, default=Path("data/sandbox"), help="certificates, truth, env file"
    )
    parser.add_argument("--events-dir", type=Path, default=Path(os.environ.get("EVENTS_DIR", "data/events")))
    parser.add_argument("--sf-port", type=int, default=8710, help="Salesforce emulator port (0: any)")
    parser.add_argument("--hs-port", type=int, default=8711, help="HubSpot emulator port (0: any)")
    parser.add_argument("--no-events", action="store_true", help="do not write the world's event files")
    parser.add_argument(
        "command",
        nargs=argparse.REMAINDER,
        help="after --: a command to run with the sandbox's variables set; the sandbox stops when it ends",
    )
    return parser


def _start(args: argparse.Namespace) -> Sandbox:
    started = time.monotonic()
    world = generate_world(people=args.people, seed=args.seed)
    args.dir.mkdir(parents=True, exist_ok=True)
    world.write_truth(args.dir / "truth.json")
    if not args.no_events:
        world.write_events(args.events_dir)
    sandbox = Sandbox.start(args.dir, world, args.sf_port, args.hs_port)
    env_file = args.dir / "sandbox.env"
    env_file.write_text("".join(f"{k}={shlex.quote(v)}\n" for k, v in sandbox.env().items()))
    counts = ", ".join(f"{len(v)} {k}" for k, v in world.salesforce.items())
    hs_counts = ", ".join(f"{len(v)} {k}" for k, v in world.hubspot.items())
    print(
        f"sandbox up in {time.monotonic() - started:.1f}s: Salesforce {sandbox.salesforce.url} ({counts}); "
        f"HubSpot {sandbox.hubspot.url} ({hs_counts}); events in {args.events_dir}; variables in {env_file}",
        flush=True,
    )
    return sandbox


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
    args = _parser().parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    sandbox = _start(args)
    try:
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
        sandbox.stop()


if __name__ == "__main__":
    sys.exit(main())
