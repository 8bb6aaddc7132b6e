"""Run dbt with the user's config/ passed as the var `revloop`: `python -m revloop.dbt build ...`."""

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"


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
        }
    }


def dbt_args(args: list[str]) -> list[str]:
    """dbt arguments with the project, profiles and config vars filled in; the caller's --vars win."""
    args, variables = list(args), dbt_vars()
    if "--vars" in args:
        at = args.index("--vars")
        variables |= yaml.safe_load(args[at + 1]) or {}
        del args[at : at + 2]
    return [
        *args,
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--vars",
        json.dumps(variables),
    ]


def main(argv: list[str] | None = None) -> int:
    dbt = Path(sys.executable).parent / "dbt"
    env = {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **os.environ}
    return subprocess.call([str(dbt), *dbt_args(argv if argv is not None else sys.argv[1:])], env=env)


if __name__ == "__main__":
    sys.exit(main())
