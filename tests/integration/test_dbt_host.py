"""`revloop-dbt` behaves like dbt, runs each command in a child of its caller's dbt host, and leaves no
command running once its caller has stopped waiting for it."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from revloop.dbt import DBT_PROJECT_DIR, dbt_vars
from revloop.dbt_host import socket_path, start_host
from tests.integration.test_warehouse_lock import held

BIN = Path(sys.executable).parent
PROJECT = ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
LS = ["ls", "--quiet", "--select", "stg_salesforce__leads", "--output", "name", *PROJECT]


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def _wait_until(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def _command(executable: str, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen([str(BIN / executable), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **(env or {})},
                            cwd=DBT_PROJECT_DIR)


def _host_pid() -> int:
    host = start_host()
    assert host is not None
    return host


def test_a_command_runs_in_a_child_of_the_host_with_dbts_output_and_status(tmp_path):
    host = _host_pid()
    env = {"DBT_TARGET_PATH": str(tmp_path / "target"), "DBT_LOG_PATH": str(tmp_path / "logs")}
    args = [*LS, "--vars", json.dumps(dbt_vars())]

    relayed = _command("revloop-dbt", args, env)
    forked = set()
    while relayed.poll() is None:
        forked.update(_children(host))
        time.sleep(0.01)
    relayed_out, relayed_err = relayed.communicate()
    direct = _command("dbt", args, env)
    direct_out, direct_err = direct.communicate()

    assert forked, "the command should run in a process forked from the host"
    assert relayed.returncode == direct.returncode == 0, relayed_err.decode()[-2000:]
    assert relayed_out == direct_out and "stg_salesforce__leads" in relayed_out.decode().split()

    refused_relayed = _command("revloop-dbt", ["build", "--no-such-flag"], env)
    refused_direct = _command("dbt", ["build", "--no-such-flag"], env)
    relayed_out, relayed_err = refused_relayed.communicate()
    direct_out, direct_err = refused_direct.communicate()
    assert refused_relayed.returncode == refused_direct.returncode == 2
    assert relayed_err == direct_err and b"No such option '--no-such-flag'" in relayed_err


def test_without_a_host_the_relay_runs_dbt_itself():
    # the relay's parent is a shell, which has no dbt host
    relay = BIN / "revloop-dbt"
    shell = subprocess.run(["sh", "-c", f"'{relay}' --version"], capture_output=True, timeout=120)
    assert shell.returncode == 0, shell.stderr.decode()[-2000:]
    assert b"Core:" in shell.stdout


def test_only_the_owners_own_children_are_served():
    _host_pid()
    stranger = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)  # this process is the owner, not its child
    stranger.connect(str(socket_path(os.getpid())))
    request = json.dumps({"argv": ["--version"], "env": {}, "cwd": "/"}).encode()
    stranger.settimeout(30)
    try:
        socket.send_fds(stranger, [len(request).to_bytes(4, "big") + request], [0, 1, 2])
        reply = stranger.recv(64)
    except (BrokenPipeError, ConnectionResetError):  # closed before reading the request
        reply = b""
    assert reply == b""  # no command started (its pid would be the reply)
    stranger.close()


@pytest.mark.parametrize("stop", ["interrupt", "kill"])
def test_a_command_ends_with_its_caller(stop, tmp_path):
    """A relay interrupted (as Dagster interrupts dbt) or killed: the host's child does not run on."""
    host = _host_pid()
    warehouse = tmp_path / "warehouse.duckdb"
    env = {"WAREHOUSE_PATH": str(warehouse), "DBT_TARGET_PATH": str(tmp_path / "target"),
           "DBT_LOG_PATH": str(tmp_path / "logs")}
    args = ["run", "--select", "stg_salesforce__leads", *PROJECT, "--vars", json.dumps(dbt_vars())]
    with held(warehouse, 120, read_only=False):  # dbt waits for the file (its connect retries)
        before = set(_children(host))
        relay = _command("revloop-dbt", args, env)
        _wait_until(lambda: set(_children(host)) - before, 60, "the command should start in the host")
        [command] = set(_children(host)) - before
        time.sleep(1.0)  # dbt is waiting for the file now
        assert relay.poll() is None and _alive(command)
        if stop == "interrupt":
            relay.send_signal(signal.SIGINT)
            relay.wait(timeout=60)
            assert relay.returncode != 0
        else:
            relay.kill()
            relay.wait()
        _wait_until(lambda: not _alive(command), 30, "the command should end with its caller")
        relay.communicate()


def test_the_host_ends_with_its_owner():
    """Even while a process the owner forked (without exec, so holding the host's stdin open) runs on."""
    owner = subprocess.run(
        [sys.executable, "-c", "import os, time; from revloop.dbt_host import start_host\n"
         "host = start_host()\n"
         "child = os.fork()\n"
         "if child == 0:\n"
         "    for fd in (1, 2):\n        os.dup2(os.open(os.devnull, os.O_WRONLY), fd)\n"
         "    time.sleep(60)\n    os._exit(0)\n"
         "print(host, os.getpid(), child)"],
        capture_output=True, text=True, timeout=60,
    )
    assert owner.returncode == 0, owner.stderr
    host, owner_pid, forked = (int(n) for n in owner.stdout.split())
    try:
        _wait_until(lambda: not _alive(host), 30, "the host should end when its owner has")
        assert _alive(forked)
        assert not socket_path(owner_pid).exists()  # it ended cleanly, not killed
    finally:
        os.kill(forked, signal.SIGKILL)


def test_the_preload_compiles_the_template_of_every_macro_in_the_parse_cache():
    """A command forked from a process that imported revloop.dbt_preload finds every macro's Jinja template
    compiled (dbt keeps them under the macro's source text) instead of compiling the ones it calls."""
    code = (
        "from dbt.contracts.graph.manifest import Manifest\n"
        "from dbt.parser.manifest import extended_mashumuro_decoder\n"
        "from dbt_common.clients.jinja import template_cache\n"
        "from revloop.dbt_preload import PARSE_CACHE\n"
        "manifest = Manifest.from_msgpack(PARSE_CACHE.read_bytes(), decoder=extended_mashumuro_decoder)\n"
        "sources = {macro.macro_sql for macro in manifest.macros.values()}\n"
        "print(len(manifest.macros), len(sources - template_cache.file_cache.keys()))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    macros, not_compiled = map(int, done.stdout.split())
    assert macros > 400  # dbt's own, the adapters' and the project's
    assert not_compiled == 0
