"""Serve the collector with werkzeug's threaded server; request logs never show keys or e-mails."""

import threading

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from collector.app import Collector

PROFILES_PREFIX = "/v1/profiles/"


class RequestHandler(WSGIRequestHandler):
    """werkzeug's handler without Nagle's delay, logging profile lookups without the id or e-mail."""

    # Without this every reply waits ~40 ms on a delayed ACK.
    disable_nagle_algorithm = True

    def log_request(self, code="-", size="-") -> None:
        path = self.path
        if path.startswith(PROFILES_PREFIX):
            path = PROFILES_PREFIX + "<redacted>"  # an e-mail address is personal data
        self.log("info", '"%s %s" %s %s', self.command, path, code, size)


def build_server(app: Collector, host: str, port: int) -> BaseWSGIServer:
    """A threaded HTTP server for the app (port 0: any free port, see .server_port)."""
    return make_server(host, port, app, threaded=True, request_handler=RequestHandler)


class BackgroundServer:
    """The app served from a daemon thread (tests, embedding); stop() finishes the open event files."""

    def __init__(self, app: Collector, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.server = build_server(app, host, port)
        self.url = f"http://{host}:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)
        self.app.writers.close()
