"""Serve the collector with waitress: oversized bodies refused from their headers, idle clients dropped."""

import logging
import threading

from waitress import wasyncore
from waitress.server import create_server

from revloop.config.collector import CollectorConfig, Limits, ServerSettings

log = logging.getLogger("collector.access")
PROFILES_PREFIX = "/v1/profiles/"


class AccessLog:
    """One log line per request (method, path, status) that never shows a key, a query or an e-mail."""

    def __init__(self, app) -> None:
        self.app = app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith(PROFILES_PREFIX):
            path = PROFILES_PREFIX + "<redacted>"  # an e-mail address is personal data

        def logged(status, headers, exc_info=None):
            log.info('"%s %s" %s', environ.get("REQUEST_METHOD"), path, status.split(" ", 1)[0])
            return start_response(status, headers, exc_info)

        return self.app(environ, logged)


def build_server(app, host: str, port: int, limits: Limits, settings: ServerSettings, socket_map=None):
    """A waitress server for a WSGI app (port 0: any free port, see .effective_port).

    waitress reads a whole request before a worker thread sees it, so a slow or stalled sender holds no
    thread; it answers 413 from Content-Length alone (or while a chunked body arrives) once a body would
    exceed max_request_bytes, and closes a connection that sent nothing for channel_timeout_seconds.
    """
    return create_server(
        AccessLog(app),
        map={} if socket_map is None else socket_map,
        host=host,
        port=port,
        threads=settings.threads,
        # waitress refuses a body whose length reaches max_request_body_size: one more byte is allowed.
        max_request_body_size=limits.max_request_bytes + 1,
        max_request_header_size=settings.max_header_bytes,
        channel_timeout=settings.channel_timeout_seconds,
        cleanup_interval=max(1, min(30, settings.channel_timeout_seconds // 2)),
        # no X-Forwarded-* trust, no version banner: nothing a client sends changes who it appears to be
        ident="revloop",
        clear_untrusted_proxy_headers=True,
    )


class BackgroundServer:
    """The collector served by waitress from a daemon thread (tests, embedding); stop() finishes the files."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0, config: CollectorConfig | None = None):
        self.app = app
        settings = config.server if config is not None else ServerSettings()
        self._map: dict = {}
        self.server = build_server(app, host, port, app.limits, settings, self._map)
        self.url = f"http://{host}:{self.server.effective_port}"
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="collector", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        # waitress's own run() only ends on a signal; this loop ends when stop() asks.
        while not self._stopping.is_set():
            wasyncore.loop(timeout=0.05, map=self._map, count=1)
        self.server.task_dispatcher.shutdown()
        wasyncore.close_all(self._map)

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=10)
        self.app.writers.close()
