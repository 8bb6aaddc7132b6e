"""Whole-graph benchmark: every asset materialised as a user does it, with time and peak memory per stage.

    python -m benchmarks.whole_graph                                     # quick check: 2,000 people
    python -m benchmarks.whole_graph --people 100000 --events 20000000   # the issue's size
    python -m benchmarks.whole_graph --hourly --one-change               # then issue 18's two measurements

A spawned process generates the synthetic world of --people, writes its event files and serves it in the
sandbox CRMs; bulk event lines (sandbox.world.write_bulk_events, over --event-people visitors) top the files
up to --events lines. An aiosmtpd sink in this process receives the handoff e-mails. Then
`dagster asset materialize --select '*' -m orchestration.definitions` runs in its own process group on a fresh
warehouse and DAGSTER_HOME, while a sampler reads /proc every --sample-seconds: the resident memory (RSS) of
that process and all its descendants (dbt included) summed, and their CPU time. Stages are the run's Dagster
steps, dated from its event log (plus start-up before the first step and shut-down after the last). Printed
per stage: wall seconds, CPU seconds of the tree, peak RSS of the tree and the process that held most of it;
then which stage held the peak. The run is killed when the machine's MemAvailable falls under --min-free-gb.

On the same world, sandbox, warehouse and DAGSTER_HOME, --hourly and --one-change first wait out the CRM
cursors' lookback, then make a first delta (0.1% of the CRM records edited, an hour of events: see
benchmarks/hourly.py) and run `dagster job execute -j hourly_sync` once: it reads back what the full run wrote
to the CRMs. --hourly then makes a second delta and runs hourly_sync sampled as above, printing its stages,
the rows it loaded and its wall time over the full run's; --one-change then times one HubSpot change into
Salesforce through crm_change_sensor, with the Dagster daemon running the sensors.
"""

import argparse
import asyncio
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.crm import machine_line, peak_rss_mb

REPO = Path(__file__).resolve().parent.parent
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# Step metadata worth a column of the report, by step (what the CRM writes and the handoffs amounted to).
STEP_FACTS = {
    "crm_sync": ("api_calls_used", "api_calls_minimum"),
    "activation__lead_handoffs": (
        "handed_off",
        "owners_set",
        "tasks_created",
        "stale_leads",
        "seconds_read_back",
        "seconds_decide",
        "seconds_owners_tasks_mails",
        "seconds_reminders",
        "seconds_sending",
        "cpu_seconds_read_back",
        "cpu_seconds_decide",
        "cpu_seconds_owners_tasks_mails",
        "cpu_seconds_reminders",
        "cpu_seconds_sending",
    ),
}


# --- the process tree, read from /proc --------------------------------------------------------------------


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (field 3 on), or None when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()
    except OSError:
        return None


def process_tree(root: int) -> list[int]:
    """root and every live descendant of it."""
    children: dict[int, list[int]] = defaultdict(list)
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))):
            children[int(fields[1])].append(int(entry.name))
    tree, stack = [], [root]
    while stack:
        pid = stack.pop()
        tree.append(pid)
        stack.extend(children.get(pid, ()))
    return tree


def rss_bytes(pid: int) -> int:
    """Resident memory of one process (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * PAGE_SIZE
    except (OSError, IndexError, ValueError):
        return 0


def cpu_seconds(pid: int) -> float:
    """CPU time of a process and of its children it has waited for (user + system)."""
    fields = _stat_fields(pid)
    if not fields:
        return 0.0
    return sum(int(value) for value in fields[11:15]) / CLOCK_TICKS


def process_label(pid: int) -> str:
    """A short name for a process: its command without the interpreter ("dbt build", "dagster asset")."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            args = [a.decode(errors="replace") for a in cmdline.read().split(b"\0") if a]
    except OSError:
        return "?"
    if args and Path(args[0]).name.startswith("python"):
        args = args[1:]
        if args[:1] == ["-m"]:
            args = args[1:]
    return " ".join(Path(a).name if i == 0 else a for i, a in enumerate(args[:2])) or "?"


def mem_available_bytes() -> int:
    """The kernel's estimate of memory available to new work (MemAvailable)."""
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


@dataclass(frozen=True)
class Sample:
    """One look at the tree: when, its summed RSS, its CPU seconds so far, and its largest process."""

    at: float  # epoch seconds, like Dagster's event timestamps
    rss: int
    cpu: float
    top_label: str
    top_rss: int


@dataclass
class TreeSampler:
    """Samples a process tree in a thread; kills the tree's process group when free memory runs low."""

    root: int
    interval: float
    min_free: int
    samples: list[Sample] = field(default_factory=list)
    lowest_free: int | None = None
    aborted: str | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> "TreeSampler":
        self._thread = threading.Thread(target=self._run, name="tree-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()

    def sample(self) -> Sample:
        pids = process_tree(self.root)
        sizes = {pid: rss_bytes(pid) for pid in pids}
        top = max(sizes, key=sizes.get)
        # a child's CPU joins its parent's once waited for: count the live tree's own plus waited-for time
        cpu = sum(cpu_seconds(pid) for pid in pids)
        return Sample(time.time(), sum(sizes.values()), cpu, process_label(top), sizes[top])

    def _run(self) -> None:
        while not self._stop.is_set():
            if _stat_fields(self.root) is None:
                return
            self.samples.append(self.sample())
            free = mem_available_bytes()
            self.lowest_free = free if self.lowest_free is None else min(self.lowest_free, free)
            if free < self.min_free and self.aborted is None:
                self.aborted = f"MemAvailable {free / 2**30:.1f} GB < {self.min_free / 2**30:.1f} GB"
                kill_group(self.root)
            self._stop.wait(self.interval)


def kill_group(leader: int) -> None:
    """SIGKILL the process group that `leader` started (nothing when it is gone)."""
    try:
        os.killpg(leader, signal.SIGKILL)
    except ProcessLookupError:
        pass


# --- stages from the run's event log ----------------------------------------------------------------------


@dataclass(frozen=True)
class Stage:
    """A stretch of the run: its name, start and end (epoch seconds), and facts from its metadata."""

    name: str
    start: float
    end: float
    facts: dict = field(default_factory=dict)


@dataclass(frozen=True)
class StageFigures:
    """A stage's wall seconds, the tree's CPU seconds during it, and its peak sample."""

    stage: Stage
    seconds: float
    cpu: float
    peak: Sample | None


def run_stages(
    dagster_home: Path, started: float, ended: float, run_id: str | None = None
) -> tuple[list[Stage], str]:
    """The steps of the run (by default the latest) in dagster_home as contiguous stages (start-up first),
    and the run's status."""
    from dagster import DagsterEventType, DagsterInstance, RunsFilter

    os.environ["DAGSTER_HOME"] = str(dagster_home)
    with DagsterInstance.get() as instance:
        runs = instance.get_runs(RunsFilter(run_ids=[run_id]) if run_id else None, limit=1)
        if not runs:
            return [Stage("start-up (no run was recorded)", started, ended)], "NOT STARTED"
        run = runs[0]
        first: dict[str, float] = {}
        facts: dict[str, dict] = defaultdict(dict)
        for entry in instance.all_logs(run.run_id):
            event = entry.dagster_event
            if event is None or entry.step_key is None:
                continue
            if event.event_type == DagsterEventType.STEP_START:
                first.setdefault(entry.step_key, entry.timestamp)
            elif event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
                metadata = event.event_specific_data.materialization.metadata
                for name in STEP_FACTS.get(entry.step_key, ()):
                    if name in metadata:
                        facts[entry.step_key][name] = metadata[name].value
        status = run.status.value
    steps = sorted(first.items(), key=lambda item: item[1])
    if not steps:
        return [Stage("start-up", started, ended)], status
    # the in-process executor runs one step at a time: a step lasts until the next one starts
    bounds = [started] + [at for _, at in steps] + [ended]
    names = ["start-up"] + [name for name, _ in steps]
    return [
        Stage(name, bounds[i], bounds[i + 1], facts.get(name, {})) for i, name in enumerate(names)
    ], status


def stage_figures(stages: list[Stage], samples: list[Sample]) -> list[StageFigures]:
    """Each stage's seconds, CPU (from the first sample in it to the first after it) and peak sample."""
    figures = []
    for stage in stages:
        inside = [s for s in samples if stage.start <= s.at < stage.end]
        after = next((s for s in samples if s.at >= stage.end), samples[-1] if samples else None)
        before = inside[0] if inside else after
        cpu = after.cpu - before.cpu if before and after else 0.0
        peak = max(inside, key=lambda s: s.rss) if inside else None
        figures.append(StageFigures(stage, stage.end - stage.start, max(cpu, 0.0), peak))
    return figures


def print_report(figures: list[StageFigures], total_cpu: float | None) -> None:
    print(f"\n{'stage':28s} {'seconds':>8s} {'CPU s':>8s} {'peak RSS':>10s}  largest process at the peak")
    for f in figures:
        peak = f.peak
        where = f"{peak.top_label} {peak.top_rss / 2**20:,.0f} MB" if peak else "-"
        rss = f"{peak.rss / 2**20:,.0f} MB" if peak else "-"
        facts = ", ".join(f"{k} {v}" for k, v in f.stage.facts.items())
        print(
            f"{f.stage.name:28s} {f.seconds:8.1f} {f.cpu:8.1f} {rss:>10s}  {where}"
            + (f"  ({facts})" if facts else "")
        )
    total = sum(f.seconds for f in figures)
    held = max((f for f in figures if f.peak), key=lambda f: f.peak.rss, default=None)
    cpu = f", CPU {total_cpu:,.1f} s (all processes of the run)" if total_cpu is not None else ""
    print(f"{'whole run':28s} {total:8.1f}{cpu}")
    if held:
        print(
            f"peak RSS of the run's process tree: {held.peak.rss / 2**30:.2f} GB during {held.stage.name} "
            f"({held.peak.top_label} {held.peak.top_rss / 2**30:.2f} GB of it)"
        )


# --- the world: sandbox process, event files, SMTP sink ---------------------------------------------------


def serve_sandbox(people: int, seed: int, folder: Path, events_dir: Path, pipe) -> None:
    """(Spawned process) generate the world, write its event files, serve it until asked to stop.

    Meanwhile it answers "writes" with the CRM write calls so far, by CRM, and "rep" by adding a sales rep's
    Salesforce user (its session token: benchmarks.hourly.REP_TOKEN) and sending the user's id.
    """
    import gc

    from sandbox.runner import Sandbox
    from sandbox.world import generate_world

    started = time.perf_counter()
    world = generate_world(people=people, seed=seed)
    world.write_events(events_dir)
    described = {
        "event lines": sum(len(lines) for lines in world.event_files.lines.values()),
        **{f"Salesforce {name}": len(rows) for name, rows in world.salesforce.items()},
        **{f"HubSpot {name}": len(rows) for name, rows in world.hubspot.items()},
    }
    sandbox = Sandbox.start(folder, world)
    del world
    gc.collect()
    pipe.send((sandbox.env(), described, time.perf_counter() - started))
    while (command := pipe.recv()) != "stop":
        if command == "rep":
            from benchmarks.hourly import REP_TOKEN, REP_USERNAME

            pipe.send(sandbox.salesforce.app.add_user(REP_USERNAME, REP_TOKEN, "Rep"))
        else:
            pipe.send(
                {crm: crm_writes(getattr(sandbox, crm).app.request_log) for crm in ("salesforce", "hubspot")}
            )
    sandbox.stop()


def crm_writes(log) -> int:
    """Requests that wrote to a CRM: every non-GET request but searches and batch reads."""
    return sum(
        1
        for request in log
        if request.method != "GET"
        and not any(p in request.path for p in ("/search", "/batch/read", "/query"))
    )


class MailSink:
    """An aiosmtpd handler that counts the messages it receives and knows the thread that serves them."""

    def __init__(self) -> None:
        self.messages = 0
        self.lock = threading.Lock()
        self.thread: int | None = None  # the native id of the server's thread (its event loop)

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages += 1
            self.thread = threading.get_native_id()
        await asyncio.sleep(0)
        return "250 OK"

    def cpu_seconds(self) -> float:
        """The CPU time of the server's thread so far: the SMTP server's own time in the handoff step."""
        if self.thread is None:
            return 0.0
        try:
            with open(f"/proc/self/task/{self.thread}/stat") as stat:
                fields = stat.read().rpartition(")")[2].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- the run ----------------------------------------------------------------------------------------------


MATERIALIZE_EVERYTHING = ("asset", "materialize", "--select", "*", "-m", "orchestration.definitions")
HOURLY_SYNC = ("job", "execute", "-j", "hourly_sync", "-m", "orchestration.definitions")


def run_sampled(
    dagster_args: tuple[str, ...], env: dict[str, str], log: Path, sampler_args: dict
) -> tuple[int, float, float, TreeSampler, float]:
    """`dagster <dagster_args>` in its own process group, sampled while it runs.

    Returns its exit code, start and end (epoch seconds), the sampler and the CPU seconds of the whole tree.
    """
    command = [str(Path(sys.executable).parent / "dagster"), *dagster_args]
    with open(log, "w") as out:
        started = time.time()
        child = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        sampler = TreeSampler(child.pid, **sampler_args).start()
        try:
            _, status, usage = os.wait4(child.pid, 0)
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM: stop the run, report the stages it got through
            sampler.aborted = "interrupted"
            kill_group(child.pid)
            _, status, usage = os.wait4(child.pid, 0)
        ended = time.time()
        sampler.stop()
        kill_group(child.pid)  # anything the run left behind in its group goes too
    return os.waitstatus_to_exitcode(status), started, ended, sampler, usage.ru_utime + usage.ru_stime


def run_environment(workdir: Path, sandbox_env: dict[str, str], smtp_port: int) -> dict[str, str]:
    """What the run sees: the sandbox CRMs, the SMTP sink, a fresh warehouse and DAGSTER_HOME in workdir."""
    dagster_home = workdir / "dagster_home"
    dagster_home.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "config" / "dagster.yaml", dagster_home / "dagster.yaml")
    return {
        **os.environ,
        **sandbox_env,
        "WAREHOUSE_PATH": str(workdir / "warehouse.duckdb"),
        "EVENTS_DIR": str(workdir / "events"),
        "DAGSTER_HOME": str(dagster_home),
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "SMTP_FROM": "revloop@sellwise.io",
        "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "RUNTIME__DLTHUB_TELEMETRY": "false",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=2000, help="people of the world in the sandbox CRMs")
    parser.add_argument(
        "--events", type=int, default=100_000, help="event lines in all (the world's own, topped up in bulk)"
    )
    parser.add_argument(
        "--event-people", type=int, help="visitors behind the bulk event lines (default: --people)"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sample-seconds", type=float, default=0.5, help="how often memory is sampled")
    parser.add_argument(
        "--min-free-gb", type=float, default=3.0, help="kill the run when MemAvailable falls under this"
    )
    parser.add_argument("--workdir", type=Path, help="where files go (default: a temp dir, removed after)")
    parser.add_argument(
        "--hourly",
        action="store_true",
        help="then a rep's edits and an hour of events, and the hourly_sync job",
    )
    parser.add_argument(
        "--one-change",
        action="store_true",
        help="then one HubSpot change timed into Salesforce by the sensor",
    )
    parser.add_argument(
        "--crm-share", type=float, default=0.001, help="share of the world's CRM records edited (--hourly)"
    )
    parser.add_argument(
        "--event-share", type=float, default=0.003, help="event lines added as one hour of events (--hourly)"
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, signal.default_int_handler)

    from aiosmtpd.controller import Controller

    from sandbox.world import write_bulk_events

    workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="revloop-bench-graph-"))).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    events_dir = workdir / "events"
    print(machine_line(), flush=True)
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    sandbox = context.Process(
        target=serve_sandbox,
        args=(args.people, args.seed, workdir / "sandbox", events_dir, theirs),
        daemon=True,
    )
    sandbox.start()
    sink = MailSink()
    smtp = Controller(sink, hostname="127.0.0.1", port=free_port())
    smtp.start()
    try:
        sandbox_env, world, seconds = ours.recv()
        print(
            f"world of {args.people:,} people generated, written and served in {seconds:.1f}s: "
            + ", ".join(f"{name} {count:,}" for name, count in world.items()),
            flush=True,
        )
        bulk = max(0, args.events - world["event lines"])
        if bulk:
            started = time.perf_counter()
            write_bulk_events(events_dir, bulk, args.event_people or args.people, args.seed)
            print(
                f"{bulk:,} bulk event lines over {args.event_people or args.people:,} visitors written in "
                f"{time.perf_counter() - started:.1f}s",
                flush=True,
            )
        size = sum(f.stat().st_size for f in events_dir.rglob("*") if f.is_file())
        event_lines = world["event lines"] + bulk
        print(f"event files: {event_lines:,} lines, {size / 1e9:.2f} GB", flush=True)

        env = run_environment(workdir, sandbox_env, smtp.port)
        log = workdir / "materialize.log"
        print(
            f"load average before the run: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; log in {log}",
            flush=True,
        )
        sampler_args = {"interval": args.sample_seconds, "min_free": int(args.min_free_gb * 2**30)}
        code, started, ended, sampler, total_cpu = run_sampled(MATERIALIZE_EVERYTHING, env, log, sampler_args)
        print(f"load average after the run: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        stages, status = run_stages(workdir / "dagster_home", started, ended)
        print_report(stage_figures(stages, sampler.samples), total_cpu)
        writes = ask(ours, "writes")
        print(
            f"CRM write calls: Salesforce {writes['salesforce']:,}, HubSpot {writes['hubspot']:,}; "
            f"e-mails received by the SMTP sink: {sink.messages:,} (its own CPU {sink.cpu_seconds():.1f} s)"
        )
        print(
            f"sandbox process peak RSS {peak_rss_of(sandbox.pid):,.0f} MB (not part of the run); "
            f"this process's peak {peak_rss_mb():,.0f} MB; lowest MemAvailable during the run "
            f"{(sampler.lowest_free or 0) / 2**30:.1f} GB"
        )
        if not run_succeeded(code, status, sampler, log):
            return 1
        if not (args.hourly or args.one_change):
            return 0
        delta = HourlyDelta(args, world, event_lines, lambda command: ask(ours, command), sink)
        if not delta.settle(env, workdir, ended, sampler_args):
            return 1
        succeeded = delta.run(env, workdir, ended - started, sampler_args) if args.hourly else True
        if args.one_change:
            succeeded = one_change(env, workdir, sampler_args) and succeeded
        return 0 if succeeded else 1
    finally:
        smtp.stop()
        if sandbox.is_alive():
            ours.send("stop")
            sandbox.join(timeout=30)
        if sandbox.is_alive():
            sandbox.terminate()
        sandbox.join(timeout=30)
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


def ask(pipe, command: str):
    """The sandbox process's answer to a command (see serve_sandbox)."""
    pipe.send(command)
    return pipe.recv()


def run_succeeded(code: int, status: str, sampler: TreeSampler, log: Path) -> bool:
    """Whether a sampled run succeeded; says why not on stderr."""
    if sampler.aborted:
        print(f"ABORTED ({sampler.aborted}): the run was killed in its last stage", file=sys.stderr)
    if code or status != "SUCCESS":
        print(f"the run ended with exit code {code}, status {status}: see {log}", file=sys.stderr)
        return False
    return True


def load_line(when: str) -> str:
    return f"load average {when}: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"


@dataclass
class HourlyDelta:
    """A rep's edits and an hour of events on the full run's world, each followed by the hourly_sync job."""

    args: argparse.Namespace
    world: dict[str, int]
    event_lines: int
    ask: Callable[[str], object]
    sink: MailSink
    crms: object = None

    def change(self, env: dict[str, str], events_dir: Path, label: str) -> None:
        """Edit --crm-share of the CRM records as a rep; write --event-share of the lines as an hour."""
        from benchmarks.hourly import REP_TOKEN, Crms, describe_edits, plan_edits
        from sandbox.world import write_hour_of_events

        started = time.perf_counter()
        if self.crms is None:
            self.ask("rep")
            self.crms = Crms.connect(env, REP_TOKEN)
        records = sum(n for name, n in self.world.items() if name.startswith(("Salesforce ", "HubSpot ")))
        plan = plan_edits(
            self.crms.people(), round(self.args.crm_share * records), f"{self.args.seed}-{label}"
        )
        calls = self.crms.apply(plan)
        edited = sum(len(edits) for edits in plan.values())
        print(
            f"{label} delta: a rep edited {edited:,} of the world's {records:,} CRM records in {calls} API "
            f"calls ({time.perf_counter() - started:.1f}s): {describe_edits(plan)}"
        )
        started = time.perf_counter()
        lines = write_hour_of_events(
            events_dir,
            round(self.args.event_share * self.event_lines),
            self.args.event_people or self.args.people,
            self.args.seed,
        )
        print(
            f"{label} delta: {sum(lines.values()):,} new event lines of the last hour, a new file a channel "
            f"({time.perf_counter() - started:.1f}s)",
            flush=True,
        )

    def settle(self, env: dict[str, str], workdir: Path, full_ended: float, sampler_args: dict) -> bool:
        """Wait out the sources' lookback past the full run, then a first delta and hourly_sync run.

        That run reads back every record the full run wrote (the change cursors' lookback would bring them
        back once more had the first delta come sooner); the runs after it read what changed since.
        """
        from ingestion.hubspot.settings import SEARCH_LOOKBACK_SECONDS
        from ingestion.salesforce.settings import LOOKBACK_SECONDS

        lookback = max(LOOKBACK_SECONDS, SEARCH_LOOKBACK_SECONDS)
        wait = full_ended + lookback + 5 - time.time()
        print(
            f"\nwaiting {max(wait, 0):.0f} s: changes must come over {lookback:.0f} s (the CRM cursors' "
            "lookback) after the full run's CRM writes",
            flush=True,
        )
        time.sleep(max(wait, 0))
        self.change(env, workdir / "events", "first")
        log = workdir / "hourly_first.log"
        code, started, ended, sampler, _ = run_sampled(HOURLY_SYNC, env, log, sampler_args)
        _, status = run_stages(workdir / "dagster_home", started, ended)
        print(
            f"first hourly run after the full run (it reads back the full run's CRM writes): "
            f"{ended - started:.1f} s, {status}; log in {log}\n"
            f"rows loaded: {loaded_line(workdir / 'dagster_home')}"
        )
        return run_succeeded(code, status, sampler, log)

    def run(self, env: dict[str, str], workdir: Path, full_seconds: float, sampler_args: dict) -> bool:
        """A second delta, then hourly_sync sampled with its stages printed; False when the run failed."""
        print()
        self.change(env, workdir / "events", "hourly")
        writes, mails = self.ask("writes"), self.sink.messages
        log = workdir / "hourly.log"
        print(f"{load_line('before the hourly run')}; log in {log}", flush=True)
        code, started, ended, sampler, total_cpu = run_sampled(HOURLY_SYNC, env, log, sampler_args)
        print(load_line("after the hourly run"))
        stages, status = run_stages(workdir / "dagster_home", started, ended)
        print_report(stage_figures(stages, sampler.samples), total_cpu)
        print(f"rows loaded: {loaded_line(workdir / 'dagster_home')}")
        now = self.ask("writes")
        print(
            f"CRM write calls: Salesforce {now['salesforce'] - writes['salesforce']:,}, "
            f"HubSpot {now['hubspot'] - writes['hubspot']:,}; "
            f"e-mails received by the SMTP sink: {self.sink.messages - mails:,}"
        )
        print(
            f"hourly run / full run: {ended - started:.1f} s / {full_seconds:.1f} s = "
            f"{(ended - started) / full_seconds:.1%} (issue 18's target: <= 5%)",
            flush=True,
        )
        return run_succeeded(code, status, sampler, log)


def loaded_rows(dagster_home: Path, run_id: str | None = None) -> dict[str, int]:
    """Rows each source table took in the run (by default the latest), as its materialisation says."""
    from dagster import DagsterEventType, DagsterInstance, RunsFilter

    os.environ["DAGSTER_HOME"] = str(dagster_home)
    rows = {}
    with DagsterInstance.get() as instance:
        for run in instance.get_runs(RunsFilter(run_ids=[run_id]) if run_id else None, limit=1):
            for entry in instance.all_logs(run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION):
                materialization = entry.dagster_event.event_specific_data.materialization
                loaded = materialization.metadata.get("rows_loaded")
                if materialization.asset_key.path[0] == "raw" and loaded is not None:
                    rows["/".join(materialization.asset_key.path[1:])] = loaded.value
    return rows


def rows_by_source(rows: dict[str, int]) -> str:
    """'salesforce 40 (lead 24, contact 16); ...': rows loaded per source and table (where any)."""
    sources: dict[str, dict[str, int]] = defaultdict(dict)
    for table, count in rows.items():
        source, _, name = table.partition("/")
        if count:
            sources[source][name] = count
    return (
        "; ".join(
            f"{source} {sum(tables.values()):,} ({', '.join(f'{name} {n:,}' for name, n in tables.items())})"
            for source, tables in sources.items()
        )
        or "none"
    )


def loaded_line(dagster_home: Path, run_id: str | None = None) -> str:
    return rows_by_source(loaded_rows(dagster_home, run_id))


def one_change(env: dict[str, str], workdir: Path, sampler_args: dict) -> bool:
    """--one-change: one HubSpot change timed into Salesforce through the daemon's sensor; print it."""
    from benchmarks.hourly import measure_one_change, one_change_lines
    from revloop.config.automation import poll_interval_seconds

    log = workdir / "daemon.log"
    print(f"\none change: the Dagster daemon runs the sensors, schedules off; log in {log}", flush=True)
    try:
        change, sampler = measure_one_change(env, workdir / "dagster_home", log, sampler_args)
    except RuntimeError as error:
        print(f"one change: {error}", file=sys.stderr)
        return False
    print("\n".join(one_change_lines(change, poll_interval_seconds())))
    print(f"  rows loaded by the run: {loaded_line(workdir / 'dagster_home', change.run_id)}")
    print(
        "the sensor's run from its creation (start-up: queue, launch, definitions loaded), sampled over the"
    )
    print("daemon's process tree (daemon, code server, run):")
    stages, status = run_stages(workdir / "dagster_home", change.run_created, change.run_ended, change.run_id)
    print_report(stage_figures(stages, sampler.samples), None)
    return status == "SUCCESS"


def peak_rss_of(pid: int | None) -> float:
    """Another live process's peak resident memory in MB (VmHWM), 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration, TypeError):
        return 0.0


if __name__ == "__main__":
    sys.exit(main())
