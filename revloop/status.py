"""`revloop status`: what is configured, the last Dagster runs, and the warehouse's size and freshness.

Reads only: the environment (names and addresses, never secrets), the Dagster instance at DAGSTER_HOME and
the warehouse opened read-only.
"""

import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import duckdb

from activation.mail import MailConfigError, SmtpSettings
from revloop.config import config_dir
from revloop.redact import mask
from revloop.warehouse import connect_warehouse, events_dir

RUNS_SHOWN = 5


def configured() -> Iterator[tuple[str, str]]:
    """(what, how it is set) for each system revloop reaches."""
    env = os.environ
    if env.get("SALESFORCE_ACCESS_TOKEN"):
        salesforce = f"{env.get('SALESFORCE_INSTANCE_URL') or '(no SALESFORCE_INSTANCE_URL)'}, access token"
    elif env.get("SALESFORCE_USERNAME"):
        domain = env.get("SALESFORCE_DOMAIN") or "login"
        salesforce = f"username login {env['SALESFORCE_USERNAME']} ({domain})"
    else:
        salesforce = "not configured"
    yield "salesforce", salesforce
    hubspot = env.get("HUBSPOT_BASE_URL") or "https://api.hubapi.com"
    yield "hubspot", f"{hubspot}, private-app token" if env.get("HUBSPOT_ACCESS_TOKEN") else "not configured"
    try:
        smtp = SmtpSettings.from_env()
        mail = f"{smtp.host}:{smtp.port} from {smtp.sender}" if smtp else "not configured (outbox only)"
    except MailConfigError as exc:
        mail = f"unusable: {exc}"
    yield "smtp", mail
    if (env.get("DBT_TARGET") or "duckdb") == "postgres":
        yield "marts", f"postgres {env.get('POSTGRES_HOST', '127.0.0.1')}:{env.get('POSTGRES_PORT', '5432')}"
    yield "events", str(events_dir())
    yield "config", str(config_dir())
    schedules = (env.get("REVLOOP_SCHEDULES") or "on").strip().lower()
    yield "dagster", f"{env.get('DAGSTER_HOME') or '(DAGSTER_HOME unset)'}; schedules {schedules} by default"


def last_runs(limit: int = RUNS_SHOWN) -> tuple[list[str], str | None]:
    """The newest runs as lines, or why there is no history to read."""
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        return [], "DAGSTER_HOME is unset: runs leave no history"
    if not (Path(home) / "history").is_dir() and not (Path(home) / "storage").is_dir():
        return [], f"no runs recorded in {home} yet"
    from dagster import DagsterInstance  # ~2 s to import: only when there is a history to read

    with DagsterInstance.get() as instance:
        records = instance.get_run_records(limit=limit)
    lines = []
    for record in records:
        run = record.dagster_run
        start, end = record.start_time, record.end_time
        took = f", {end - start:.0f}s" if start and end else ""
        lines.append(f"{_when(start)}  {run.job_name}  {run.status.value.lower()}{took}  ({run.run_id[:8]})")
    return lines, None if lines else f"no runs recorded in {home} yet"


def _when(timestamp: float | None) -> str:
    return datetime.fromtimestamp(timestamp).astimezone().strftime("%Y-%m-%d %H:%M") if timestamp else "-"


def warehouse_summary(warehouse: Path) -> list[str]:
    """Size on disk, tables per schema and the last CRM write, from a read-only look at the file."""
    if not warehouse.exists():
        return [f"{warehouse}: not built yet (make demo, or a run in the Dagster UI)"]
    size = sum(p.stat().st_size for p in (warehouse, Path(f"{warehouse}.wal")) if p.exists())
    lines = [f"{warehouse}: {human_size(size)}"]
    try:
        connection = connect_warehouse(warehouse, read_only=True)
    except duckdb.Error as exc:
        lines.append(f"busy, not read: {str(exc).splitlines()[0]} (a run holds the file)")
        return lines
    try:
        tables = connection.execute(
            "select table_schema, table_name from information_schema.tables order by all"
        ).fetchall()
        schemas: dict[str, int] = {}
        for schema, _ in tables:
            schemas[schema] = schemas.get(schema, 0) + 1
        lines.append("tables: " + ", ".join(f"{schema} {count}" for schema, count in schemas.items()))
        if ("activation", "sync_log") in tables:
            last, writes = connection.execute(
                "select max(last_seen_at), count(*) filter (where status in ('created', 'updated')) "
                "from activation.sync_log"
            ).fetchone()
            if last is not None:
                lines.append(f"last CRM sync logged {last:%Y-%m-%d %H:%M %Z}; {writes} record writes in all")
    finally:
        connection.close()
    return lines


def human_size(count: float) -> str:
    """A byte count in B, KB, MB, GB or TB."""
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1024:
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} TB"


def render(warehouse: Path) -> str:
    """The status report."""
    out = ["Configured:"]
    out += [f"  {what:<10} {how}" for what, how in configured()]
    out += ["Warehouse:"] + [f"  {line}" for line in warehouse_summary(warehouse)]
    runs, reason = last_runs()
    out += ["Last runs:"] + [f"  {line}" for line in runs or [reason or ""]]
    return mask("\n".join(out), os.environ)
