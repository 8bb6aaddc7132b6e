"""The planted handoff cases of a small world, through ingestion, dbt, identity and run_handoffs.

Ten open Salesforce Leads created 20 days ago, status "Open - Not Contacted", never e-mailed: handed off
under the time trigger to the sales queue. Five created 200-360 days ago: reported, not handed off.
"""

import json
from datetime import UTC, datetime

import duckdb
import pytest

from activation.handoff import run_handoffs
from identity import resolve_identities
from ingestion.salesforce import SalesforceConnection
from ingestion.salesforce.client import connect
from revloop.config.assignment import AssignmentConfig
from revloop.profiles import profile_contract
from sandbox.runner import SANDBOX_TOKEN, Sandbox
from sandbox.world import generate_world
from tests.fixtures.dbt import STAGING_SELECTION, assert_dbt_ok, run_dbt
from tests.fixtures.warehouse import load_raw_warehouse

pytestmark = pytest.mark.slow

AS_OF = datetime(2026, 6, 1, tzinfo=UTC)
HANDOFF_MODELS = (
    "int_handoff_signals",
    "int_handoff_behaviors",
    "int_handoff_reps",
    "int_handoff_crm_statuses",
    "engagement_history",
    "lead_score_factors",
)


def test_planted_leads_without_touches_are_handed_off_after_14_days(tmp_path):
    world = generate_world(people=60, seed=11, as_of=AS_OF, handoff_leads=True)
    planted = world.truth["handoff_leads"]
    raw = load_raw_warehouse(tmp_path, world)
    env = {"WAREHOUSE_PATH": str(raw.path)}
    assert_dbt_ok(run_dbt(["run", *STAGING_SELECTION, "int_identity_records"], tmp_path, env))
    resolve_identities(raw.path)
    selection = [f"+{m}" for m in HANDOFF_MODELS]
    assert_dbt_ok(run_dbt(["run", "--select", *selection], tmp_path, env))

    with Sandbox.start(tmp_path / "crm", world) as sandbox:
        sf = connect(
            SalesforceConnection(
                instance_url=sandbox.salesforce.url,
                access_token=SANDBOX_TOKEN,
                ca_bundle=str(sandbox.tls.ca_bundle),
            )
        )
        with duckdb.connect(str(raw.path)) as con:
            report = run_handoffs(con, sf, None, None, as_of=AS_OF, assignment=AssignmentConfig())
            handed = dict(
                con.execute(
                    "select crm_record_id, \"trigger\" || ':' || priority from activation.lead_handoffs "
                    "where crm_record_id in (select unnest(?))",
                    [planted["fresh"] + planted["stale"]],
                ).fetchall()
            )
            touches = con.execute(
                "select count(*) from marts.touchpoints t join intermediate.int_handoff_signals s "
                "using (profile_id) where s.salesforce_lead_id in (select unnest(?))",
                [planted["fresh"]],
            ).fetchall()[0][0]
            payload = json.loads(
                con.execute(
                    "select payload from activation.lead_handoffs where crm_record_id = ?",
                    [planted["fresh"][0]],
                ).fetchall()[0][0]
            )
            reported = {
                r[0]
                for r in con.execute("select crm_record_id from activation.handoff_stale_leads").fetchall()
            }
        owners = {r["Id"]: r["OwnerId"] for r in sandbox.salesforce.app.records("Lead")}
    # the figures the closing note quotes (pytest -s shows them)
    print(f"handoff world: handed_off={report.handed_off} stale={report.stale} skipped={report.skipped}")
    assert set(profile_contract().columns) <= set(payload["profile"])  # the whole profile travels
    assert payload["interaction_log"] == [] and payload["interaction_count"] == 0
    assert touches == 0  # marketing never e-mailed (or otherwise touched) them
    assert handed == {lead: "time:standard" for lead in planted["fresh"]}
    assert set(planted["stale"]) <= reported and report.stale >= len(planted["stale"])
    admin = world.salesforce["User"][0]["Id"]
    assert all(owners[lead] != admin for lead in planted["fresh"])
    assert all(owners[lead] == admin for lead in planted["stale"])
    # analysts read the handoffs from dbt's mart over the step's table
    selection = ["lead_handoffs"]
    assert_dbt_ok(run_dbt(["build", "--select", *selection], tmp_path, env))
    with duckdb.connect(str(raw.path), read_only=True) as con:
        step, mart = (
            con.execute(f"select * from {table} order by profile_id, cycle").fetchall()
            for table in ("activation.lead_handoffs", "marts.lead_handoffs")
        )
    assert len(step) >= len(planted["fresh"]) and mart == step
