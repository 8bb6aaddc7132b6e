"""The jobs of a full build, stage by stage (`make demo` runs them in order), and the whole build as one job:
runs named by what they do instead of Dagster's __ASSET_JOB."""

from dagster import AssetSelection, define_asset_job

from orchestration.shared import FULL_BUILD_JOB, NEAR_REAL_TIME_GROUP, STAGE_TAG, STAGES, stage_selection

WHAT_EACH_STAGE_DOES = {
    "ingestion": "Load Salesforce, HubSpot and the event files into raw_* (bad rows quarantined).",
    "warehouse": "Build staging, identities and the marts that need no scores (dbt, identity resolution).",
    "ml": "Train and promote the models, score every profile, then build profiles and segments.",
    "activation": "Sync the CRMs, write enriched fields back, hand leads off, refresh the profile API.",
}

STAGE_JOBS = [
    define_asset_job(
        job,
        selection=stage_selection(group),
        description=f"Stage {number}/{len(STAGES)} of a full build: {WHAT_EACH_STAGE_DOES[group]}",
        tags={STAGE_TAG: group},
    )
    for number, (group, job) in enumerate(STAGES, start=1)
]

full_build = define_asset_job(
    FULL_BUILD_JOB,
    selection=AssetSelection.all() - AssetSelection.groups(NEAR_REAL_TIME_GROUP),
    description="Every asset in dependency order, training included: the four stage jobs "
    f"({', '.join(job for _, job in STAGES)}) in one run.",
)
