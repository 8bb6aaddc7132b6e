"""Another process holding the DuckDB file: writers wait for it (bounded), readers never hold it."""

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest

from revloop.warehouse import WarehouseLocked, connect_warehouse, make_pipeline
from segments.preview import open_read_only
from tests.fixtures.dbt import start_dbt, wait_for_line

HOLD_SECONDS = 3.0


@contextmanager
def held(warehouse: Path, seconds: float, read_only: bool = True) -> Iterator[subprocess.Popen]:
    """Another process (an analyst's session, say) holding the warehouse for `seconds`."""
    code = (
        "import duckdb, sys, time\n"
        f"con = duckdb.connect({str(warehouse)!r}, read_only={read_only})\n"
        "print('held', flush=True)\n"
        f"time.sleep({seconds})\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        yield holder
    finally:
        holder.kill()
        holder.wait()


def _count(warehouse: Path, table: str, key: str = "id") -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(f"select count(*), count(distinct {key}) from {table}").fetchall()


def test_a_load_waits_for_a_session_holding_the_file_and_loses_nothing(warehouse):
    pipeline = make_pipeline("lock_test", "raw_lock", warehouse)
    pipeline.run([{"id": i} for i in range(100)], table_name="items", primary_key="id",
                 write_disposition="merge")

    with held(warehouse, HOLD_SECONDS):
        started = time.monotonic()
        info = pipeline.run([{"id": i} for i in range(50, 150)], table_name="items", primary_key="id",
                            write_disposition="merge")
        waited = time.monotonic() - started

    assert not info.has_failed_jobs
    assert waited >= HOLD_SECONDS * 0.5  # it waited for the session instead of failing at once
    assert _count(warehouse, "raw_lock.items") == [(150, 150)]  # lost: nothing; doubled: nothing


def test_a_python_step_waits_and_gives_up_after_the_bound_with_a_clear_message(warehouse, monkeypatch):
    connect_warehouse(warehouse).execute("create table t as select 1 as id").close()
    with held(warehouse, HOLD_SECONDS):
        started = time.monotonic()
        with connect_warehouse(warehouse) as con:  # waits for the session, then writes
            con.execute("insert into t values (2)")
        assert time.monotonic() - started >= HOLD_SECONDS * 0.5

    monkeypatch.setenv("REVLOOP_WAREHOUSE_LOCK_WAIT", "1")
    with held(warehouse, 30) as holder:
        started = time.monotonic()
        with pytest.raises(WarehouseLocked) as refused:
            connect_warehouse(warehouse)
        assert time.monotonic() - started < 10
    message = str(refused.value)
    assert f"PID {holder.pid}" in message and "REVLOOP_WAREHOUSE_LOCK_WAIT" in message
    assert _count(warehouse, "t") == [(2, 2)]


def test_dbt_waits_for_a_session_holding_the_file(warehouse, tmp_path):
    make_pipeline("lock_test", "raw_salesforce", warehouse).run(
        [{"id": "00Q000000000001AAA", "last_name": "Lima", "system_modstamp": "2026-01-01T00:00:00Z"}],
        table_name="lead",
    )
    with held(warehouse, 600) as holder:
        dbt = start_dbt(["run", "--select", "stg_salesforce__leads", "--log-level", "debug",
                         "--log-format", "text"], tmp_path)
        # dbt's debug line before it connects: from here on it meets the lock and connects again later
        output = wait_for_line(dbt, "Opening a new connection")
        time.sleep(HOLD_SECONDS)  # the first attempts fail while the session holds the file
        assert dbt.poll() is None, "dbt gave up instead of waiting for the session"
        holder.kill()
        holder.wait()
        output += dbt.stdout.read()
    assert dbt.wait(timeout=120) == 0, output[-6000:]
    # the statement that opened the connection took the wait: dbt connected again, it did not fail at once
    waited = re.search(r"Opening a new connection.*?SQL status: OK in ([0-9.]+) seconds", output, re.S)
    assert waited and float(waited.group(1)) >= HOLD_SECONDS, output[-6000:]
    assert _count(warehouse, "staging.stg_salesforce__leads", "lead_id") == [(1, 1)]


def test_the_builder_reads_a_copy_and_never_holds_the_file_a_run_writes(warehouse):
    with connect_warehouse(warehouse) as con:
        con.execute("create table items as select 1 as id")

    reader = open_read_only(warehouse)
    try:
        # A run starts while the preview reads: it gets the file at once.
        with connect_warehouse(warehouse, lock_wait=0) as run:
            run.execute("insert into items values (2)")
        assert reader.execute("select count(*) from items").fetchone() == (1,)
    finally:
        reader.close()

    with held(warehouse, 30, read_only=False):  # a run writing for a while
        started = time.monotonic()
        during = open_read_only(warehouse)
        assert time.monotonic() - started < 2  # the preview does not wait for the run
        # the copy taken before the run's write: the preview never waits for the file nor holds it
        assert during.execute("select count(*) from items").fetchone() == (1,)
        during.close()

    after = open_read_only(warehouse)
    assert after.execute("select count(*) from items").fetchone() == (2,)
    after.close()
