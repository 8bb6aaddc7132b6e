"""CRM-talking Dagster steps run again after a transient failure, and only after a transient one."""

from functools import partial

import duckdb
from dagster import AssetExecutionContext, DagsterEventType, DagsterInstance, RetryPolicy, materialize
from dagster_dlt import DagsterDltResource

from ingestion.hubspot import HubSpotConnection
from ingestion.hubspot import client as hubspot_client
from ingestion.retry import retry_policy
from orchestration.defs import ingestion
from orchestration.resources import HubSpotResource, WarehouseResource
from orchestration.retries import CRM_RETRY_POLICY

CONTACTS = 30


# hubspot_raw as the definitions build it, with the step's pauses a hundredth as long (CRM_RETRY_POLICY
# waits 10 s +- 10 s before its first retry)
@ingestion.raw_assets(
    "hubspot", HubSpotConnection("unused", "https://hubspot.invalid"),
    RetryPolicy(max_retries=CRM_RETRY_POLICY.max_retries, delay=CRM_RETRY_POLICY.delay / 100,
                backoff=CRM_RETRY_POLICY.backoff, jitter=CRM_RETRY_POLICY.jitter),
)
def hubspot_raw(
    context: AssetExecutionContext,
    dlt: DagsterDltResource,
    hubspot: HubSpotResource,
    warehouse: WarehouseResource,
):
    yield from ingestion.load_crm(
        context, dlt, warehouse, hubspot.connection(), "HubSpot", "HUBSPOT_ACCESS_TOKEN"
    )


def test_the_crm_steps_carry_the_crm_retry_policy():
    assert ingestion.hubspot_raw.op.retry_policy == CRM_RETRY_POLICY
    assert ingestion.salesforce_raw.op.retry_policy == CRM_RETRY_POLICY
    assert ingestion.events_raw.op.retry_policy is None


def _materialize(hs_sandbox, warehouse, token: str):
    instance = DagsterInstance.ephemeral()
    resources = {
        "warehouse": WarehouseResource(path=str(warehouse)),
        "hubspot": HubSpotResource(
            access_token=token, base_url=hs_sandbox.url, ca_bundle=str(hs_sandbox.ca_cert)
        ),
        "dlt": DagsterDltResource(),
    }
    result = materialize(
        [hubspot_raw], resources=resources, instance=instance, raise_on_error=False
    )
    kinds = [record.dagster_event.event_type for record in instance.all_logs(result.run_id)
             if record.dagster_event is not None]
    return result, kinds


def _seed(hs_sandbox) -> set[str]:
    return set(hs_sandbox.emulator.seed("contacts", [
        {"properties": {"email": f"p{i}@acme.test", "firstname": f"P{i}"}} for i in range(CONTACTS)
    ]))


def test_a_crm_outage_longer_than_the_http_retries_is_retried_by_dagster(hs_sandbox, warehouse, monkeypatch):
    # the client's own retries as in production (7 attempts), only with pauses a fiftieth as long
    monkeypatch.setattr(hubspot_client, "retry_policy", partial(retry_policy, backoff_factor=0.01))
    ids = _seed(hs_sandbox)
    # More 503s than the HTTP client retries (7 attempts): the step's first attempt fails mid-read.
    hs_sandbox.emulator.faults.fail_next(503, count=7, path_prefix="/crm/v3/objects/contacts/search")

    result, kinds = _materialize(hs_sandbox, warehouse, hs_sandbox.token)

    assert result.success
    assert kinds.count(DagsterEventType.STEP_UP_FOR_RETRY) == 1
    assert kinds.count(DagsterEventType.STEP_FAILURE) == 0
    with duckdb.connect(str(warehouse), read_only=True) as con:
        loaded = [row[0] for row in con.execute("select id from raw_hubspot.contacts").fetchall()]
    assert len(loaded) == len(set(loaded))  # doubled: nothing
    assert set(loaded) == ids  # lost: nothing


def test_refused_credentials_fail_the_step_once_without_a_retry(hs_sandbox, warehouse):
    _seed(hs_sandbox)

    result, kinds = _materialize(hs_sandbox, warehouse, "a-revoked-token")

    assert not result.success
    assert DagsterEventType.STEP_UP_FOR_RETRY not in kinds
    assert kinds.count(DagsterEventType.STEP_FAILURE) == 1
    failure = next(e for e in result.all_events if e.event_type == DagsterEventType.STEP_FAILURE)
    assert "not transient" in failure.step_failure_data.error.message
