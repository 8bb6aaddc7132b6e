"""Identity resolution on the traps the world plants: different people who share a network, a phone or a name.

Scored per trap kind with identity.evaluation against the world's truth (run with -s to see the figures).
"""

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from identity import resolve
from identity.evaluation import TRAP_KINDS, format_score, score
from identity.resolve import value_hash
from revloop.config.identity import load_identity_config
from tests.fixtures.dbt import STAGING_SELECTION, assert_dbt_ok, run_dbt
from tests.fixtures.warehouse import RawWarehouse

pytestmark = pytest.mark.slow

PRECISION, RECALL = 0.99, 0.98


@pytest.fixture(scope="module")
def built(raw_warehouse: RawWarehouse, tmp_path_factory) -> Path:
    """A copy of the raw warehouse with int_identity_records built."""
    folder = tmp_path_factory.mktemp("identity_traps")
    warehouse = folder / "warehouse.duckdb"
    shutil.copy(raw_warehouse.path, warehouse)
    assert_dbt_ok(
        run_dbt(
            ["build", *STAGING_SELECTION, "int_identity_records"], folder, {"WAREHOUSE_PATH": str(warehouse)}
        )
    )
    return warehouse


@pytest.fixture(scope="module")
def records(built: Path):
    """The world's int_identity_records and their first resolution."""
    with duckdb.connect(str(built), read_only=True) as con:
        rows = con.sql("select * from intermediate.int_identity_records").to_arrow_table()
    return rows, resolve(rows, None, load_identity_config(), datetime.now(UTC))


@pytest.fixture(scope="module")
def scored(records, raw_warehouse) -> dict:
    rows, resolution = records
    profile_of = dict(
        zip(
            resolution.profile_map.column("source_id").to_pylist(),
            resolution.profile_map.column("profile_id").to_pylist(),
            strict=True,
        )
    )
    result = score(raw_warehouse.world.truth, profile_of, set(rows.column("source_id").to_pylist()))
    print("\n" + format_score(result))
    return result


def test_the_world_plants_every_trap_kind(scored):
    for kind in TRAP_KINDS:
        assert scored[kind]["groups"] > 0 and scored[kind]["records"] > 0, kind


def test_pairwise_precision_and_recall_on_the_trapped_world(scored):
    assert scored["all"]["precision"] >= PRECISION
    assert scored["all"]["recall"] >= RECALL


def test_no_profile_holds_two_planted_people(scored):
    assert {kind: row["wrong_merges"] for kind, row in scored.items()} == dict.fromkeys(scored, 0)


def test_shared_values_are_listed_with_their_people(records, raw_warehouse):
    _, resolution = records
    shared = resolution.shared_values.to_pylist()
    switchboards = {
        g["phone"]: len(g["person_ids"])
        for g in raw_warehouse.world.truth["identity_traps"]["switchboard_phones"]
    }
    phones = {r["value_hash"]: r["people"] for r in shared if r["value_type"] == "phone"}
    # every switchboard, seen with two people or more (a colleague may have no record carrying it)
    planted = {value_hash(phone): people for phone, people in switchboards.items()}
    assert phones.keys() == planted.keys()
    assert all(2 <= phones[value] <= planted[value] for value in phones)
    offices = {g["ip"] for g in raw_warehouse.world.truth["identity_traps"]["office_colleagues"]}
    ips = {r["value_hash"]: r["people"] for r in shared if r["value_type"] == "ip"}
    assert all(ips.get(value_hash(ip), 0) >= 2 for ip in offices)


def test_values_revloop_wrote_into_a_crm_are_no_evidence(built, tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(built, warehouse)
    with duckdb.connect(str(warehouse)) as con:
        (lead, email), (other, other_email) = con.execute(
            "select source_id, email from intermediate.int_identity_records "
            "where source_record_type = 'lead' and email is not null order by source_id limit 2"
        ).fetchall()
        con.execute(
            "create schema activation; create table activation.written_values (crm varchar,"
            " record_id varchar, field varchar, value_json varchar, run_id varchar, written_at timestamptz)"
        )
        con.execute(
            "insert into activation.written_values values ('salesforce', ?, 'Email', ?, 'r1', now()),"
            " ('salesforce', ?, 'Email', ?, 'r1', now())",
            [lead, json.dumps(email), other, json.dumps("someone.else@example.com")],
        )
    assert_dbt_ok(
        run_dbt(["run", "--select", "int_identity_records"], tmp_path, {"WAREHOUSE_PATH": str(warehouse)})
    )
    with duckdb.connect(str(warehouse), read_only=True) as con:
        emails = dict(
            con.execute(
                "select source_id, email from intermediate.int_identity_records where source_id in (?, ?)",
                [lead, other],
            ).fetchall()
        )
    # the echo of revloop's own write is gone; a record whose value differs from what was written keeps it
    assert emails == {lead: None, other: other_email}
