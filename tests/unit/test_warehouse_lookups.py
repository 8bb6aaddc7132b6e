"""The warehouse module's lookups: table existence, rows as dicts, the table list, the database's file."""

import pytest

from revloop.warehouse import connect_warehouse, database_file, fetch_dicts, list_tables, table_exists


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
