"""Holdout AUCs of the models on the sandbox world, with every source and CRM-only (the leakage audit).

    python -m benchmarks.ml_world --people 1200 --seed 7

Generates the sandbox world, serves its CRMs from the sandbox and ingests them and its event files, then per
world (full; crm_only: raw_events dropped) builds marts.ml_features on a copy (dbt, identity, dbt), trains
the three models and prints each task's holdout AUC next to the baseline rules', and the churn AUC without
the open-pipeline features (what an open deal at the as-of date tells about a renewal in the horizon).
"""

import argparse
import shutil
import tempfile
from pathlib import Path

from benchmarks.dbt_commands import run_dbt_checked
from identity import resolve_identities
from ingestion.hubspot import HubSpotConnection
from ingestion.load import load_source
from ingestion.salesforce import SalesforceConnection
from ml.features import read_features
from ml.registry import ModelRegistry
from ml.training import train_models, train_task
from revloop.config.models import load_models_config
from revloop.warehouse import connect_warehouse
from sandbox.runner import SANDBOX_TOKEN, Sandbox
from sandbox.world import World, generate_world

WORLDS = {"full": (), "crm_only": ("raw_events",)}
PIPELINE_FEATURES = (("account_open_deal_count",), ("account_open_deal_count", "open_deal_count"))


def load_world(world: World, folder: Path) -> Path:
    """The raw warehouse of `world`: CRMs through the sandbox, event files through the events source."""
    warehouse, events = folder / "warehouse.duckdb", folder / "events"
    world.write_events(events)
    with Sandbox.start(folder / "sandbox", world) as sandbox:
        ca_bundle = str(sandbox.tls.ca_bundle)
        salesforce = SalesforceConnection(
            instance_url=sandbox.salesforce.url, access_token=SANDBOX_TOKEN, ca_bundle=ca_bundle
        )
        hubspot = HubSpotConnection(SANDBOX_TOKEN, sandbox.hubspot.url, ca_bundle)
        for crm in (salesforce, hubspot):
            load_source(crm, warehouse)
    load_source(events, warehouse)
    return warehouse


def _dbt(args: list[str], folder: Path, warehouse: Path) -> None:
    run_dbt_checked(args, folder, {"WAREHOUSE_PATH": str(warehouse), "DBT_TARGET": "duckdb"})


def build_features(raw: Path, folder: Path, drop_schemas: tuple[str, ...]) -> Path:
    """A copy of the raw warehouse, less drop_schemas, with marts.ml_features built."""
    warehouse = folder / "warehouse.duckdb"
    shutil.copy(raw, warehouse)
    with connect_warehouse(warehouse) as con:
        for schema in drop_schemas:
            con.execute(f"drop schema if exists {schema} cascade")
    _dbt(["run", "--select", "+int_identity_records"], folder, warehouse)
    resolve_identities(warehouse)
    _dbt(["run", "--select", "+ml_features"], folder, warehouse)
    return warehouse


def audit(warehouse: Path, folder: Path) -> list[str]:
    """One line per task (model and baseline rules AUC, holdout rows), and the churn AUC without the
    open-pipeline features."""
    lines = []
    for task, report in train_models(warehouse, registry=ModelRegistry(folder / "models")).items():
        metrics = report.metrics
        if "auc" not in metrics:
            lines.append(f"  {task}: {report.status} ({report.reason})")
            continue
        lines.append(
            f"  {task}: AUC {metrics['auc']:.3f}, rules {metrics['rules_auc']:.3f}, "
            f"holdout rows {metrics['holdout_rows']:,}"
        )
    frame, config = read_features(warehouse), load_models_config()
    for dropped in PIPELINE_FEATURES:
        report = train_task(
            "churn", frame.drop(columns=list(dropped)), config, ModelRegistry(folder / "ablation")
        )
        lines.append(
            f"  churn without {', '.join(dropped)}: AUC {report.metrics.get('auc', float('nan')):.3f}"
        )
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="revloop-ml-world-") as tmp:
        root = Path(tmp)
        (root / "raw").mkdir()
        raw = load_world(generate_world(people=args.people, seed=args.seed), root / "raw")
        for name, dropped in WORLDS.items():
            folder = root / name
            folder.mkdir()
            print(f"{name} ({args.people:,} people, seed {args.seed}):", flush=True)
            for line in audit(build_features(raw, folder, dropped), folder):
                print(line, flush=True)


if __name__ == "__main__":
    main()
