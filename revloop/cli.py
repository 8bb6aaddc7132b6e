"""The `revloop` command: status, doctor and segments (preview, materialize, builder)."""

import argparse
import difflib
import sys
import warnings
from pathlib import Path

from revloop.config import ConfigError
from segments import SegmentError, SegmentReport, materialize_segments, preview_segment, render
from segments.builder import add_arguments as add_builder_arguments
from segments.builder import serve as serve_builder
from segments.connection import TARGETS, connect_postgres, default_target
from segments.conversions import DEFAULT_KIND, KINDS

EXAMPLES = """examples:
  revloop status                      what is configured, the last runs, the warehouse's size
  revloop doctor                      check CRM credentials and fields, SMTP and disk space
  revloop segments preview config/segments/high_intent_visitors.yml
  revloop segments materialize        evaluate every segment of config/segments
  revloop segments builder            the segment builder page (open the URL it prints)

Each command has its own help: revloop doctor --help, revloop segments preview --help."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="revloop",
        description="revloop: your revenue data platform from the command line.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    status = commands.add_parser(
        "status", help="what is configured, the last runs and the warehouse's size",
        description="What revloop reaches (never a secret), the newest Dagster runs (DAGSTER_HOME) and the "
        "warehouse's size and tables, read-only.",
    )
    status.add_argument("--warehouse", type=Path, help="DuckDB warehouse (default WAREHOUSE_PATH)")
    doctor = commands.add_parser(
        "doctor", help="check credentials, CRM fields, SMTP and disk space",
        description="Checks that the CRM credentials work, that the fields and properties config/sync.yml "
        "writes exist, that the SMTP relay answers (TLS and login, no mail sent) and that the disk has room. "
        "One PASS, FAIL or SKIP line each; exit status 1 when any check fails. Secrets are never printed.",
    )
    doctor.add_argument("--warehouse", type=Path, help="DuckDB warehouse (default WAREHOUSE_PATH)")
    segments = commands.add_parser("segments", help="preview, materialize or build segment definitions")
    segments = segments.add_subparsers(dest="action", metavar="ACTION", title="actions", required=True)
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
    builder = segments.add_parser(
        "builder", help="serve the segment builder page on 127.0.0.1",
        description="A local page to build segments with a live count, suggestions and saving to "
        "config/segments; open the URL it prints (it carries a per-start token). Ctrl-C or SIGTERM stops it.",
    )
    add_builder_arguments(builder)
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


def _choices(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """A parser's subcommands by name."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def unknown_command(parser: argparse.ArgumentParser, argv: list[str]) -> str | None:
    """The error for the first command word that is not a command, with the closest ones suggested.

    argparse only suggests from Python 3.14 on; this does it on every supported version.
    """
    words = iter(word for word in argv if not word.startswith("-"))
    choices = _choices(parser)
    where = parser.prog
    while choices:
        word = next(words, None)
        if word is None:
            return None
        if word not in choices:
            close = difflib.get_close_matches(word, list(choices), n=2, cutoff=0.6)
            hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            return (
                f"{where}: {word!r} is not a command.{hint}\n"
                f"Commands: {', '.join(choices)} (see '{where} --help')."
            )
        where = f"{where} {word}"
        choices = _choices(choices[word])
    return None


def _status(args: argparse.Namespace) -> int:
    from revloop.status import render as render_status
    from revloop.warehouse import warehouse_path

    print(render_status((args.warehouse or warehouse_path()).resolve()))
    return 0


def _doctor(args: argparse.Namespace) -> int:
    from revloop.doctor import FAIL, run_checks
    from revloop.doctor import render as render_checks
    from revloop.warehouse import warehouse_path

    checks = run_checks((args.warehouse or warehouse_path()).resolve())
    print(render_checks(checks))
    failed = sum(check.outcome == FAIL for check in checks)
    print(f"{failed} check(s) failed" if failed else "all checks passed (or skipped: not configured)")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """Run the command; exit status 2 for invalid definitions, an unusable warehouse or a mistyped command."""
    argv = sys.argv[1:] if argv is None else argv
    parser = _parser()
    mistyped = unknown_command(parser, argv)
    if mistyped:
        print(mistyped, file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    if args.command == "status":
        return _status(args)
    if args.command == "doctor":
        return _doctor(args)
    if args.action == "builder":
        return serve_builder(args)
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
