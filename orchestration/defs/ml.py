"""Model assets of the daily_models job: train and promote each model, then score every profile."""

from dagster import AssetExecutionContext, AssetKey, AssetSpec, MaterializeResult, MetadataValue, multi_asset

import ml  # its names import scikit-learn on first use: loading the definitions does not
from orchestration.metadata import rounded_metadata
from orchestration.resources import WarehouseResource
from orchestration.shared import PREDICTIONS, WAREHOUSE_POOL, model_key
from orchestration.table_metadata import warehouse_tables_metadata
from revloop.config.models import TASKS

MODEL_RUNS = AssetKey(["ml", "model_runs"])
# hourly_sync rebuilds marts.ml_features but neither trains nor scores: the UI shows these assets Unsynced.
DAILY = (
    " Rebuilt by daily_models (02:30), not by hourly_sync: after an hourly sync the UI marks it Unsynced"
    " (marts.ml_features is newer), as expected until the next daily_models run; profiles keep the latest"
    " scores meanwhile."
)


@multi_asset(
    specs=[
        AssetSpec(
            model_key(task),
            group_name="ml",
            kinds={"scikit-learn"},
            deps=[AssetKey(["marts", "ml_features"])],
            description=f"The promoted {task} model: retrained daily, promoted only if it beats the current."
            + DAILY,
        )
        for task in TASKS
    ]
    + [
        AssetSpec(
            MODEL_RUNS,
            group_name="ml",
            kinds={"duckdb"},
            description="ml.model_runs: every training attempt's holdout metrics next to the RFM baseline's."
            + DAILY,
        )
    ],
    pool=WAREHOUSE_POOL,
)
def models(context: AssetExecutionContext, warehouse: WarehouseResource):
    reports = ml.train_models(warehouse=warehouse.warehouse_file)
    for task, report in reports.items():
        context.log.info(f"{task}: {report.status} ({report.reason})")
        metadata = {**report.metadata(), "report": MetadataValue.md(report.markdown())}
        yield MaterializeResult(asset_key=model_key(task), metadata=rounded_metadata(metadata))
    runs = warehouse_tables_metadata(warehouse.warehouse_file, [tuple(MODEL_RUNS.path)])
    yield MaterializeResult(asset_key=MODEL_RUNS, metadata=rounded_metadata(runs.get(tuple(MODEL_RUNS.path))))


@multi_asset(
    specs=[
        AssetSpec(
            PREDICTIONS,
            group_name="ml",
            kinds={"scikit-learn", "duckdb"},
            deps=[model_key(task) for task in TASKS],
            description="ml.predictions: one score per profile, task and model version." + DAILY,
        )
    ],
    pool=WAREHOUSE_POOL,
)
def predictions(context: AssetExecutionContext, warehouse: WarehouseResource):
    report = ml.score_profiles(warehouse=warehouse.warehouse_file)
    table = warehouse_tables_metadata(warehouse.warehouse_file, [tuple(PREDICTIONS.path)])
    metadata = {**report.metadata(), **table.get(tuple(PREDICTIONS.path), {})}
    yield MaterializeResult(asset_key=PREDICTIONS, metadata=rounded_metadata(metadata))
