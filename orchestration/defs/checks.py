"""Asset checks on the Python-built assets: identity wrong merges, model quality, quarantine rate, refusals.

The logic lives beside each area (identity/checks.py, revloop/model_quality.py, ingestion/quarantine_rate.py,
activation/refusals.py); here each verdict becomes an AssetCheckResult. Thresholds come from the
environment: REVLOOP_MAX_QUARANTINE_SHARE (default 0.02) and REVLOOP_MAX_SYNC_REFUSAL_SHARE (default 0.05).
"""

from dagster import AssetCheckResult, AssetChecksDefinition, AssetCheckSeverity, AssetKey, asset_check

from activation.refusals import sync_refusals
from identity.checks import conflicting_crm_emails
from ingestion.events.settings import PIPELINE_NAME as EVENTS_PIPELINE
from ingestion.hubspot.settings import PIPELINE_NAME as HUBSPOT_PIPELINE
from ingestion.quarantine_rate import quarantine_rate
from ingestion.salesforce.settings import PIPELINE_NAME as SALESFORCE_PIPELINE
from orchestration.metadata import rounded_metadata
from orchestration.resources import WarehouseResource
from orchestration.shared import SYNC_LOG, WAREHOUSE_POOL, model_key, raw_key
from revloop.checks import CheckOutcome, env_share
from revloop.config.models import TASKS
from revloop.model_quality import model_above_baseline

QUARANTINE_SHARE_ENV, DEFAULT_QUARANTINE_SHARE = "REVLOOP_MAX_QUARANTINE_SHARE", 0.02
REFUSAL_SHARE_ENV, DEFAULT_REFUSAL_SHARE = "REVLOOP_MAX_SYNC_REFUSAL_SHARE", 0.05
# source -> (its dlt pipeline, the raw table every load of it materializes, where its check is shown)
LOADED_SOURCES = {
    "salesforce": (SALESFORCE_PIPELINE, "contact"),
    "hubspot": (HUBSPOT_PIPELINE, "contacts"),
    "events": (EVENTS_PIPELINE, "website"),
}


def check_result(outcome: CheckOutcome, severity: AssetCheckSeverity) -> AssetCheckResult:
    """The Dagster result of a verdict: its summary as description, its rounded figures as metadata."""
    return AssetCheckResult(
        passed=outcome.passed,
        severity=severity,
        description=outcome.summary,
        metadata=rounded_metadata(outcome.metadata),
    )


@asset_check(
    asset=AssetKey(["identity", "profile_map"]),
    name="no_conflicting_crm_emails",
    description="Wrong-merge guard: no profile holds two records of one CRM object (Salesforce contacts, "
    "leads, HubSpot contacts) that share no e-mail. Warns with the profile and record ids.",
    pool=WAREHOUSE_POOL,
)
def no_conflicting_crm_emails(warehouse: WarehouseResource) -> AssetCheckResult:
    return check_result(conflicting_crm_emails(warehouse.warehouse_file), AssetCheckSeverity.WARN)


def model_quality_check(task: str) -> AssetChecksDefinition:
    """The model quality floor of one task: its promoted model's holdout AUC above the RFM baseline's."""

    @asset_check(
        asset=model_key(task),
        name="auc_above_baseline",
        description=f"The promoted {task} model's holdout AUC is above the RFM baseline's on the same "
        "holdout (no promoted model: the baseline rules score, and the check passes).",
    )
    def auc_above_baseline(warehouse: WarehouseResource) -> AssetCheckResult:
        return check_result(model_above_baseline(task, warehouse.warehouse_file), AssetCheckSeverity.ERROR)

    return auc_above_baseline


def quarantine_rate_check(source: str) -> AssetChecksDefinition:
    """The quarantine rate of one source's last load, below REVLOOP_MAX_QUARANTINE_SHARE."""
    pipeline, table = LOADED_SOURCES[source]

    @asset_check(
        asset=raw_key(source, table),
        name="quarantine_rate",
        description=f"Share of {source} records refused into quarantine.rejected_records in the last load "
        f"(refused / read) at most {QUARANTINE_SHARE_ENV} (default {DEFAULT_QUARANTINE_SHARE}).",
        pool=WAREHOUSE_POOL,
    )
    def quarantine_rate_of_source(warehouse: WarehouseResource) -> AssetCheckResult:
        max_share = env_share(QUARANTINE_SHARE_ENV, DEFAULT_QUARANTINE_SHARE)
        outcome = quarantine_rate(source, pipeline, warehouse.warehouse_file, max_share)
        return check_result(outcome, AssetCheckSeverity.WARN)

    return quarantine_rate_of_source


@asset_check(
    asset=SYNC_LOG,
    name="sync_refusals",
    description="Writes the CRMs refused in the latest sync (new and repeated), by CRM object; warns when "
    f"new refusals exceed {REFUSAL_SHARE_ENV} (default {DEFAULT_REFUSAL_SHARE}) of its operations.",
    pool=WAREHOUSE_POOL,
)
def sync_refusals_check(warehouse: WarehouseResource) -> AssetCheckResult:
    max_share = env_share(REFUSAL_SHARE_ENV, DEFAULT_REFUSAL_SHARE)
    return check_result(sync_refusals(warehouse.warehouse_file, max_share), AssetCheckSeverity.WARN)


ASSET_CHECKS = [
    no_conflicting_crm_emails,
    *(model_quality_check(task) for task in TASKS),
    *(quarantine_rate_check(source) for source in LOADED_SOURCES),
    sync_refusals_check,
]
