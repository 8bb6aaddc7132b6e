"""The whole-graph benchmark's measuring parts: the process tree's memory, and samples cut into stages."""

import subprocess
import sys
import time

from benchmarks.whole_graph import Sample, Stage, TreeSampler, kill_group, process_tree, stage_figures

# A parent that starts a child holding 200 MB, then both wait to be killed. The child writes to every page of
# its block ten times a second: a kernel that pages cold memory out (DAMON's pageout, as on the CI machines)
# would otherwise shrink its resident set below the block while the test samples it.
HOLDER = (
    "import time\n"
    "block = bytearray(200 * 2**20)\n"
    "print(1, flush=True)\n"
    "while True:\n"
    "    block[::4096] = bytes([1]) * len(range(0, len(block), 4096))\n"
    "    time.sleep(0.1)\n"
)
GRANDCHILD = (
    "import subprocess, sys, time\n"
    f"subprocess.Popen([sys.executable, '-c', {HOLDER!r}])\n"
    "time.sleep(60)\n"
)


def test_sampler_sums_the_memory_of_every_descendant():
    parent = subprocess.Popen([sys.executable, "-c", GRANDCHILD], start_new_session=True)
    try:
        deadline = time.monotonic() + 20
        sampler = TreeSampler(parent.pid, interval=0.1, min_free=0)
        while time.monotonic() < deadline:
            sample = sampler.sample()
            if sample.rss > 200 * 2**20:
                break
            time.sleep(0.1)
        assert len(process_tree(parent.pid)) == 2
        # the child's 200 MB block plus two interpreters; the child is the largest process
        assert sample.rss > 200 * 2**20
        assert sample.top_rss > 200 * 2**20
        assert sample.top_label.startswith("-c")
    finally:
        kill_group(parent.pid)
        parent.wait()


def test_the_sampler_kills_the_run_when_free_memory_runs_low():
    run = subprocess.Popen([sys.executable, "-c", GRANDCHILD], start_new_session=True)
    sampler = TreeSampler(run.pid, interval=0.1, min_free=2**62).start()  # more than any machine has
    try:
        assert run.wait(timeout=20) == -9
    finally:
        sampler.stop()
        kill_group(run.pid)
    assert sampler.aborted and sampler.aborted.startswith("MemAvailable")


def test_each_stage_gets_its_own_peak_and_cpu():
    stages = [Stage("start-up", 0, 10), Stage("events_raw", 10, 30), Stage("dbt_before_identity", 30, 40)]
    samples = [
        Sample(1, 100, 0.0, "dagster asset", 100),
        Sample(9, 300, 2.0, "dagster asset", 300),
        Sample(12, 900, 3.0, "dagster asset", 900),  # the peak of events_raw and of the run
        Sample(29, 500, 13.0, "dagster asset", 500),
        Sample(31, 700, 14.0, "dbt build", 400),
        Sample(39, 600, 20.0, "dbt build", 300),
    ]
    figures = {f.stage.name: f for f in stage_figures(stages, samples)}
    assert figures["start-up"].peak.rss == 300
    assert figures["events_raw"].peak.rss == 900
    assert figures["dbt_before_identity"].peak.top_label == "dbt build"
    assert figures["events_raw"].seconds == 20
    # CPU from the stage's first sample to the first sample after it
    assert figures["start-up"].cpu == 3.0
    assert figures["events_raw"].cpu == 11.0
    assert figures["dbt_before_identity"].cpu == 6.0
