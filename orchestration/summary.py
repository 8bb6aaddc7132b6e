"""What landed in the warehouse, for the end of `make demo`: a summary a person reads in ten seconds."""

from collections.abc import Callable
from pathlib import Path

from ml.registry import ModelRegistry
from revloop.config.models import TASKS
from revloop.warehouse import connect_warehouse, database_file, list_tables, table_exists, warehouse_path

# dlt's bookkeeping tables: not data an analyst queries.
_INTERNAL_PREFIX = "_dlt_"
NOT_RUN = "-  (not run)"
TOP_SEGMENTS = 5


def table_row_counts(path=None) -> list[tuple[str, str, int]]:
    """(schema, table, rows) for every data table of the warehouse, ordered by schema and table."""
    with connect_warehouse(path or warehouse_path(), read_only=True) as con:
        return [
            (schema, table, con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0])
            for schema, table in list_tables(con)
            if not table.startswith(_INTERNAL_PREFIX) and not schema.endswith("_staging")
        ]


def _count(con, relation: str, where: str = "") -> int | None:
    """Rows of a table (with an optional filter), or None when the table does not exist."""
    if not table_exists(con, relation):
        return None
    return con.execute(f"select count(*) from {relation} {where}").fetchone()[0]


def _groups(con, relation: str, column: str) -> list[tuple[str, int]] | None:
    """(value, rows) of one column, largest first, or None when the table does not exist."""
    if not table_exists(con, relation):
        return None
    return con.execute(
        f"select coalesce(cast({column} as varchar), '?'), count(*) from {relation} "
        "group by 1 order by 2 desc, 1"
    ).fetchall()


def _breakdown(groups: list[tuple[str, int]], limit: int | None = None) -> str:
    shown = groups[:limit] if limit else groups
    text = " · ".join(f"{value} {rows:,}" for value, rows in shown)
    return text + (f" · +{len(groups) - limit} more" if limit and len(groups) > limit else "")


def _total(groups: list[tuple[str, int]] | None, detail: str = "") -> str:
    if groups is None:
        return NOT_RUN
    total = sum(rows for _, rows in groups)
    return f"{total:,}" + (f"  ({detail})" if detail and total else "")


def _merges(con) -> str:
    """Source records behind the profiles, and id merges and splits logged across runs."""
    kinds = dict(_groups(con, "identity.profile_changes", "change_type") or [])
    records = _count(con, "identity.profile_map") or 0
    merges, splits = kinds.get("merged", 0), kinds.get("split", 0)
    return f"from {records:,} source records; id merges {merges:,} · splits {splits:,}"


def profiles(con) -> str:
    total = _count(con, "marts.customer_profiles")
    return NOT_RUN if total is None else f"{total:,}  ({_merges(con)})"


def profile_ids(con) -> str:
    """Stable profile ids in the identity map, before the profiles mart is built."""
    if not table_exists(con, "identity.profile_map"):
        return NOT_RUN
    total = con.execute("select count(distinct profile_id) from identity.profile_map").fetchone()[0]
    return f"{total:,}  ({_merges(con)})"


def identity_links(con) -> str:
    groups = _groups(con, "marts.identity_links", "match_type")
    return _total(groups, _breakdown(groups or []))


def segments(con) -> str:
    groups = _groups(con, "marts.segment_memberships", "segment_name")
    if groups is None:
        return NOT_RUN
    return f"{len(groups)} segments, {_total(groups)} memberships" + (
        f"  ({_breakdown(groups, TOP_SEGMENTS)})" if groups else ""
    )


def handoffs(con) -> str:
    by_trigger = _groups(con, "marts.lead_handoffs", "trigger")
    by_crm = _groups(con, "marts.lead_handoffs", "crm") or []
    return _total(by_trigger, "; ".join(filter(None, [_breakdown(by_trigger or []), _breakdown(by_crm)])))


def crm_writes(con) -> str:
    if not table_exists(con, "activation.sync_log"):
        return NOT_RUN
    rows = con.execute(
        "select crm, status, count(*) from activation.sync_log group by 1, 2 order by 1, 3 desc"
    ).fetchall()
    per_crm: dict[str, list[tuple[str, int]]] = {}
    for crm, status, count in rows:
        per_crm.setdefault(crm, []).append((status, count))
    detail = "; ".join(f"{crm}: {_breakdown(statuses)}" for crm, statuses in per_crm.items())
    return f"{sum(count for *_, count in rows):,}" + (f"  ({detail})" if detail else "")


def quarantined(con) -> str:
    groups = _groups(con, "quarantine.rejected_records", "source")
    return _total(groups, _breakdown(groups or []))


def models(con) -> str:
    """The promoted model of each task with its holdout AUC (the baseline rules score a task without one)."""
    registry = ModelRegistry(warehouse=database_file(con))
    parts = []
    for task in TASKS:
        current = registry.current(task)
        metrics = current.card.get("metrics", {}) if current else {}
        parts.append(f"{task} AUC {metrics['auc']:.2f}" if "auc" in metrics else f"{task} baseline rules")
    return " · ".join(parts)


def predictions(con) -> str:
    groups = _groups(con, "ml.predictions", "task")
    return _total(groups, _breakdown(groups or []))


def raw_rows(con) -> str:
    """Rows landed per source (raw_<source> schemas), dlt's own tables left out."""
    per_source: dict[str, int] = {}
    for schema, table in list_tables(con):
        if not schema.startswith("raw_") or schema.endswith("_staging") or table.startswith("_dlt"):
            continue
        count = con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]
        source = schema.removeprefix("raw_")
        per_source[source] = per_source.get(source, 0) + count
    if not per_source:
        return NOT_RUN
    return _total(list(per_source.items()), _breakdown(list(per_source.items())))


SECTIONS: tuple[tuple[str, Callable], ...] = (
    ("profiles", profiles),
    ("identity links", identity_links),
    ("segments", segments),
    ("handoffs", handoffs),
    ("CRM writes", crm_writes),
    ("models", models),
    ("quarantined", quarantined),
)


def collect(path: Path | None = None, sections: tuple[tuple[str, Callable], ...] = SECTIONS) -> dict:
    """One line of text per section, read from the warehouse (and its model registry)."""
    path = Path(path or warehouse_path())
    if not path.exists():
        return {label: NOT_RUN for label, _ in sections}
    with connect_warehouse(path, read_only=True) as con:
        return {label: section(con) for label, section in sections}


def render_summary(facts: dict[str, str]) -> str:
    """Label: value lines, aligned."""
    width = max(len(label) for label in facts)
    return "\n".join(f"  {label:<{width}}  {value}" for label, value in facts.items())


if __name__ == "__main__":
    print(render_summary(collect()))
