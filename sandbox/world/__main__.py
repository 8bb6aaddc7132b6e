"""Command line: write a seeded world's event files and truth, or bulk benchmark events."""

import argparse
import json
import time
from datetime import datetime
from pathlib import Path

from sandbox.world import generate_world, write_bulk_events


def _date(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, generate, print a one-line JSON summary."""
    parser = argparse.ArgumentParser(prog="python -m sandbox.world", description=__doc__)
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--as-of", type=_date, default=None, help="ISO date-time; default today 00:00 UTC")
    parser.add_argument("--events-dir", type=Path, help="write the world's event files here")
    parser.add_argument("--truth", type=Path, help="write the truth JSON here")
    parser.add_argument(
        "--events", type=int, help="instead: write this many bulk benchmark lines to --events-dir"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.events is not None:
        if args.events_dir is None:
            parser.error("--events needs --events-dir")
        counts = write_bulk_events(args.events_dir, args.events, args.people, args.seed, as_of=args.as_of)
        summary = {"bulk_lines": counts}
    else:
        world = generate_world(args.people, args.seed, args.as_of)
        summary = {
            "salesforce": {k: len(v) for k, v in world.salesforce.items()},
            "hubspot": {k: len(v) for k, v in world.hubspot.items()},
        }
        if args.events_dir:
            summary["event_files"] = len(world.write_events(args.events_dir))
        if args.truth:
            world.write_truth(args.truth)
            summary["truth"] = str(args.truth)
    summary["seconds"] = round(time.perf_counter() - started, 2)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
