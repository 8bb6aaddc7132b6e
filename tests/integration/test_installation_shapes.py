"""Every installation shape runs the whole graph through Dagster: events only, one CRM, both, no event files.

Each shape materialises every asset of the real Definitions in-process, with only its own variables set,
against the sandbox CRMs seeded with one small world, and checks that the marts were built and that
the write-back reached exactly the CRMs configured.

The shapes with HubSpot configured run from test_installation_shapes_hubspot.py: `make test` hands each
file to one pytest-xdist worker, so the two halves run side by side.
"""

import importlib
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey, DagsterInstance

from orchestration.defs.runs import SKIPPED_TAG, skipped_steps
from sandbox.runner import Sandbox
from sandbox.world import generate_world
from tests.fixtures.dbt import prepare_partial_parse

pytestmark = pytest.mark.slow

# A small world on which the score, behaviour and time triggers all fire.
PEOPLE = 200
SEED = 5
SF_VARIABLES = ("SALESFORCE_INSTANCE_URL", "SALESFORCE_ACCESS_TOKEN")
HS_VARIABLES = ("HUBSPOT_BASE_URL", "HUBSPOT_ACCESS_TOKEN")
CLEARED = (*SF_VARIABLES, *HS_VARIABLES, "SALESFORCE_USERNAME", "SMTP_HOST")
ENRICHED = {
    "salesforce": ("Lead_Score__c", "Purchase_Likelihood__c", "Engagement_Potential__c", "Segments__c"),
    "hubspot": ("lead_score", "purchase_likelihood", "engagement_potential", "segments"),
}
# shape -> (CRMs configured, event files present)
SHAPES = {
    "events_only": ((), True),
    "salesforce_and_events": (("salesforce",), True),
    "hubspot_and_events": (("hubspot",), True),
    "both_crms_and_events": (("salesforce", "hubspot"), True),
    "salesforce_without_events": (("salesforce",), False),
    "hubspot_without_events": (("hubspot",), False),
}


HUBSPOT_SHAPES = [shape for shape, (crms, _) in SHAPES.items() if "hubspot" in crms]


@pytest.fixture(scope="module")
def world():
    return generate_world(people=PEOPLE, seed=SEED)


@pytest.fixture(scope="module")
def shape_link(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """One warehouse path for every shape, a link to the running shape's own folder, and the variables
    under which the dbt runs of every shape parse the project partially (parsed once, for that path)."""
    root = tmp_path_factory.mktemp("shapes")
    link = root / "current"
    return link, prepare_partial_parse(root, {"WAREHOUSE_PATH": str(link / "warehouse.duckdb")})


def crm_records(sandbox: Sandbox) -> dict[str, list[dict]]:
    """The sandbox's person records and tasks, read from the emulators' stores."""
    return {
        "Lead": sandbox.salesforce.app.records("Lead"),
        "Contact": sandbox.salesforce.app.records("Contact"),
        "Task": sandbox.salesforce.app.records("Task"),
        "contacts": sandbox.hubspot.app.records("contacts"),
        "tasks": sandbox.hubspot.app.records("tasks"),
    }


def enriched(records: list[dict], fields: tuple[str, ...]) -> list[dict]:
    """The records carrying any enriched field revloop writes (HubSpot keeps them under properties)."""
    return [r for r in records if any((r.get("properties") or r).get(n) not in (None, "") for n in fields)]


def run_shape(shape: str, world, tmp_path: Path, monkeypatch, shape_link: tuple[Path, dict]) -> tuple:
    crms, with_events = SHAPES[shape]
    link, dbt_env = shape_link
    link.unlink(missing_ok=True)
    link.symlink_to(tmp_path, target_is_directory=True)
    events_dir = tmp_path / "events"
    if with_events:
        world.write_events(events_dir)
    for variable in CLEARED:
        monkeypatch.delenv(variable, raising=False)
    for variable, value in dbt_env.items():  # WAREHOUSE_PATH: tmp_path/warehouse.duckdb through the link
        monkeypatch.setenv(variable, value)
    monkeypatch.setenv("EVENTS_DIR", str(events_dir))
    sandbox = Sandbox.start(tmp_path / "sandbox", world)
    env = sandbox.env()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", env["REQUESTS_CA_BUNDLE"])
    for crm, variables in (("salesforce", SF_VARIABLES), ("hubspot", HS_VARIABLES)):
        if crm in crms:
            for variable in variables:
                monkeypatch.setenv(variable, env[variable])
    before = crm_records(sandbox)
    # The code location reads the environment when it loads (as `dagster asset materialize` loads it):
    # loaded again for each shape, after its variables are set.
    defs = importlib.reload(importlib.import_module("orchestration.definitions")).defs
    instance = DagsterInstance.ephemeral()
    try:
        result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
            instance=instance, raise_on_error=False
        )
        after = crm_records(sandbox)
    finally:
        sandbox.stop()
    return crms, result, instance, before, after


@pytest.mark.parametrize("shape", [shape for shape in SHAPES if shape not in HUBSPOT_SHAPES])
def test_shape_builds_every_mart_and_writes_back_to_its_crms(shape, world, tmp_path, monkeypatch, shape_link):
    check_shape(shape, world, tmp_path, monkeypatch, shape_link)


def check_shape(shape: str, world, tmp_path: Path, monkeypatch, shape_link: tuple[Path, dict]) -> None:
    """Run the whole graph in `shape`: every mart built, written back to exactly the CRMs configured."""
    crms, result, instance, before, after = run_shape(shape, world, tmp_path, monkeypatch, shape_link)

    assert result.success
    assert skipped_steps(instance, result.run_id) == {}
    assert SKIPPED_TAG not in instance.get_run_by_id(result.run_id).tags
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    for key in (["marts", "customer_profiles"], ["marts", "segment_memberships"], ["activation", "sync_log"],
                ["marts", "lead_handoffs"], ["serving", "profile_snapshot"]):
        assert AssetKey(key) in materialized, key
    warnings = [r.user_message for r in instance.all_logs(result.run_id) if r.level >= 30]
    for crm, name in (("salesforce", "Salesforce"), ("hubspot", "HubSpot")):
        reported = [m for m in warnings if m.startswith(f"{name} is not configured")]
        assert len(reported) == (0 if crm in crms else 1), (crm, reported)

    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:

        def rows(sql: str) -> list[tuple]:
            return con.execute(sql).fetchall()

        [(profiles, purchase, engagement, churn)] = rows(
            "select count(*), count(purchase_likelihood), count(engagement_potential), count(churn_risk) "
            "from marts.customer_profiles"
        )
        [(segments,)] = rows("select count(distinct segment_name) from marts.segment_memberships")
        written = dict(rows(
            "select crm, count(*) from activation.sync_log where status in ('created', 'updated') group by 1"
        ))
        [(creates,)] = rows("select count(*) from activation.sync_log where operation = 'create'")
        handoffs = dict(rows("select crm, count(*) from marts.lead_handoffs group by 1"))
    assert profiles > 0
    assert purchase == profiles
    assert churn > 0  # customers only
    assert segments > 0
    assert set(written) == set(crms)
    assert set(handoffs) <= set(crms)
    if len(crms) == 1:
        assert creates == 0  # write-back only: no record is created from the other CRM
        # leads marketing owns for 14 days are handed off with or without events (the time trigger)
        assert set(handoffs) == set(crms), handoffs

    if "salesforce" in crms:
        people = after["Lead"] + after["Contact"]
        assert enriched(people, ENRICHED["salesforce"])
        assert (len(after["Task"]) > len(before["Task"])) == bool(handoffs.get("salesforce"))
    else:
        assert after["Lead"] == before["Lead"] and after["Contact"] == before["Contact"]
        assert after["Task"] == before["Task"]
    if "hubspot" in crms:
        assert enriched(after["contacts"], ENRICHED["hubspot"])
        assert (len(after["tasks"]) > len(before["tasks"])) == bool(handoffs.get("hubspot"))
    else:
        assert after["contacts"] == before["contacts"] and after["tasks"] == before["tasks"]
    if len(crms) == 1:
        assert len(after["Lead"]) == len(before["Lead"]) and len(after["contacts"]) == len(before["contacts"])

    # without events the engagement model has no label to learn from: the cold-start baseline scores it
    assert engagement == profiles
