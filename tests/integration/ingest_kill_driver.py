"""One events ingestion as the events_raw asset runs it (dlt run, then the quarantine load), killed by
SIGKILL at the step named on the command line: `python -m tests.integration.ingest_kill_driver
<warehouse> <events dir> <step | none>`. Used by test_ingest_kills."""

import os
import signal
import sys
from pathlib import Path

import dlt

from ingestion.events import events_source
from ingestion.events import settings as events_settings
from ingestion.quarantine import Rejections, load_rejections
from revloop.warehouse import make_pipeline

# Steps at whose end the process can be killed: the third refusal spooled (mid-extract), then the end of
# each dlt step of the events pipeline and of the quarantine pipeline.
STEPS = (
    "third-refusal",
    "events-extract", "events-normalize", "events-load",
    "quarantine-extract", "quarantine-normalize", "quarantine-load",
)


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _kill_after_pipeline_step(kill_at: str) -> None:
    for step in ("extract", "normalize", "load"):
        original = getattr(dlt.Pipeline, step)

        def wrapper(self, *args, _original=original, _step=step, **kwargs):
            result = _original(self, *args, **kwargs)
            if f"{self.pipeline_name}-{_step}" == kill_at:
                _die()
            return result

        setattr(dlt.Pipeline, step, wrapper)


def _kill_after_third_refusal() -> None:
    original = Rejections.add
    count = 0

    def add(self, *args, **kwargs):
        nonlocal count
        original(self, *args, **kwargs)
        count += 1
        if count == 3:
            _die()

    Rejections.add = add


def main(warehouse: Path, events_dir: Path, kill_at: str) -> None:
    if kill_at == "third-refusal":
        _kill_after_third_refusal()
    elif kill_at != "none":
        _kill_after_pipeline_step(kill_at)
    rejections = Rejections.spooled(events_settings.PIPELINE_NAME, warehouse)
    pipeline = make_pipeline(events_settings.PIPELINE_NAME, events_settings.DATASET, warehouse)
    pipeline.run(events_source(events_dir, rejections))
    load_rejections(rejections, warehouse)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3])
