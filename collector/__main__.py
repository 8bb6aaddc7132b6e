"""`python -m collector`: the event collector and profile API on one port (see README)."""

import argparse
import logging
import os
import signal
import sys
from pathlib import Path

from collector.app import create_app
from collector.server import build_server
from collector.snapshot import snapshot_path
from collector.webhooks import WEBHOOK_PATH
from revloop.config import ConfigError
from revloop.config.collector import load_collector_config
from revloop.warehouse import events_dir

log = logging.getLogger("collector")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m collector", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8088, help="port (default 8088)")
    parser.add_argument("--events-dir", type=Path, help="landing folder (default EVENTS_DIR)")
    parser.add_argument("--snapshot", type=Path, help="profile snapshot (default REVLOOP_PROFILE_SNAPSHOT)")
    parser.add_argument("--webhook-spool", type=Path,
                        help="where HubSpot webhook events are kept (default: beside WAREHOUSE_PATH)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        config = load_collector_config()
        folder, snapshot = args.events_dir or events_dir(), args.snapshot or snapshot_path()
        app = create_app(config, folder, snapshot, os.environ, args.webhook_spool)
    except ConfigError as exc:
        print(f"collector: {exc}", file=sys.stderr)
        return 2
    for channel in config.disabled_channels(os.environ):
        variable = config.channels[channel].write_key_env
        log.warning("channel %s accepts nothing: %s is not set", channel, variable)
    for channel, writer in app.writers.by_channel.items():
        for path in writer.recovered:
            log.warning("%s: finished %s left by an earlier collector", channel, path.name)
    if not app.profile_token:
        log.warning("profile API off: %s is not set", config.profile_api.token_env)
    if app.webhooks.secret:
        log.info("HubSpot webhooks on at %s, kept in %s", WEBHOOK_PATH, app.webhooks.spool.path)
    else:
        log.info("HubSpot webhooks off: %s is not set", config.hubspot_webhooks.client_secret_env)
    server = build_server(app, args.host, args.port, config.limits, config.server)
    # SIGTERM (e.g. from a process manager) stops like Ctrl-C: open files are finished before exit.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    log.info("listening on http://%s:%s: events into %s, profiles from %s", args.host, server.effective_port,
             folder, snapshot)
    try:
        server.run()  # returns after Ctrl-C or SIGTERM, once the running requests are answered
    finally:
        server.close()
        app.writers.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
