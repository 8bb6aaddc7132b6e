"""The `revloop` command: `revloop segments preview FILE` and `revloop segments materialize`."""

import argparse
import sys
import warnings
from pathlib import Path

from revloop.config import ConfigError
from segments import SegmentError, SegmentReport, materialize_segments, preview_segment, render
from segments.connection import TARGETS, connect_postgres, default_target
from segments.conversions import DEFAULT_KIND, KINDS


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
    preview.add_argument(
        "--conversion",
        choices=KINDS,
        default=DEFAULT_KIND,
        help=f"the conversion the suggestions aim to raise (default {DEFAULT_KIND})",
    )
    materialize = segments.add_parser("materialize", help="evaluate every segment of config/segments")
    materialize.add_argument("--warehouse", type=Path, help="DuckDB warehouse (default WAREHOUSE_PATH)")
    materialize.add_argument("--config-dir", type=Path, help="config folder (default REVLOOP_CONFIG_DIR)")
    materialize.add_argument(
        "--target",
        choices=TARGETS,
        help="warehouse holding the marts: duckdb (WAREHOUSE_PATH) or postgres (POSTGRES_HOST, "
        "POSTGRES_PORT, POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB); default DBT_TARGET, else duckdb",
    )
    return parser


def _materialize(args: argparse.Namespace) -> SegmentReport:
    """Every segment evaluated into the target warehouse; its warnings come back in the report."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # main prints the report's warnings once, plainly
        if (args.target or default_target()) != "postgres":
            return materialize_segments(args.warehouse, args.config_dir)
        connection = connect_postgres()
        try:
            return materialize_segments(config_dir=args.config_dir, connection=connection)
        finally:
            connection.close()


def main(argv: list[str] | None = None) -> int:
    """Run the command; exit status 2 for invalid definitions or an unusable warehouse."""
    args = _parser().parse_args(argv)
    try:
        if args.action == "preview":
            result = preview_segment(
                args.file,
                args.warehouse,
                args.sample,
                with_suggestions=not args.no_suggestions,
                conversion=args.conversion,
            )
            print(render(result))
            return 0
        report = _materialize(args)
    except (SegmentError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for run in report.segments:
        rates = ", ".join(f"{c.kind} {'n/a' if c.rate is None else f'{c.rate:.1%}'}" for c in run.conversions)
        print(
            f"{run.segment_name} ({run.segment_type}): {run.size} members, +{run.entries} -{run.exits}; "
            f"conversion {rates}"
        )
    for kind, reason in report.unavailable.items():
        print(f"note: {kind} conversion unavailable: {reason}")
    for message in report.warnings:
        print(f"warning: {message}", file=sys.stderr)
    for message in report.errors:
        print(f"error: {message}", file=sys.stderr)
    return 0 if report.ok else 2


if __name__ == "__main__":
    sys.exit(main())
