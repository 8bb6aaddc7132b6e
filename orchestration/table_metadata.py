"""Row count, column types and a small secrets-free sample of a warehouse table, as Dagster metadata.

Personal data (e-mails, phones, names) is masked in the sample unless REVLOOP_MASK_PII turns that off.
"""

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from dagster import MetadataValue, TableColumn, TableSchema

from orchestration.shared import source_columns
from revloop.privacy import mask_pii_enabled, mask_rows
from revloop.warehouse import Connection, connect_warehouse, quote

SAMPLE_ROWS = 5
SAMPLE_COLUMNS = 12
CELL_WIDTH = 40
# Column names that may hold credentials are never sampled; personal data is masked (revloop.privacy).
SECRET_COLUMN = re.compile(r"token|secret|passw|api_?key|credential|auth|session|cookie|signature", re.I)


def _cell(value: Any) -> str:
    """One value as a Markdown table cell: one line, pipes escaped, long text cut."""
    text = "" if value is None else str(value)
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= CELL_WIDTH else text[: CELL_WIDTH - 1] + "…"


def sample_markdown(columns: Sequence[str], rows: Sequence[Sequence[Any]], hidden: int = 0) -> str:
    """A Markdown table of sample rows; `hidden` columns left out are named in a footnote count."""
    if not columns:
        return "_no sampleable columns_"
    lines = ["| " + " | ".join(_cell(c) for c in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    if not rows:
        lines.append("| " + " | ".join(["_empty_"] + [""] * (len(columns) - 1)) + " |")
    if hidden:
        lines += ["", f"_{hidden} more column(s) not shown._"]
    return "\n".join(lines)


def table_metadata(
    con: Connection,
    schema: str,
    table: str,
    mask_pii: bool | None = None,
    descriptions: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """dagster/row_count, dagster/column_schema (names, warehouse types and `descriptions`) and a Markdown
    `sample` of the first rows of schema.table (masked: mask_pii)."""
    name = f"{quote(schema)}.{quote(table)}"
    described = descriptions or {}
    types = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()
    columns = [column for column, _ in types]
    if not columns:
        raise LookupError(f"{schema}.{table} does not exist in the warehouse")
    shown = [c for c in columns if not SECRET_COLUMN.search(c)]
    hidden = len(columns) - len(shown[:SAMPLE_COLUMNS])
    shown = shown[:SAMPLE_COLUMNS]
    sample: list[tuple] = []
    rows = con.execute(f"select count(*) from {name}").fetchone()[0]
    if shown:
        selected = ", ".join(quote(c) for c in shown)
        sample = con.execute(f"select {selected} from {name} limit {SAMPLE_ROWS}").fetchall()
        if mask_pii_enabled() if mask_pii is None else mask_pii:
            sample = mask_rows(shown, sample)
    return {
        "dagster/row_count": MetadataValue.int(rows),
        "dagster/column_schema": MetadataValue.table_schema(
            TableSchema([TableColumn(c, kind, description=described.get(c) or None) for c, kind in types])
        ),
        "sample": MetadataValue.md(sample_markdown(shown, sample, hidden)),
    }


def warehouse_tables_metadata(
    warehouse: Path, tables: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], dict[str, Any]]:
    """table_metadata for each (schema, table) that exists, through one read-only connection; the columns
    of a table dbt declares as a source carry its descriptions."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    wanted = list(tables)
    if not wanted or not Path(warehouse).exists():
        return found
    with connect_warehouse(warehouse, read_only=True) as con:
        for schema, table in wanted:
            try:
                described = source_columns(schema, table)
                found[(schema, table)] = table_metadata(con, schema, table, descriptions=described)
            except LookupError:
                continue
    return found


def warehouse_table_metadata(warehouse: Path, schema: str, table: str) -> dict[str, Any]:
    """table_metadata of one table, or nothing when it does not exist (yet)."""
    return warehouse_tables_metadata(warehouse, [(schema, table)]).get((schema, table), {})
