"""The collector over HTTP: the real analytics-python SDK and analytics.js-shaped posts, read by ingestion."""

import base64
import gzip
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest
import requests
from segment.analytics import Client

from collector.app import create_app
from collector.server import BackgroundServer
from ingestion.events import events_source
from ingestion.events import settings as events_settings
from ingestion.events.files import event_files
from ingestion.quarantine import Rejections
from revloop.config.collector import load_collector_config
from revloop.warehouse import make_pipeline

WEBSITE_KEY, EMAIL_KEY = "wk_test_website_9f2c", "wk_test_email_41ab"
ENV = {"REVLOOP_WRITE_KEY_WEBSITE": WEBSITE_KEY, "REVLOOP_WRITE_KEY_EMAIL": EMAIL_KEY}


@pytest.fixture
def collector(tmp_path):
    app = create_app(load_collector_config(), tmp_path / "events", tmp_path / "snapshot.duckdb", ENV)
    server = BackgroundServer(app)
    yield server
    server.stop()


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def analytics_js_track(event: str, anonymous_id: str, **properties) -> dict:
    """What analytics.js (analytics-next) posts to /v1/t: text/plain, the write key in the body."""
    return {
        "timestamp": "2026-11-03T09:15:02.412Z",
        "integrations": {},
        "type": "track",
        "event": event,
        "properties": properties,
        "context": {
            "page": {"path": "/pricing", "url": "https://acme.example/pricing", "title": "Pricing"},
            "userAgent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0",
            "locale": "en-US",
            "library": {"name": "analytics.js", "version": "next-1.72.0"},
        },
        "anonymousId": anonymous_id,
        "messageId": f"ajs-next-{anonymous_id}-{event}",
        "writeKey": WEBSITE_KEY,
        "sentAt": "2026-11-03T09:15:02.419Z",
        "_metadata": {"bundled": ["Segment.io"], "unbundled": [], "bundledIds": []},
    }


def ingest(events_dir: Path, warehouse: Path) -> tuple[duckdb.DuckDBPyConnection, Rejections]:
    """Run the real events source over the collector's folder into a DuckDB file."""
    rejections = Rejections()
    make_pipeline(events_settings.PIPELINE_NAME, events_settings.DATASET, warehouse).run(
        events_source(events_dir, rejections)
    )
    return duckdb.connect(str(warehouse), read_only=True), rejections


def test_sdk_messages_are_on_disk_and_read_by_ingestion(collector, tmp_path):
    errors = []
    client = Client(
        WEBSITE_KEY, host=collector.url, gzip=True, upload_interval=0.05, max_retries=0,
        on_error=lambda error, batch: errors.append(error),
    )
    client.identify("user-42", {"email": "Ada@Example.com", "firstName": "Ada", "company": {"name": "Acme"}})
    client.track("user-42", "Demo Requested", {"source": "hero"})
    client.page("user-42", name="Pricing", properties={"path": "/pricing/enterprise"})
    client.screen("user-42", name="Dashboard")
    client.flush()
    client.shutdown()
    assert errors == []
    browser = requests.post(
        f"{collector.url}/v1/t",
        data=json.dumps(analytics_js_track("Trial Started", "anon-7", plan="pro")),
        headers={"Content-Type": "text/plain"},
    )
    assert browser.status_code == 200 and browser.json() == {"success": True}
    assert browser.headers["Access-Control-Allow-Origin"] == "*"
    mail = requests.post(
        f"{collector.url}/v1/track",
        json={"userId": "user-42", "event": "Email Opened", "properties": {"campaign": "nov"}},
        headers=basic(EMAIL_KEY),
    )
    assert mail.status_code == 200

    events_dir = tmp_path / "events"
    assert event_files(events_dir / "website") == []  # still open: ingestion cannot see half a file
    collector.stop()  # finishes the open files, as on shutdown
    assert not list(events_dir.rglob(".*.part"))
    assert WEBSITE_KEY not in "".join(p.read_text() for p in events_dir.rglob("*.jsonl"))

    con, rejections = ingest(events_dir, tmp_path / "warehouse.duckdb")
    assert list(rejections) == []
    rows = con.execute(
        "SELECT type, coalesce(event, name), user_id, anonymous_id, email, received_at IS NOT NULL, "
        "sent_at IS NOT NULL FROM raw_events.website ORDER BY source_file, source_line"
    ).fetchall()
    assert rows == [
        ("identify", None, "user-42", None, "Ada@Example.com", True, True),
        ("track", "Demo Requested", "user-42", None, None, True, True),
        ("page", "Pricing", "user-42", None, None, True, True),
        ("screen", "Dashboard", "user-42", None, None, True, True),
        ("track", "Trial Started", None, "anon-7", None, True, True),
    ]
    library = con.execute(
        "SELECT DISTINCT context::JSON->>'$.library.name' FROM raw_events.website ORDER BY 1"
    ).fetchall()
    assert library == [("analytics-python",), ("analytics.js",)]
    emails = con.execute("SELECT event, channel FROM raw_events.email").fetchall()
    assert emails == [("Email Opened", "email")]


def test_refusals(collector, tmp_path):
    url = f"{collector.url}/v1"
    good = {"userId": "u", "event": "Form Submitted", "properties": {"form_id": "f1"}}

    assert requests.post(f"{url}/track", json=good, headers=basic("wk_wrong")).status_code == 401
    assert requests.post(f"{url}/track", json=good).status_code == 401
    assert requests.post(f"{url}/track", json={**good, "writeKey": "wk_wrong"}).status_code == 401

    bad_json = requests.post(f"{url}/track", data=b"{not json", headers=basic(WEBSITE_KEY))
    assert bad_json.status_code == 400 and bad_json.json()["code"] == "invalid_json"

    batch = {"batch": [{"type": "track", "userId": "u"}, {"type": "page"}]}
    invalid = requests.post(f"{url}/batch", json=batch, headers=basic(WEBSITE_KEY))
    assert invalid.status_code == 400
    assert invalid.json()["errors"] == [
        {"index": 0, "reason": "track message without event"},
        {"index": 1, "reason": "page message without userId or anonymousId"},
    ]

    too_big = {**good, "properties": {"blob": "x" * 33_000}}
    message = requests.post(f"{url}/track", json=too_big, headers=basic(WEBSITE_KEY))
    assert message.status_code == 400 and message.json()["code"] == "payload_too_large"
    request = requests.post(
        f"{url}/batch", json={"batch": [{**good, "type": "track"}] * 6000}, headers=basic(WEBSITE_KEY)
    )
    # refused by the server from Content-Length alone, before the body is read
    assert request.status_code == 413 and "Request Entity Too Large" in request.text
    bomb = gzip.compress(json.dumps({"batch": [{"pad": "0" * 5_000_000}]}).encode())
    inflated = requests.post(
        f"{url}/batch", data=bomb, headers={**basic(WEBSITE_KEY), "Content-Encoding": "gzip"}
    )
    assert inflated.status_code == 400 and inflated.json()["code"] == "payload_too_large"

    assert requests.post(f"{url}/purchase", json=good, headers=basic(WEBSITE_KEY)).status_code == 404
    assert requests.options(f"{url}/t").status_code == 204
    collector.stop()
    assert list((tmp_path / "events").rglob("*.jsonl*")) == []  # nothing of a refused request was written


def test_one_bad_message_does_not_cost_the_rest_of_the_batch(collector, tmp_path):
    good = {"type": "track", "userId": "u7", "event": "Trial Started", "messageId": "keep-me"}
    batch = {"batch": [good, {"type": "track", "userId": "u7"}]}
    answer = requests.post(f"{collector.url}/v1/batch", json=batch, headers=basic(WEBSITE_KEY))
    assert answer.status_code == 200
    assert answer.json() == {
        "success": True,
        "accepted": 1,
        "rejected": [{"index": 1, "reason": "track message without event"}],
    }
    collector.stop()
    [stored] = [json.loads(line) for f in (tmp_path / "events").rglob("*.jsonl") for line in f.open()]
    assert stored["messageId"] == "keep-me"


def test_accept_language_header_kept_as_context_unless_sent(collector, tmp_path):
    """The browser's preferred language rides on each message; '*' or a malformed header costs nothing."""
    posts = [
        ("fr-CH, fr;q=0.9, en;q=0.8, *;q=0.5", analytics_js_track("Viewed", "anon-1")),
        ("*", analytics_js_track("Viewed", "anon-2")),
        ("en;q=x;;, ", analytics_js_track("Viewed", "anon-3")),
        ("de;q=0.2, nl", analytics_js_track("Viewed", "anon-4")),
    ]
    # the sender's own context.accept_language wins over the header
    posts[3][1]["context"]["accept_language"] = "es"
    for header, message in posts:
        answer = requests.post(f"{collector.url}/v1/t", data=json.dumps(message),
                               headers={"Content-Type": "text/plain", "Accept-Language": header})
        assert answer.status_code == 200 and answer.json() == {"success": True}
    collector.stop()
    stored = {
        m["anonymousId"]: m["context"]
        for f in (tmp_path / "events").rglob("*.jsonl") for m in map(json.loads, f.open())
    }
    assert {anon: context.get("accept_language") for anon, context in stored.items()} == {
        "anon-1": "fr-CH", "anon-2": None, "anon-3": None, "anon-4": "es",
    }


def test_concurrent_posts_each_stored_once(collector, tmp_path):
    threads, posts, per_batch = 6, 8, 4
    statuses = []

    def post(thread: int) -> None:
        with requests.Session() as session:
            for n in range(posts):
                batch = [
                    {"type": "track", "event": "Products Searched", "userId": f"u{thread}",
                     "messageId": f"{thread}-{n}-{k}", "properties": {"query": "crm"}}
                    for k in range(per_batch)
                ]
                response = session.post(
                    f"{collector.url}/v1/batch", json={"batch": batch}, headers=basic(WEBSITE_KEY)
                )
                statuses.append(response.status_code)

    started = time.perf_counter()
    workers = [threading.Thread(target=post, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    collector.stop()
    assert statuses == [200] * threads * posts
    ids = [
        json.loads(line)["messageId"]
        for path in event_files(tmp_path / "events" / "website")
        for line in path.read_text().splitlines()
    ]
    expected = [f"{t}-{n}-{k}" for t in range(threads) for n in range(posts) for k in range(per_batch)]
    assert sorted(ids) == sorted(expected)
    print(f"{threads * posts} batch requests in {elapsed:.2f} s ({threads * posts / elapsed:.0f} req/s)")


def test_entry_point_finishes_files_on_sigterm_and_never_logs_keys(tmp_path):
    env = {**os.environ, **ENV, "EVENTS_DIR": str(tmp_path / "events"),
           "WAREHOUSE_PATH": str(tmp_path / "warehouse.duckdb")}
    process = subprocess.Popen(
        [sys.executable, "-m", "collector", "--port", "0"],
        env=env, stderr=subprocess.PIPE, text=True,
    )
    try:
        log = []
        while not (match := re.search(r"listening on (http://[\d.]+:\d+)", log[-1] if log else "")):
            line = process.stderr.readline()
            assert line, f"collector exited: {''.join(log)}"
            log.append(line)
        response = requests.post(
            f"{match.group(1)}/v1/identify",
            json={"userId": "u9", "traits": {"email": "u9@example.com"}},
            headers=basic(WEBSITE_KEY),
        )
        assert response.status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        log.append(process.communicate(timeout=30)[1])
    assert process.returncode == 0
    [finished] = event_files(tmp_path / "events" / "website")
    assert json.loads(finished.read_text())["traits"]["email"] == "u9@example.com"
    text = "".join(log)
    assert "REVLOOP_WRITE_KEY_SOCIAL is not set" in text and WEBSITE_KEY not in text and EMAIL_KEY not in text
