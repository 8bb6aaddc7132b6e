"""Handoff asset: due leads handed from marketing to sales, with CRM owner, follow-up task and e-mails.

The step records handoffs in activation.lead_handoffs; dbt builds marts.lead_handoffs over it (phase
dbt_after_handoff).
"""

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from activation.handoff import hand_off_leads
from activation.mail import SmtpSettings
from orchestration.metadata import rounded_metadata
from orchestration.resources import HubSpotResource, SalesforceResource, WarehouseResource
from orchestration.retries import CRM_RETRY_POLICY, retried_only_if_transient
from orchestration.shared import SYNC_LOG, WAREHOUSE_POOL
from orchestration.table_metadata import warehouse_table_metadata

HANDOFF_MODELS = (
    "int_handoff_signals",
    "int_handoff_behaviors",
    "int_handoff_reps",
    "int_handoff_crm_statuses",
)
PAYLOAD_MARTS = ("customer_profiles", "engagement_history", "lead_score_factors", "touchpoints")


@asset(
    key=AssetKey(["activation", "lead_handoffs"]),
    group_name="activation",
    kinds={"salesforce", "hubspot", "duckdb"},
    deps=[
        *(AssetKey(["handoff", model]) for model in HANDOFF_MODELS),
        *(AssetKey(["marts", model]) for model in PAYLOAD_MARTS),
        SYNC_LOG,
    ],
    description="activation.lead_handoffs: one row per handoff (profile and cycle) of a lead to a sales rep, "
    "with the trigger, priority, assignment rule, CRM owner and follow-up task.",
    pool=WAREHOUSE_POOL,
    retry_policy=CRM_RETRY_POLICY,
)
def lead_handoffs(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    salesforce: SalesforceResource,
    hubspot: HubSpotResource,
) -> MaterializeResult:
    sf, hs, smtp = salesforce.connection(), hubspot.connection(), SmtpSettings.from_env()
    if sf is None and hs is None:
        # the run still builds activation.lead_handoffs (empty): a handoff goes to a CRM owner
        context.log.warning("No CRM is configured: no lead is handed off (a handoff needs a CRM owner).")
    if smtp is None:
        context.log.info("SMTP_HOST is not set: notification e-mails are queued in activation.outbox.")
    with retried_only_if_transient():
        report = hand_off_leads(warehouse.warehouse_file, sf, hs, smtp)
    for error in report.errors[:20]:
        context.log.error(error)
    table = warehouse_table_metadata(warehouse.warehouse_file, "activation", "lead_handoffs")
    summary = MetadataValue.md(report.markdown())
    return MaterializeResult(metadata=rounded_metadata({**report.metadata(), "summary": summary, **table}))
