"""The warehouse module's lookups: table existence, columns, rows as dicts (whole or streamed), the table
list, the database's file."""

import pytest

from revloop.warehouse import (
    column_names,
    connect_warehouse,
    database_file,
    fetch_dicts,
    iter_dicts,
    list_tables,
    quote,
    table_exists,
)


@pytest.fixture
def con(warehouse):
    with connect_warehouse(warehouse) as connection:
        connection.execute("create schema marts")
        connection.execute("create table marts.people as from (values (1, 'a'), (2, null)) t(id, name)")
        connection.execute("create view marts.named as select * from marts.people where name is not null")
        connection.execute("create schema staging")
        yield connection


def test_tables_and_views_exist_in_their_schema_only(con):
    assert table_exists(con, "marts.people") and table_exists(con, "marts.named")
    assert not table_exists(con, "staging.people")
    assert not table_exists(con, "marts.missing")


@pytest.mark.parametrize("name", ["people", "marts.", ".people", "db.marts.people"])
def test_a_relation_without_schema_and_table_is_refused_clearly(con, name):
    with pytest.raises(ValueError, match="schema.table"):
        table_exists(con, name)


def test_a_lookup_leaves_the_connection_free_for_the_next_query(con):
    assert table_exists(con, "marts.people")
    assert con.sql("select count(*) from marts.people").fetchall() == [(2,)]
    assert database_file(con).name == "warehouse.duckdb"
    assert con.sql("select count(*) from marts.named").fetchall() == [(1,)]


def test_rows_come_back_as_dicts_by_column_name(con):
    rows = fetch_dicts(con, "select id, name from marts.people where id >= ? order by id", [1])
    assert rows == [{"id": 1, "name": "a"}, {"id": 2, "name": None}]
    assert fetch_dicts(con, "select * from marts.people where false") == []


def test_the_table_list_is_ordered_and_leaves_the_catalog_out(con):
    assert list_tables(con) == [("marts", "named"), ("marts", "people")]


def test_a_connection_names_its_database_file(con, warehouse):
    assert database_file(con) == warehouse


def test_streamed_rows_equal_the_fetched_ones_across_batches(con):
    con.execute("create table marts.many as select i as id, 'n' || i as name from range(25) t(i)")
    sql = "select id, name from marts.many where id >= ? order by id"
    streamed = iter_dicts(con, sql, [3], batch_size=4)
    assert next(streamed) == {"id": 3, "name": "n3"}
    assert [next(streamed), *streamed] == fetch_dicts(con, sql, [3])[1:]
    assert list(iter_dicts(con, "select * from marts.many where false")) == []


def test_columns_come_in_table_order_and_none_for_a_missing_table(con):
    assert column_names(con, "marts", "people") == ["id", "name"]
    assert column_names(con, "marts", "named") == ["id", "name"]
    assert column_names(con, "marts", "missing") == []
    odd = 'odd "name'
    con.execute(f"create table marts.{quote(odd)} ({quote('a b')} int)")
    assert column_names(con, "marts", odd) == ["a b"]
