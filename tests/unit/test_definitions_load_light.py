"""Every Dagster process (daemon, code server, run worker, CLI) loads the definitions: that load leaves the
heavy libraries the assets use to the steps that use them."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFERRED = ("sklearn", "scipy.stats", "scipy.optimize", "phonenumbers.geocoder")


def test_loading_the_definitions_imports_no_model_library():
    probe = (
        "import sys, orchestration.definitions; "
        f"print(','.join(name for name in {DEFERRED!r} if name in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=300, check=True
    )
    assert result.stdout.strip() == "", f"imported while loading the definitions: {result.stdout.strip()}"


def test_the_deferred_names_still_resolve():
    import ml
    from identity.phones import region_of_country

    assert callable(ml.train_models) and callable(ml.score_profiles)
    assert region_of_country("United Kingdom") == "GB"
