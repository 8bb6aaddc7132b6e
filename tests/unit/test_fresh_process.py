"""A benchmark's fresh process ends even when its parent ignores SIGTERM (as Dagster leaves it under a
background job: SIGTERM mapped to SIGINT's handler, which is "ignore")."""

import os
import signal

import pytest

from benchmarks.fresh_process import in_fresh_process


@pytest.mark.timeout(60)
def test_the_fresh_process_answers_and_exits_while_sigterm_is_ignored():
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        child = in_fresh_process(os.getpid)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert child != os.getpid()
    with pytest.raises(ProcessLookupError):  # gone, not left behind
        os.kill(child, 0)
