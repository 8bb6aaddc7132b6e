"""The `revloop` command: `revloop segments preview FILE` and `revloop segments materialize`."""

import argparse
import sys
from pathlib import Path

from revloop.config import ConfigError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="revloop", description="revloop command line")
    commands = parser.add_subparsers(dest="command", required=True)
    segments = commands.add_parser("segments", help="segment definitions").add_subparsers(
        dest="action", required=True
    )
    preview = segments.add_parser("preview", help="count and sample the profiles a segment file matches")
    preview.add_argument("file", type=Path, help="a segment YAML file")
    preview.add_argument("--warehouse", type=Path, help="DuckDB warehouse (default WAREHOUSE_PATH)")
    preview.add_argument("--sample", type=int, default=10, help="profiles to show (default 10)")
    preview.add_argument("--no-suggestions", action="store_true", help="skip the lift suggestions")
    materialize = segments.add_parser("materialize", help="evaluate every segment of config/segments")
    materialize.add_argument("--warehouse", type=Path, help="DuckDB warehouse (default WAREHOUSE_PATH)")
    materialize.add_argument("--config-dir", type=Path, help="config folder (default REVLOOP_CONFIG_DIR)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command; exit status 2 for invalid definitions or an unusable warehouse."""
    args = _parser().parse_args(argv)
    from segments import SegmentError, materialize_segments, preview_segment, render

    try:
        if args.action == "preview":
            result = preview_segment(
                args.file, args.warehouse, args.sample, with_suggestions=not args.no_suggestions
            )
            print(render(result))
            return 0
        report = materialize_segments(args.warehouse, args.config_dir)
    except (SegmentError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for run in report.segments:
        print(f"{run.segment_name} ({run.segment_type}): {run.size} members, +{run.entries} -{run.exits}")
    for message in report.errors:
        print(f"error: {message}", file=sys.stderr)
    return 0 if report.ok else 2


if __name__ == "__main__":
    sys.exit(main())
