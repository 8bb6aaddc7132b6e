"""Handoff asset: due leads handed from marketing to sales, with CRM owner, follow-up task and e-mails.

The step records handoffs in activation.lead_handoffs; dbt builds marts.lead_handoffs over it (phase
dbt_after_handoff).
"""

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from activation.handoff import run_handoffs
from activation.mail import SmtpSettings
from ingestion.salesforce.client import connect
from ingestion.warehouse import connect_warehouse
from orchestration.defs.activation import SYNC_LOG
from orchestration.defs.ingestion import WAREHOUSE_POOL
from orchestration.resources import HubSpotResource, SalesforceResource, WarehouseResource
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
)
def lead_handoffs(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    salesforce: SalesforceResource,
    hubspot: HubSpotResource,
) -> MaterializeResult:
    sf_connection, hs_connection = salesforce.connection(), hubspot.connection()
    if sf_connection is None and hs_connection is None:
        # the run still builds activation.lead_handoffs (empty): a handoff goes to a CRM owner
        context.log.warning("No CRM is configured: no lead is handed off (a handoff needs a CRM owner).")
    smtp = SmtpSettings.from_env()
    if smtp is None:
        context.log.info("SMTP_HOST is not set: notification e-mails are queued in activation.outbox.")
    with connect_warehouse(warehouse.warehouse_file) as con:
        report = run_handoffs(
            con,
            connect(sf_connection) if sf_connection else None,
            hs_connection.hubspot() if hs_connection else None,
            smtp,
        )
    for error in report.errors[:20]:
        context.log.error(error)
    rows = ["| | count |", "|---|---:|"] + [
        f"| {label} {key} | {value} |"
        for label, counts in (
            ("trigger", report.handed_off),
            ("crm", report.by_crm),
            ("rule", report.rules),
            ("e-mail", report.emails),
            ("skipped:", report.skipped),
        )
        for key, value in counts.items()
    ]
    return MaterializeResult(
        metadata={
            "due": report.due,
            "handed_off": sum(report.handed_off.values()),
            "owners_set": report.owners_set,
            "tasks_created": report.tasks_created,
            "reminders": report.reminders,
            "stale_leads": report.stale,
            "accepted": report.accepted,
            "recycled": report.recycled,
            "errors": len(report.errors),
            "summary": MetadataValue.md("\n".join(rows)),
            **warehouse_table_metadata(warehouse.warehouse_file, "activation", "lead_handoffs"),
        }
    )
