"""Identity resolution on the traps the world plants: different people who share a network, a phone or a name.

Scored per trap kind with identity.evaluation against the world's truth (run with -s to see the figures).
"""

import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from identity import resolve
from identity.evaluation import TRAP_KINDS, format_score, score
from revloop.config.identity import load_identity_config
from tests.fixtures.dbt import STAGING_SELECTION, assert_dbt_ok, run_dbt
from tests.fixtures.warehouse import RawWarehouse

pytestmark = pytest.mark.slow

PRECISION, RECALL = 0.99, 0.98


@pytest.fixture(scope="module")
def records(raw_warehouse: RawWarehouse, tmp_path_factory) -> tuple[Path, object]:
    """The world's int_identity_records (dbt on a copy of the raw warehouse) and the first resolution."""
    folder = tmp_path_factory.mktemp("identity_traps")
    warehouse = folder / "warehouse.duckdb"
    shutil.copy(raw_warehouse.path, warehouse)
    env = {"WAREHOUSE_PATH": str(warehouse)}
    assert_dbt_ok(run_dbt(["build", *STAGING_SELECTION, "int_identity_records"], folder, env))
    with duckdb.connect(str(warehouse), read_only=True) as con:
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
