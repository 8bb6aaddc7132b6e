"""The HTTP machinery shared by the CRM emulators: serving, request log and fault injection."""

import io
import json
import random
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler
from werkzeug.wrappers import Request, Response

from sandbox.tls import TlsFiles


@dataclass
class Faults:
    """Misbehaviour to inject, as a test configures it; all off by default."""

    rate_limit: int | None = None  # requests allowed per rate_window_s; over it the CRM's limit error
    rate_window_s: float = 10.0
    error_rate: float = 0.0  # share of requests answered with a random 5xx
    error_seed: int = 0
    latency_s: float = 0.0  # added to every response
    scripted: deque = field(default_factory=deque)  # (status, path_prefix or None) answered next, in order
    # (status or RESET, path fragment or None, method or None): applied, then answered with a failure
    after_commit: deque = field(default_factory=deque)
    # record ids (HubSpot: ids or upsert keys) batch writes refuse in a 207, the others being applied
    refused_ids: dict[str, str] = field(default_factory=dict)

    def fail_next(self, status: int, count: int = 1, path_prefix: str | None = None) -> None:
        """Answer the next count matching requests with status (429 and 503 are the usual ones)."""
        self.scripted.extend([(status, path_prefix)] * count)

    def fail_after_commit(
        self,
        answer: int | str = 503,
        count: int = 1,
        path_fragment: str | None = None,
        method: str | None = None,
    ) -> None:
        """Apply the next count matching requests, then answer a 5xx or (answer=RESET) drop the connection
        without a word: the client cannot tell whether the write happened (a lost answer)."""
        self.after_commit.extend([(answer, path_fragment, method)] * count)

    def refuse(self, record_ids: list[str], reason: str = "injected refusal") -> None:
        """Refuse these records in batch writes (a partial 207 in HubSpot) until cleared."""
        self.refused_ids.update({str(i).lower(): reason for i in record_ids})


RESET = "reset"  # a fail_after_commit answer: the connection closes after the write, with no response


REDACTED = "<redacted: login credentials>"


@dataclass(frozen=True)
class LoggedRequest:
    """One request the emulator answered."""

    method: str
    path: str
    query: str
    body: str
    status: int  # 0: the connection was dropped without an answer (an injected RESET)
    at: float


class Emulator:
    """Base of a CRM emulator: subclasses set url_map and implement the handlers and error shapes."""

    url_map: Map

    def __init__(self, faults: Faults | None = None) -> None:
        self.faults = faults or Faults()
        self.request_log: list[LoggedRequest] = []
        self.lock = threading.RLock()  # one request mutates the store at a time
        self._random = random.Random(self.faults.error_seed)
        self._window: deque[float] = deque()
        self.writes = 0  # requests that may have changed the store: the sandbox saves its state after them

    # Hooks for subclasses ------------------------------------------------------------------------
    def authenticate(self, request: Request) -> Response | None:
        """A 401 response when the request's credentials are wrong, else None."""
        return None

    def rate_limited(self, request: Request) -> Response:
        """The CRM's own answer when the configured request limit is exceeded."""
        return json_response({"message": "rate limit exceeded"}, 429)

    def carries_credentials(self, request: Request) -> bool:
        """Whether the request body holds a login secret, which the request log must not keep."""
        return False

    def server_error(self, request: Request, status: int) -> Response:
        return json_response({"message": "internal server error"}, status)

    def may_write(self, request: Request) -> bool:
        """Whether a request may change the store: not a GET, nor a search or batch read sent as POST."""
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return False
        return not request.path.rstrip("/").endswith(("/search", "/batch/read"))

    def not_found(self, request: Request) -> Response:
        return json_response({"message": "not found"}, 404)

    # Dispatch -------------------------------------------------------------------------------------
    def _injected_fault(self, request: Request) -> Response | None:
        faults = self.faults
        for i, (status, prefix) in enumerate(faults.scripted):
            if prefix is None or request.path.startswith(prefix):
                del faults.scripted[i]
                return self.rate_limited(request) if status == 429 else self.server_error(request, status)
        if faults.rate_limit is not None:
            now = time.monotonic()
            while self._window and now - self._window[0] > faults.rate_window_s:
                self._window.popleft()
            if len(self._window) >= faults.rate_limit:
                return self.rate_limited(request)
            self._window.append(now)
        if faults.error_rate and self._random.random() < faults.error_rate:
            return self.server_error(request, self._random.choice((500, 502, 503)))
        return None

    def _lost_answer(self, request: Request, response: Response) -> Response:
        """A committed write's answer replaced by a 5xx, or marked for a dropped connection (RESET)."""
        if response.status_code >= 400:
            return response
        for i, (answer, fragment, method) in enumerate(self.faults.after_commit):
            if (fragment is None or fragment in request.path) and method in (None, request.method):
                del self.faults.after_commit[i]
                if answer == RESET:
                    request.environ["sandbox.reset"] = True
                    return response
                return self.server_error(request, answer)
        return response

    def handle(self, request: Request) -> Response:
        with self.lock:
            response = self._injected_fault(request) or self.authenticate(request)
            if response is None:
                adapter = self.url_map.bind_to_environ(request.environ)
                try:
                    endpoint, args = adapter.match()
                    response = getattr(self, endpoint)(request, **args)
                except HTTPException as exc:
                    response = self.not_found(request) if exc.code == 404 else exc.get_response()
                response = self._lost_answer(request, response)
                if self.may_write(request):
                    self.writes += 1
            self.request_log.append(
                LoggedRequest(
                    request.method,
                    request.path,
                    request.query_string.decode(),
                    REDACTED if self.carries_credentials(request) else request.get_data(as_text=True),
                    0 if request.environ.get("sandbox.reset") else response.status_code,
                    time.time(),
                )
            )
        if self.faults.latency_s:
            time.sleep(self.faults.latency_s)
        return response

    def __call__(self, environ, start_response):
        response = self.handle(Request(environ))
        connection = environ.get("werkzeug.socket")
        if environ.get("sandbox.reset") and connection is not None:
            # the write is applied; the client sees its connection closed before any answer
            connection.shutdown(socket.SHUT_RDWR)
            start_response("500 Connection reset", [])  # never reaches the client: the socket is shut
            return []
        return response(environ, start_response)

    def requests_to(self, path_fragment: str, method: str | None = None) -> list[LoggedRequest]:
        """Logged requests whose path contains path_fragment (and of that method, if given)."""
        return [
            r for r in self.request_log if path_fragment in r.path and (method is None or r.method == method)
        ]


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, default=str), status=status, headers=headers, mimetype="application/json"
    )


class _Handler(WSGIRequestHandler):
    """werkzeug's request handler, but keeping HTTP/1.1 connections open between requests as the CRMs do.

    werkzeug closes every connection because http.server cannot skip a request body the app left unread;
    reading the body before the app runs removes that hazard. Each new connection costs a client a TLS
    handshake and a load of its CA bundle: ~35 ms here, more than most requests take to answer.
    """

    # Without this every reply waits ~40 ms on a delayed ACK.
    disable_nagle_algorithm = True
    _keep_alive = False

    def setup(self) -> None:
        super().setup()
        self.server.connections.add(self.connection)

    def finish(self) -> None:
        self.server.connections.discard(self.connection)
        super().finish()

    def run_wsgi(self) -> None:
        length = self.headers.get("Content-Length") or "0"
        # A chunked body, or a client waiting for 100 Continue before sending one, is left to werkzeug,
        # which then closes the connection after the response.
        self._keep_alive = (
            length.isdigit()
            and "Transfer-Encoding" not in self.headers
            and "Expect" not in self.headers
        )
        if not self._keep_alive:
            super().run_wsgi()
            return
        stream, self.rfile = self.rfile, io.BytesIO(self.rfile.read(int(length)))
        try:
            super().run_wsgi()
        finally:
            # http.server's own error replies (a bad next request line) still close the connection.
            self.rfile, self._keep_alive = stream, False

    def send_header(self, keyword: str, value: str) -> None:
        # werkzeug always adds "Connection: close"; drop it when the body was read and the client keeps alive.
        if keyword.lower() == "connection" and value.lower() == "close":
            if self._keep_alive and not self.close_connection:
                return
        super().send_header(keyword, value)

    def log_request(self, *args, **kwargs) -> None:  # the emulator keeps its own request log
        pass


class _Server(ThreadedWSGIServer):
    """werkzeug's threaded server, knowing its open connections so that stopping it also ends those."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.connections: set[socket.socket] = set()

    def close_connections(self) -> None:
        for connection in list(self.connections):
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # the client closed it already


class RunningServer:
    """An emulator served over HTTPS on 127.0.0.1 in a background thread."""

    def __init__(self, app: Emulator, tls: TlsFiles, port: int = 0) -> None:
        self.app = app
        self._server = _Server("127.0.0.1", port, app, handler=_Handler, ssl_context=tls.server_context())
        self.port = self._server.server_port
        self.url = f"https://127.0.0.1:{self.port}"
        # A short poll interval lets stop() return in milliseconds rather than half a second.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True, name=f"sandbox-{self.port}"
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        self._thread.join(timeout=5)
