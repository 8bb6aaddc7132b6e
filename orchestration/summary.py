"""Rows per table of the warehouse, for the end of `make demo` and for a quick look."""

import duckdb

from ingestion.warehouse import warehouse_path

# dlt's bookkeeping tables: not data an analyst queries.
_INTERNAL_PREFIX = "_dlt_"


def table_row_counts(path=None) -> list[tuple[str, str, int]]:
    """(schema, table, rows) for every data table of the warehouse, ordered by schema and table."""
    with duckdb.connect(str(path or warehouse_path()), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema not in ('information_schema', 'pg_catalog') order by 1, 2"
        ).fetchall()
        return [
            (schema, table, con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0])
            for schema, table in tables
            if not table.startswith(_INTERNAL_PREFIX) and not schema.endswith("_staging")
        ]


def render(counts: list[tuple[str, str, int]]) -> str:
    width = max((len(f"{s}.{t}") for s, t, _ in counts), default=10)
    lines = [f"{'table':<{width}}  {'rows':>10}"]
    lines += [f"{f'{s}.{t}':<{width}}  {n:>10,}" for s, t, n in counts]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(table_row_counts()))
