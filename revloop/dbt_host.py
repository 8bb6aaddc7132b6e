"""dbt commands forked from a process that imported dbt once, for a process that runs one after another.

A Dagster run starts five `dbt build` commands, and each fresh dbt process spends about three seconds of CPU
importing dbt and building the serialisers it needs before it does any work. `start_host()` starts a host
for the calling process: it loads those once (revloop.dbt_preload) and forks one child per command.
`revloop-dbt` (`relay_main`) is the executable the caller starts in dbt's place. It behaves like dbt: the
same arguments, environment, working directory, output and exit status. It hands its own stdin, stdout
and stderr to a child of its parent's host and forwards SIGINT and SIGTERM to it. With no host for its
parent it runs dbt itself.

The host listens on a Unix socket named after its parent's pid, in a folder only the user can enter, and
serves only the children of that parent. It ends when its parent does: the parent's exit sends it SIGTERM,
and a parent that was killed closes its stdin. A client that goes away before its command ends takes the
command with it.
"""

import atexit
import contextlib
import importlib
import json
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

_HEADER = struct.Struct("!I")  # the request's length, then the request as JSON with the three descriptors
_READY = b"ready\n"
_REQUEST_SECONDS = 10
_MAX_SOCKET_PATH = 100  # a Unix socket's path must fit in sun_path (108 bytes on Linux)
_hosts: dict[int, subprocess.Popen] = {}  # this process's pid -> its host
# What a process that forks dbt commands imports first: dbt's command line, both warehouses' adapters and the
# JSON schemas dbt validates against.
PRELOADED = ("revloop.dbt_preload",)


def socket_path(owner_pid: int) -> Path:
    """Where the host serving the children of owner_pid listens."""
    return Path(tempfile.gettempdir()) / f"revloop-dbt-{os.getuid()}" / f"{owner_pid}.sock"


def _dbt_executable() -> str:
    return str(Path(sys.executable).parent / "dbt")


# --- the relay: what the caller runs instead of dbt ---------------------------------------------------------


def relay_main() -> int:
    """Run the dbt command of sys.argv in a child of the parent's host, or as dbt itself without one."""
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(str(socket_path(os.getppid())))
    except OSError:
        connection.close()
        os.execv(_dbt_executable(), [_dbt_executable(), *sys.argv[1:]])
    request = json.dumps({"argv": sys.argv[1:], "env": dict(os.environ), "cwd": os.getcwd()}).encode()
    descriptors = [_open_or_null(fd) for fd in (0, 1, 2)]
    socket.send_fds(connection, [_HEADER.pack(len(request)) + request], descriptors)
    replies = connection.makefile("rb")
    child = _reply(replies)
    if child is None:  # the host refused the command or could not start: nothing has run
        os.execv(_dbt_executable(), [_dbt_executable(), *sys.argv[1:]])

    def forward(signum, _frame):
        _signal(child, signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, forward)
    code = _reply(replies)
    if code is None:
        print("revloop-dbt: the dbt host ended before the command did", file=sys.stderr)
        return 1
    return code if code >= 0 else 128 - code  # killed by a signal: as a shell reports it


def _open_or_null(fd: int) -> int:
    """fd, or /dev/null where this process was started with it closed."""
    try:
        os.fstat(fd)
        return fd
    except OSError:
        return os.open(os.devnull, os.O_RDWR)


def _reply(replies) -> int | None:
    line = replies.readline()
    return int(line) if line.strip() else None


# --- the host ----------------------------------------------------------------------------------------------


def start_host() -> int | None:
    """Start (once per process) the host that forks this process's dbt commands: its pid, or None.

    Without a host, or where a socket cannot be named (a long TMPDIR) or forked from (not Linux), the relay
    runs dbt itself.
    """
    owner = os.getpid()
    host = _hosts.get(owner)
    if host is not None and host.poll() is None:
        return host.pid
    if not hasattr(os, "pidfd_open") or len(str(socket_path(owner))) > _MAX_SOCKET_PATH:
        return None
    host = subprocess.Popen(
        [sys.executable, "-m", "revloop.dbt_host"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        close_fds=True,
    )
    ready = host.stdout.readline() == _READY
    host.stdout.close()
    if not ready:
        host.stdin.close()
        host.wait()
        return None
    _hosts[owner] = host
    atexit.register(_stop, host)
    return host.pid


def _stop(host: subprocess.Popen) -> None:
    """At the owner's exit: end its host and wait for it, so that the host's CPU time (its commands'
    included) counts as the owner's, as a dbt process it started itself would. SIGTERM, not only the end
    of the host's stdin: a process the owner forked without exec holds that pipe open too."""
    host.stdin.close()
    host.terminate()
    try:
        host.wait(timeout=_REQUEST_SECONDS)
    except subprocess.TimeoutExpired:
        host.kill()
        host.wait()


class _Host:
    """The host's loop: accept commands, fork one child each, report each child's pid and exit status."""

    def __init__(self, listener: socket.socket):
        self.listener = listener
        self.owner = os.getppid()
        self.selector = selectors.DefaultSelector()
        self.commands: dict[int, tuple[socket.socket, int]] = {}  # child pid -> (client, pidfd)
        self.selector.register(listener, selectors.EVENT_READ, self._accept)
        self.selector.register(sys.stdin.buffer, selectors.EVENT_READ, self._owner_gone)
        self.serving = True

    def serve(self) -> None:
        """Serve until the owner is gone (its end of stdin closed, or SIGTERM); commands still running
        then are stopped."""
        try:
            while self.serving:
                for key, _ in self.selector.select():
                    key.data(key.fileobj)
        finally:
            for child in list(self.commands):
                _signal(child, signal.SIGTERM)
            for child in list(self.commands):
                self._finished(child)

    def _owner_gone(self, stdin) -> None:
        if not stdin.read1(1):  # nothing is written to the host's stdin: only its end matters
            self.serving = False

    def _accept(self, listener: socket.socket) -> None:
        client, _ = listener.accept()
        try:
            request, fds = self._request(client)
        except (OSError, ValueError) as error:  # a stranger (PermissionError), a late or broken request
            print(f"revloop dbt host: refused a command: {error}", file=sys.stderr)
            client.close()
            return
        child = os.fork()
        if child == 0:
            self._close_all()
            _run_command(request, fds)  # never returns
        for fd in fds:
            os.close(fd)
        pidfd = os.pidfd_open(child)
        self.commands[child] = (client, pidfd)
        self.selector.register(pidfd, selectors.EVENT_READ, lambda _fd, child=child: self._finished(child))
        self.selector.register(client, selectors.EVENT_READ, lambda _c, child=child: self._client_gone(child))
        _send(client, child)

    def _close_all(self) -> None:
        """In a forked child: the host's descriptors are not the command's."""
        self.selector.close()
        self.listener.close()
        for other, pidfd in self.commands.values():
            other.close()
            os.close(pidfd)

    def _request(self, client: socket.socket) -> tuple[dict, list[int]]:
        """The command a child of the owner sent, and its stdin, stdout and stderr."""
        pid, uid, _ = struct.unpack("3i", client.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
        if uid != os.getuid() or _parent_of(pid) != self.owner:
            raise PermissionError(f"process {pid} is not a command of process {self.owner}")
        client.settimeout(_REQUEST_SECONDS)  # a relay sends its request at once; nothing else holds the host
        data, fds, _, _ = socket.recv_fds(client, 1 << 16, 3)
        try:
            if len(fds) != 3 or len(data) < _HEADER.size:
                raise ValueError("a request without its length and three descriptors")
            (length,) = _HEADER.unpack_from(data)
            data = data[_HEADER.size :]
            while len(data) < length:
                more = client.recv(length - len(data))
                if not more:
                    raise ValueError("the request ended early")
                data += more
            request = json.loads(data)
        except (OSError, ValueError):
            for fd in fds:
                os.close(fd)
            raise
        client.settimeout(None)
        return request, fds

    def _client_gone(self, child: int) -> None:
        client, _ = self.commands[child]
        self.selector.unregister(client)
        _signal(child, signal.SIGTERM)  # its caller stopped waiting: the command stops too

    def _finished(self, child: int) -> None:
        client, pidfd = self.commands.pop(child)
        _, status = os.waitpid(child, 0)
        self.selector.unregister(pidfd)
        os.close(pidfd)
        with contextlib.suppress(KeyError):  # unless it went away before
            self.selector.unregister(client)
        try:
            _send(client, os.waitstatus_to_exitcode(status))
        except OSError:
            pass  # the client went away
        client.close()


def _send(client: socket.socket, number: int) -> None:
    client.sendall(f"{number}\n".encode())


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def _parent_of(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2 :].split()[1])


def _run_command(request: dict, fds: list[int]) -> None:
    """In the forked child: become the client's dbt command, then exit with dbt's status."""
    code = 1
    try:
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        signal.signal(signal.SIGINT, signal.default_int_handler)  # as in any Python program
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        sys.stdin = open(0, closefd=False)  # noqa: SIM115 - the process's own descriptors, never closed
        sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
        code = run_dbt_in_process(request["argv"])
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def run_dbt_in_process(argv: list[str]) -> int:
    """Run one dbt command (its arguments, without `dbt`) in this process, which ends after it: the
    command's exit status, the DuckDB warehouse closed."""
    from dbt.cli.main import cli

    try:
        cli.main(args=argv, prog_name="dbt")
        code = 0
    except SystemExit as exit:
        code = exit.code if isinstance(exit.code, int) else 1
    except BaseException:  # what the dbt command line would print before exiting
        import traceback

        traceback.print_exc()
        code = 1
    close_duckdb()
    return code


def close_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open for the process. The dbt command line's interpreter
    closes it on exit (a checkpoint folds the write-ahead log into the file); a forked command ends without
    that teardown and would leave the last writes in warehouse.duckdb.wal."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    if DuckDBConnectionManager._ENV is not None:
        DuckDBConnectionManager._ENV.close()


def _ended(_signum, _frame) -> None:
    raise SystemExit(0)  # through serve's and _serve's cleanup: commands stopped, socket removed


def _serve() -> None:
    path = socket_path(os.getppid())
    path.parent.mkdir(mode=0o700, exist_ok=True)
    folder = path.parent.stat()
    if folder.st_uid != os.getuid() or folder.st_mode & 0o077:
        raise SystemExit(f"{path.parent} must belong to this user alone")
    path.unlink(missing_ok=True)  # a host of an earlier process with this pid that was killed
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(16)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the commands; the host ends with its owner
    signal.signal(signal.SIGTERM, _ended)
    try:
        # Ready once listening: the first command waits in the backlog while dbt is imported.
        sys.stdout.buffer.write(_READY)
        sys.stdout.flush()
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        for module in PRELOADED:  # imported once here, inherited by every command
            importlib.import_module(module)

        _Host(listener).serve()
    finally:
        listener.close()
        path.unlink(missing_ok=True)


if __name__ == "__main__":
    _serve()
