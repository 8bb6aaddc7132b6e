"""Preview a segment file on the warehouse (read-only): count, a sample, warnings, suggestions."""

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from ingestion.reader_copy import open_reader_copy
from revloop.privacy import mask_pii_enabled, mask_records
from revloop.warehouse import WarehouseLocked, warehouse_path
from segments.compiler import compile_segment, profile_columns
from segments.conversions import DEFAULT_KIND, KINDS, outcome_queries
from segments.definitions import SegmentError, SegmentFile, load_segment
from segments.materialize import static_warnings
from segments.suggestions import Suggestions, model_importances, suggest

SAMPLE_COLUMNS = (
    "profile_id",
    "email",
    "first_name",
    "last_name",
    "company_name",
    "job_title",
    "country",
    "industry",
    "lifecycle_stage",
    "lead_score",
    "purchase_likelihood",
)


@dataclass
class Preview:
    """What a segment would hold now, before anything is saved."""

    name: str
    segment_type: str
    count: int
    total_profiles: int
    sample: list[dict[str, Any]]
    suggestions: Suggestions | None = None
    warnings: list[str] = field(default_factory=list)


def open_read_only(warehouse: Path | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to a copy of the warehouse (ingestion.reader_copy), so that a preview never
    holds the file a run writes; a clear error when there is no warehouse or no copy can be taken."""
    path = Path(warehouse or warehouse_path())
    if not path.exists():
        raise SegmentError(f"{path}: no warehouse here (run `make demo`, or set WAREHOUSE_PATH)")
    try:
        return open_reader_copy(path)
    except (duckdb.IOException, WarehouseLocked) as exc:
        raise SegmentError(f"{path}: cannot read the warehouse ({exc})") from None


def preview_segment(
    path: Path,
    warehouse: Path | None = None,
    sample_size: int = 10,
    as_of: dt.datetime | None = None,
    with_suggestions: bool = True,
    conversion: str = DEFAULT_KIND,
) -> Preview:
    """Count and sample the profiles a segment file matches; SegmentError for an invalid definition."""
    return preview_item(load_segment(Path(path)), warehouse, sample_size, as_of, with_suggestions, conversion)


def preview_item(
    item: SegmentFile,
    warehouse: Path | None = None,
    sample_size: int = 10,
    as_of: dt.datetime | None = None,
    with_suggestions: bool = True,
    conversion: str = DEFAULT_KIND,
    mask_pii: bool | None = None,
) -> Preview:
    """Count and sample the profiles a loaded segment matches; suggestions aim at the `conversion` kind.

    E-mails, phones and names in the sample are masked unless mask_pii (default REVLOOP_MASK_PII) is off.
    """
    if conversion not in KINDS:
        raise SegmentError(f"unknown conversion {conversion!r}; allowed: {', '.join(KINDS)}")
    as_of = as_of or dt.datetime.now(dt.UTC)
    warehouse = Path(warehouse or warehouse_path())
    con = open_read_only(warehouse)
    try:
        columns = profile_columns(con)
        compiled = compile_segment(item, columns, as_of)
        count_sql = f"SELECT count(*) FROM ({compiled.select()})"
        count = con.execute(count_sql, list(compiled.params)).fetchone()[0]
        total = con.execute("SELECT count(*) FROM marts.customer_profiles").fetchone()[0]
        shown = [c for c in SAMPLE_COLUMNS if c in columns]
        cursor = con.execute(
            compiled.select(", ".join(f"p.{c}" for c in shown)) + " ORDER BY p.profile_id LIMIT ?",
            [*compiled.params, sample_size],
        )
        sample = [dict(zip(shown, row, strict=True)) for row in cursor.fetchall()]
        if mask_pii_enabled() if mask_pii is None else mask_pii:
            sample = mask_records(sample)
        notes = static_warnings(con, item, as_of.date()) if item.segment.type == "static" else []
        suggestions = None
        if with_suggestions:
            outcome = next(o for o in outcome_queries(con, columns, as_of) if o.kind == conversion)
            importances = model_importances(warehouse)
            suggestions = suggest(con, compiled, columns, outcome, as_of, importances)
    finally:
        con.close()
    return Preview(item.segment.name, item.segment.type, count, total, sample, suggestions, notes)


def render(preview: Preview) -> str:
    """The preview as text for the terminal."""
    lines = [
        f"segment {preview.name} ({preview.segment_type}): {preview.count} of {preview.total_profiles} "
        "profiles match"
    ]
    found = preview.suggestions
    if found is not None and found.base is not None:
        lines.append(f"{found.metric}: {found.base:.1%}")
    if found is not None and found.note:
        lines.append(f"note: {found.note}")
    lines += [f"warning: {w}" for w in preview.warnings]
    if preview.sample:
        lines.append(f"sample ({len(preview.sample)}):")
        for row in preview.sample:
            lines.append("  " + "  ".join(f"{k}={v}" for k, v in row.items() if v is not None))
    if found is not None and found.items:
        lines.append(f"suggestions (conditions with the highest lift on {found.metric}):")
        lines += [f"  {s.describe()}" for s in found.items]
    if found is not None and found.signals:
        lines.append("model signals (top features of the purchase model that no segment rule expresses):")
        lines += [f"  {s.describe()}" for s in found.signals]
    return "\n".join(lines)
