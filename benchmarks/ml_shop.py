"""Models on an events-only shop: holdout AUC of the purchase model next to the RFM baseline, and coverage.

    python -m benchmarks.ml_shop --people 3000            # two years of a shop; next-90-day buyers
    python -m benchmarks.ml_shop --young                  # a new installation: 300 people, two weeks

Generates the shop (sandbox.world.shop: only Segment event files, no CRM), ingests the files, builds
marts.ml_features with dbt (purchase horizon 90 days), resolves identities, trains and scores, builds
marts.customer_profiles, then prints per task what trained or why not, the holdout AUCs (model, RFM
logistic regression, baseline rules) and the share of identified people (a userId or an e-mail) with scores.
"""

import argparse
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from benchmarks.dbt_commands import run_dbt_checked
from identity import resolve_identities
from ingestion.load import load_source
from ml.registry import ModelRegistry
from ml.scoring import ScoringReport, score_profiles
from ml.training import TrainingReport, train_models
from revloop.config import config_dir
from revloop.warehouse import connect_warehouse
from sandbox.world.shop import ShopWorld, generate_shop, young_shop

PURCHASE_HORIZON_DAYS = 90


@dataclass
class ShopRun:
    """What one run measured."""

    warehouse: Path
    training: dict[str, TrainingReport]
    scoring: ScoringReport
    identified: int  # identified people of the world (a userId or an e-mail)
    covered: dict[str, int]  # of them, how many have a score per profile column


def shop_config(folder: Path, purchase_horizon_days: int = PURCHASE_HORIZON_DAYS) -> Path:
    """A copy of the config folder whose purchase task looks `purchase_horizon_days` ahead."""
    target = folder / "config"
    shutil.copytree(config_dir(), target)
    models = yaml.safe_load((target / "models.yml").read_text())
    models["tasks"]["purchase"]["horizon_days"] = purchase_horizon_days
    (target / "models.yml").write_text(yaml.safe_dump(models, sort_keys=False))
    return target


def build_shop_warehouse(world: ShopWorld, folder: Path, config: Path) -> Path:
    """Ingest the shop's event files and build marts.ml_features (the way the asset graph does)."""
    warehouse, events_dir = folder / "warehouse.duckdb", folder / "events"
    world.write_events(events_dir)
    load_source(events_dir, warehouse)
    env = {"WAREHOUSE_PATH": str(warehouse), "DBT_TARGET": "duckdb", "REVLOOP_CONFIG_DIR": str(config)}
    run_dbt_checked(["run", "--select", "+int_identity_records"], folder, env)
    resolve_identities(warehouse)
    run_dbt_checked(["run", "--select", "+ml_features"], folder, env)
    return warehouse


def profile_coverage(world: ShopWorld, warehouse: Path) -> tuple[int, dict[str, int]]:
    """Identified people of the world, and how many of them have each score in marts.customer_profiles."""
    emails = [s.email.lower() for s in world.shoppers if s.identified]
    with connect_warehouse(warehouse, read_only=True) as con:
        con.execute("create temp table identified (email varchar)")
        con.executemany("insert into identified values (?)", [[e] for e in emails])
        row = con.execute(
            """
            select count(distinct identified.email),
                count(distinct case when p.purchase_likelihood is not null then identified.email end),
                count(distinct case when p.engagement_potential is not null then identified.email end),
                count(distinct case when p.churn_risk is not null then identified.email end)
            from identified
            left join marts.customer_profiles as p on lower(p.email) = identified.email
            """
        ).fetchone()
    return row[0], {"purchase_likelihood": row[1], "engagement_potential": row[2], "churn_risk": row[3]}


def run(world: ShopWorld, folder: Path) -> ShopRun:
    """The whole path on one world: ingest, features, train, score, profiles."""
    config = shop_config(folder)
    previous = os.environ.get("REVLOOP_CONFIG_DIR")
    os.environ["REVLOOP_CONFIG_DIR"] = str(config)
    try:
        warehouse = build_shop_warehouse(world, folder, config)
        registry = ModelRegistry(warehouse=warehouse)
        training = train_models(warehouse, registry=registry)
        scoring = score_profiles(warehouse, registry=registry)
        env = {"WAREHOUSE_PATH": str(warehouse), "DBT_TARGET": "duckdb", "REVLOOP_CONFIG_DIR": str(config)}
        run_dbt_checked(["run", "--select", "+customer_profiles"], folder, env)
    finally:
        if previous is None:
            os.environ.pop("REVLOOP_CONFIG_DIR", None)
        else:
            os.environ["REVLOOP_CONFIG_DIR"] = previous
    identified, covered = profile_coverage(world, warehouse)
    return ShopRun(warehouse, training, scoring, identified, covered)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--young", action="store_true", help="300 people, two weeks of events")
    parser.add_argument("--workdir", type=Path, help="warehouse folder (default: temp, removed)")
    args = parser.parse_args(argv)
    world = young_shop(seed=args.seed) if args.young else generate_shop(args.people, seed=args.seed)
    truth = world.truth
    print(
        f"shop: {truth['people']} people over {world.options.days} days, {truth['buyers']} buyers "
        f"({truth['one_time_buyers']} bought once), {truth['orders']} orders"
    )
    folder = args.workdir or Path(tempfile.mkdtemp(prefix="revloop-ml-shop-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        result = run(world, folder)
        for task, report in result.training.items():
            m = report.metrics
            aucs = (
                f"holdout AUC {m['auc']:.4f} vs RFM baseline {m['baseline_auc']:.4f} "
                f"(rules {m['rules_auc']:.4f}), {m['holdout_rows']} holdout rows, "
                f"positive rate {m['holdout_positive_rate']:.3f}; "
                if "auc" in m
                else ""
            )
            scorer = result.scoring.model_versions[task]
            print(f"{task}: {report.status}: {aucs}{report.reason}; scored by {scorer}")
        for column, count in result.covered.items():
            share = count / result.identified
            print(f"{column}: {count}/{result.identified} identified people ({share:.1%})")
    finally:
        if args.workdir is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
