"""Run dbt with the user's config/ passed as the var `revloop`: `python -m revloop.dbt build ...`.

`docs generate` and `docs serve` use their own target folder (DOCS_TARGET_PATH) unless --target-path or
DBT_TARGET_PATH says otherwise: a docs run never rewrites the manifest Dagster loads from dbt_project/target.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
DOCS_TARGET_PATH = DBT_PROJECT_DIR / "target" / "docs"


def dbt_vars() -> dict:
    """The config files dbt models read, validated, as one JSON-able dict (var('revloop'))."""
    from revloop.config.handoff import load_handoff_config
    from revloop.config.identity import load_identity_config
    from revloop.config.models import load_models_config
    from revloop.config.scoring import load_scoring_config
    from revloop.config.survivorship import LIFECYCLE_STAGES, load_survivorship_config

    return {
        "revloop": {
            "identity": load_identity_config().model_dump(mode="json"),
            "survivorship": load_survivorship_config().model_dump(mode="json"),
            "scoring": load_scoring_config().model_dump(mode="json"),
            "models": load_models_config().model_dump(mode="json"),
            "handoff": load_handoff_config().model_dump(mode="json"),
            "lifecycle_stages": list(LIFECYCLE_STAGES),
        },
        "duckdb": duckdb_vars(),
    }


def duckdb_vars() -> dict[str, str]:
    """The var profiles.yml reads: the DuckDB memory and threads of every connection revloop opens."""
    from revloop.warehouse import duckdb_settings

    return {name: value for name, value in duckdb_settings().items() if name != "temp_directory"}


def dbt_args(args: list[str]) -> list[str]:
    """dbt arguments with the project, profiles and config vars filled in; the caller's --vars win."""
    args, variables = list(args), dbt_vars()
    if "--vars" in args:
        at = args.index("--vars")
        variables |= yaml.safe_load(args[at + 1]) or {}
        del args[at : at + 2]
    if args[:1] == ["docs"] and "--target-path" not in args and not os.environ.get("DBT_TARGET_PATH"):
        args += ["--target-path", str(DOCS_TARGET_PATH)]
    return [
        *args,
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--vars",
        json.dumps(variables),
    ]


def missing_warehouse(args: list[str], env: dict[str, str]) -> str | None:
    """Why `docs generate` cannot run: the DuckDB warehouse its catalog (column types) is read from is absent.

    dbt would otherwise create an empty warehouse file there and document no column.
    """
    if args[:2] != ["docs", "generate"] or "--empty-catalog" in args:
        return None
    if (env.get("DBT_TARGET") or "duckdb") != "duckdb":
        return None
    from revloop.warehouse import warehouse_path

    warehouse = Path(env["WAREHOUSE_PATH"]) if env.get("WAREHOUSE_PATH") else warehouse_path()
    if warehouse.exists():
        return None
    return (
        f"no warehouse at {warehouse}: dbt docs read the column types from it. Build it first (make demo), "
        "point WAREHOUSE_PATH at yours, or add --empty-catalog for the docs without column types."
    )


def checked_args(args: list[str], env: dict[str, str]) -> list[str] | None:
    """dbt_args(args), or None after printing why the command cannot run (missing_warehouse)."""
    problem = missing_warehouse(args, env)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return None
    return dbt_args(args)


def main(argv: list[str] | None = None) -> int:
    env = {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **os.environ}
    args = checked_args(list(argv if argv is not None else sys.argv[1:]), env)
    if args is None:
        return 2
    return subprocess.call([str(Path(sys.executable).parent / "dbt"), *args], env=env)


if __name__ == "__main__":
    sys.exit(main())
