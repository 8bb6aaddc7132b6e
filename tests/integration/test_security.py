"""Probes of the local servers (issue 16): each attack gets a clear 4xx or validation error, nothing leaks.

Attacks: members_file outside its folder (absolute, '..', '~', Windows forms, links out, FIFO, not UTF-8) in
files, previews and saves; DNS rebinding Host headers; missing and wrong tokens; another Origin or site;
form-encoded (CSRF) posts; oversized, chunked, stalled and malformed bodies; gzip with several members, a
bomb spread over members, a cut stream and trailing bytes.
"""

import base64
import gzip
import json
import os
import re
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml
from werkzeug.test import Client

from collector.app import create_app
from collector.server import BackgroundServer
from ingestion.events.files import event_files
from revloop.cli import main as revloop_main
from revloop.config.collector import load_collector_config
from revloop.config.segments import MEMBERS_FILE_RULE
from segments.builder import Builder, is_loopback, main
from segments.definitions import DATA_DIR_ENV, SegmentError, load_segment
from tests.integration.test_segments_engine import fixture_warehouse  # noqa: F401 (pytest fixture)

SECRET = "SALESFORCE_ACCESS_TOKEN=00Dsekrit!AQ4"
TOKEN = "security-probe-token"
STATIC = {
    "name": "probe",
    "type": "static",
    "description": "probe",
    "owner": "tests",
    "review_by": "2099-01-01",
}
DYNAMIC = {
    "name": "probe_dynamic",
    "type": "dynamic",
    "description": "probe",
    "owner": "tests",
    "rules": {"field": "industry", "op": "eq", "value": "Finance"},
}
OUTSIDE_PATHS = [
    "/etc/passwd",
    "../.env",
    "../../.env",
    "lists/../../.env",
    "~/.env",
    "C:\\Users\\me\\.env",
    "\\\\server\\share\\.env",
    "..\\.env",
]


@pytest.fixture
def config(tmp_path) -> Path:
    """A config folder with a segments folder, and a .env with a secret beside it (what the probe read)."""
    folder = tmp_path / "config"
    (folder / "segments").mkdir(parents=True)
    (tmp_path / ".env").write_text(SECRET + "\n")
    (folder / ".env").write_text(SECRET + "\n")
    return folder


def write_static(config: Path, members_file: str) -> Path:
    path = config / "segments" / "probe.yml"
    path.write_text(yaml.safe_dump({**STATIC, "members_file": members_file}))
    return path


class TokenClient(Client):
    """A werkzeug test client that shows the token, as the page does, unless told otherwise."""

    def open(self, *args, **kwargs):
        kwargs["headers"] = {"X-Revloop-Token": TOKEN, **dict(kwargs.get("headers") or {})}
        return super().open(*args, **kwargs)


def builder(warehouse, config) -> TokenClient:
    return TokenClient(Builder(warehouse, config, token=TOKEN))


# -- 1. files named by segment definitions ------------------------------------------------------------


@pytest.mark.parametrize("members_file", OUTSIDE_PATHS)
def test_members_file_outside_the_folder_is_a_validation_error(config, members_file):
    path = write_static(config, members_file)
    with pytest.raises(SegmentError) as caught:
        load_segment(path)
    assert MEMBERS_FILE_RULE in str(caught.value) and "members_file" in str(caught.value)
    assert "sekrit" not in str(caught.value)


@pytest.mark.parametrize("members_file", OUTSIDE_PATHS)
def test_builder_preview_and_save_refuse_outside_members_files(fixture_warehouse, config, members_file):  # noqa: F811
    app = builder(fixture_warehouse, config)
    segment = {**STATIC, "members_file": members_file}
    for endpoint in ("/api/preview", "/api/save"):
        response = app.post(endpoint, json={"segment": segment})
        assert response.status_code == 400, endpoint
        assert MEMBERS_FILE_RULE in response.json["error"] and "sekrit" not in response.text
    assert not (config / "segments" / "probe.yml").exists()


def test_links_leading_out_of_the_folder_are_refused(config, tmp_path):
    (config / "segments" / "list.txt").symlink_to(tmp_path / ".env")
    (config / "segments" / "lists").symlink_to(tmp_path, target_is_directory=True)
    for name in ("list.txt", "lists/.env"):
        with pytest.raises(SegmentError, match="a link leads out of it") as caught:
            load_segment(write_static(config, name))
        assert MEMBERS_FILE_RULE in str(caught.value) and "sekrit" not in str(caught.value)


def test_members_file_must_be_a_small_utf8_regular_file(config):
    os.mkfifo(config / "segments" / "pipe.txt")  # reading it would block the run forever
    with pytest.raises(SegmentError, match="is not a regular file"):
        load_segment(write_static(config, "pipe.txt"))
    (config / "segments" / "binary.txt").write_bytes(b"\xff\xfe" + SECRET.encode("utf-16-le"))
    with pytest.raises(SegmentError, match="is not UTF-8 text") as caught:
        load_segment(write_static(config, "binary.txt"))
    assert "sekrit" not in str(caught.value)
    with pytest.raises(SegmentError, match="does not exist"):
        load_segment(write_static(config, "missing.txt"))


def test_data_folder_is_the_one_other_place(config, tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    (data / "vip.txt").write_text("p1\n")
    (data / "escape.txt").symlink_to(tmp_path / ".env")
    path = write_static(config, "vip.txt")
    with pytest.raises(SegmentError, match="does not exist"):
        load_segment(path)
    monkeypatch.setenv(DATA_DIR_ENV, str(data))
    assert load_segment(path).members == ("p1",)
    with pytest.raises(SegmentError, match="a link leads out of it"):
        load_segment(write_static(config, "escape.txt"))


def test_warnings_name_lines_never_file_content(fixture_warehouse, config):  # noqa: F811
    # a list inside the folder whose lines match no profile: the preview must not quote them
    (config / "segments" / "list.txt").write_text(f"p1\n{SECRET}\n# comment\nghost@nowhere.com\n")
    segment = {**STATIC, "members_file": "list.txt", "members": ["inline-ghost"]}
    body = builder(fixture_warehouse, config).post("/api/preview", json={"segment": segment}).json
    [warning] = body["warnings"]
    assert "3 of 4 listed members match no profile" in warning
    assert "inline-ghost" in warning  # written in the definition itself: may be quoted
    assert "members_file 'list.txt' line(s) 2, 4" in warning
    assert "sekrit" not in json.dumps(body) and "ghost@nowhere.com" not in json.dumps(body)


# -- 2. the builder: rebinding, tokens, origins, CSRF ----------------------------------------------------


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:8765", "127.0.0.1.evil.example", "localhost.evil.example:8765", ""]
)
def test_rebinding_host_headers_are_refused(fixture_warehouse, config, host):  # noqa: F811
    app = builder(fixture_warehouse, config)
    headers = {"Host": host}
    for response in (
        app.get(f"/?token={TOKEN}", headers=headers),
        app.get("/api/fields", headers=headers),
        app.post("/api/preview", json={"segment": DYNAMIC}, headers=headers),
        app.post("/api/save", json={"segment": DYNAMIC}, headers=headers),
    ):
        assert response.status_code == 403 and "DNS rebinding" in response.json["error"]
        assert "Finance" not in response.text and "@" not in response.text
    assert not list((config / "segments").iterdir())


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1:8765", "[::1]:8765", "LOCALHOST:8765"])
def test_local_host_names_are_served(fixture_warehouse, config, host):  # noqa: F811
    assert builder(fixture_warehouse, config).get("/api/fields", headers={"Host": host}).status_code == 200


def test_missing_and_wrong_tokens(fixture_warehouse, config):  # noqa: F811
    app = Client(Builder(fixture_warehouse, config, token=TOKEN))
    assert app.get("/").status_code == 401
    assert app.get("/?token=guess").status_code == 401
    page = app.get(f"/?token={TOKEN}")
    assert page.status_code == 200 and f'content="{TOKEN}"' in page.text
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["Referrer-Policy"] == "no-referrer" and page.headers["Cache-Control"] == "no-store"
    fields = app.get("/api/fields")
    assert fields.status_code == 401 and "missing token" in fields.json["error"]
    # the token of the page URL is not enough for the API: a cross-site request cannot set the header
    assert app.get(f"/api/fields?token={TOKEN}").status_code == 401
    for token in ("", "x", TOKEN[:-1], TOKEN + "x"):
        response = app.post("/api/save", json={"segment": DYNAMIC}, headers={"X-Revloop-Token": token})
        assert response.status_code == 401
    assert not list((config / "segments").iterdir())
    # a builder started without a token makes its own, different each start
    assert Builder(fixture_warehouse, config).token != Builder(fixture_warehouse, config).token


def test_saving_from_another_origin_or_as_a_form_is_refused(fixture_warehouse, config):  # noqa: F811
    app = builder(fixture_warehouse, config)
    for headers in (
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://localhost:9999"},
        {"Origin": "https://localhost"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ):
        response = app.post("/api/save", json={"segment": DYNAMIC}, headers=headers)
        assert response.status_code == 403, headers
    form = app.post("/api/save", data=json.dumps({"segment": DYNAMIC}), content_type="text/plain")
    assert form.status_code == 415
    assert not list((config / "segments").iterdir())
    same_origin = app.post("/api/save", json={"segment": DYNAMIC}, headers={"Origin": "http://localhost"})
    assert same_origin.status_code == 200 and (config / "segments" / "probe_dynamic.yml").exists()


def test_oversized_and_malformed_builder_bodies(fixture_warehouse, config):  # noqa: F811
    app = builder(fixture_warehouse, config)
    big = app.post("/api/save", data=b"{" + b" " * (2 * 1024 * 1024) + b"}", content_type="application/json")
    assert big.status_code == 413
    for body in (b"{not json", b"[]", b'{"segment": []}', b"\xff\xfe"):
        response = app.post("/api/save", data=body, content_type="application/json")
        assert response.status_code == 400 and "send" in response.json["error"]
    for name in ("../../escape", "/tmp/escape", "sub/escape"):
        response = app.post("/api/save", json={"segment": {**DYNAMIC, "name": name}})
        assert response.status_code == 400 and "name" in response.json["error"]
    assert not Path("/tmp/escape.yml").exists()
    assert not list((config / "segments").iterdir()) and not (config.parent / "escape.yml").exists()


def test_refuses_a_non_loopback_address_unless_told_and_given_a_token(monkeypatch, capsys):
    monkeypatch.delenv("REVLOOP_BUILDER_TOKEN", raising=False)
    assert main(["--host", "0.0.0.0", "--port", "0"]) == 2
    assert main(["--host", "192.168.1.20", "--allow-remote", "--port", "0"]) == 2
    assert "refusing to listen on 192.168.1.20" in capsys.readouterr().err
    # `revloop segments builder` is the same server with the same refusals
    assert revloop_main(["segments", "builder", "--host", "10.0.0.5", "--port", "0"]) == 2
    assert "refusing to listen on 10.0.0.5" in capsys.readouterr().err
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("::") and not is_loopback("example.com")


def test_served_builder_prints_its_token_and_refuses_rebinding(fixture_warehouse, config):  # noqa: F811
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    env.pop("REVLOOP_BUILDER_TOKEN", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "segments.builder", "--port", "0", "--warehouse", str(fixture_warehouse),
         "--config-dir", str(config)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        line = process.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:(\d+)/)\?token=([\w-]{40,})", line)
        assert match, line
        url, port, token = match.group(1), match.group(2), match.group(3)
        page = requests.get(f"{url}?token={token}", timeout=10)
        assert page.status_code == 200 and token in page.text
        assert requests.get(url, timeout=10).status_code == 401
        fields = requests.get(f"{url}api/fields", headers={"X-Revloop-Token": token}, timeout=10)
        assert fields.status_code == 200
        rebound = requests.get(
            f"{url}api/fields", headers={"X-Revloop-Token": token, "Host": f"evil.example:{port}"}, timeout=10
        )
        assert rebound.status_code == 403
    finally:
        process.terminate()
        # SIGTERM closes the server and exits cleanly at once (not killed mid-request)
        assert process.wait(timeout=10) == 0


# -- 3. the collector: sizes, time-outs, gzip ------------------------------------------------------------

WEBSITE_KEY = "wk_security_probe_website"
AUTH = "Basic " + base64.b64encode(f"{WEBSITE_KEY}:".encode()).decode()


def message(n: int) -> dict:
    return {"type": "track", "userId": f"u{n}", "event": "Form Submitted", "messageId": f"m{n}"}


@pytest.fixture
def collector(tmp_path):
    config = load_collector_config().model_copy(deep=True)
    config.server.channel_timeout_seconds = 1
    app = create_app(config, tmp_path / "events", tmp_path / "snapshot.duckdb",
                     {"REVLOOP_WRITE_KEY_WEBSITE": WEBSITE_KEY})
    server = BackgroundServer(app, config=config)
    yield server
    server.stop()


def stored(tmp_path) -> list[str]:
    return [
        json.loads(line)["messageId"]
        for path in event_files(tmp_path / "events" / "website")
        for line in path.read_text().splitlines()
    ]


RESET = b"<connection reset by the server>"


def raw_request(url: str, data: bytes, wait: float = 5, piece: int = 16384) -> bytes:
    """Send raw bytes piece by piece, stopping once the server answers; return what it answered in `wait` s.

    Pausing between pieces lets the server read all that was sent, so that its close after an early
    answer is a clean one (a close with unread bytes would reset the connection and lose the answer).
    """
    host, port = url.removeprefix("http://").split(":")
    answer = b""
    with socket.create_connection((host, int(port)), timeout=wait) as sock:
        try:
            for at in range(0, len(data), piece):
                sock.sendall(data[at : at + piece])
                readable, _, _ = select.select([sock], [], [], 0.02)
                if readable:
                    break
            while chunk := sock.recv(65536):
                answer += chunk
        except TimeoutError:
            pass
        except (ConnectionResetError, BrokenPipeError):
            # the server answered and closed while bytes it will never read were still arriving
            answer += RESET
    return answer


def test_oversized_bodies_refused_from_their_headers(collector, tmp_path):
    limit = collector.app.limits.max_request_bytes
    # a declared length over the limit is answered at once, without sending (or reading) any body
    started = time.perf_counter()
    answer = raw_request(
        collector.url,
        f"POST /v1/batch HTTP/1.1\r\nHost: x\r\nAuthorization: {AUTH}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {100 * limit}\r\n\r\n".encode(),
    )
    assert answer.startswith(b"HTTP/1.1 413 ") and time.perf_counter() - started < 3
    # a chunked body is cut off as soon as it passes the limit
    chunk = b"x" * 65536
    head = (f"POST /v1/batch HTTP/1.1\r\nHost: x\r\nAuthorization: {AUTH}\r\n"
            "Transfer-Encoding: chunked\r\n\r\n").encode()
    body = (f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n") * (limit // len(chunk) + 2)
    # (the server stops reading once over: what the sender still pushes resets the connection, and the
    # 413 may be lost with it)
    answer = raw_request(collector.url, head + body)
    assert answer.startswith(b"HTTP/1.1 413 ") or answer == RESET, answer[:200]
    # exactly at the limit is still accepted
    batch = {"batch": [message(1)], "pad": ""}
    batch["pad"] = " " * (limit - len(json.dumps(batch)))
    data = json.dumps(batch).encode()
    assert len(data) == limit
    ok = requests.post(f"{collector.url}/v1/batch", data=data, headers={"Authorization": AUTH})
    assert ok.status_code == 200
    collector.stop()
    assert stored(tmp_path) == ["m1"]


def test_stalled_senders_are_disconnected(collector):
    # half a head, then silence: the server closes the connection after channel_timeout_seconds (1 here)
    started = time.perf_counter()
    answer = raw_request(collector.url, b"POST /v1/batch HTTP/1.1\r\nHost: x\r\nContent-Le", wait=10)
    assert answer == b"" and time.perf_counter() - started < 8
    # half a body, then silence
    answer = raw_request(
        collector.url,
        f"POST /v1/batch HTTP/1.1\r\nHost: x\r\nAuthorization: {AUTH}\r\nContent-Length: 500\r\n\r\n{{"
        .encode(),
        wait=10,
    )
    assert answer == b""


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def post_gzip(collector, body: bytes) -> requests.Response:
    headers = {"Authorization": AUTH, "Content-Encoding": "gzip", "Content-Type": "application/json"}
    return requests.post(f"{collector.url}/v1/batch", data=body, headers=headers)


def test_gzip_tricks(collector, tmp_path):
    text = json.dumps({"batch": [message(1), message(2)]}).encode()
    half = len(text) // 2
    # a body in two members (RFC 1952 allows it; `cat a.gz b.gz`) is read whole
    assert post_gzip(collector, gz(text[:half]) + gz(text[half:])).status_code == 200
    # two complete documents in two members: the second is not silently dropped
    two = post_gzip(collector, gz(json.dumps({"batch": [message(3)]}).encode()) + gz(b'{"batch": []}'))
    assert two.status_code == 400 and two.json()["code"] == "invalid_json"
    # a cut stream, bytes after the last member, a stream that is not gzip at all
    cut = post_gzip(collector, gz(json.dumps({"batch": [message(4)]}).encode())[:-6])
    assert cut.status_code == 400 and "truncated" in cut.json()["message"]
    trailing = post_gzip(collector, gz(json.dumps({"batch": [message(5)]}).encode()) + b"garbage!")
    assert trailing.status_code == 400 and "not valid gzip" in trailing.json()["message"]
    assert post_gzip(collector, b"\x1f\x8b not gzip").status_code == 400
    # bombs: one member, and the same bytes spread over many small members, each far under the limit
    limit = collector.app.limits.max_request_bytes
    bomb = post_gzip(collector, gz(b" " * (20 * limit)))
    assert bomb.status_code == 400 and bomb.json()["code"] == "payload_too_large"
    spread = post_gzip(collector, gz(b" " * (limit // 4)) * 40)
    assert spread.status_code == 400 and "once decompressed" in spread.json()["message"]
    brotli = requests.post(f"{collector.url}/v1/batch", data=text,
                           headers={"Authorization": AUTH, "Content-Encoding": "br"})
    assert brotli.status_code == 400 and "unsupported Content-Encoding" in brotli.json()["message"]
    collector.stop()
    assert stored(tmp_path) == ["m1", "m2"]  # the whole two-member body, and nothing of the refused ones


def test_malformed_collector_bodies(collector, tmp_path):
    for body in (b"{not json", b"\xff\xfe\x00", b"", b"[]", b'"text"', b'{"batch": "x"}'):
        response = requests.post(f"{collector.url}/v1/batch", data=body, headers={"Authorization": AUTH})
        assert response.status_code == 400, body
        assert response.json()["success"] is False
    bad_head = raw_request(collector.url, b"POST /v1/batch HTTP/1.1\r\nContent-Length: nope\r\n\r\n")
    assert bad_head.startswith(b"HTTP/1.1 400 ")
    pad = b"a" * 40_000
    huge_head = raw_request(collector.url, b"GET /v1/profiles/x HTTP/1.1\r\nX-Pad: " + pad + b"\r\n\r\n")
    assert huge_head.split(b"\r\n")[0].endswith(b" 431 Request Header Fields Too Large")
    collector.stop()
    assert stored(tmp_path) == []


# -- 4. mask_pii in builder samples ------------------------------------------------------------------------


def test_builder_samples_are_masked_unless_turned_off(fixture_warehouse, config, monkeypatch):  # noqa: F811
    everyone = {**DYNAMIC, "rules": {"field": "profile_id", "op": "not_null"}}
    monkeypatch.delenv("REVLOOP_MASK_PII", raising=False)
    body = builder(fixture_warehouse, config).post("/api/preview", json={"segment": everyone}).json
    emails = [row["email"] for row in body["sample"] if row["email"]]
    # an address keeps its first letter and domain; a value that is no address is hidden whole
    assert emails and all(re.fullmatch(r"(.\*\*\*@[\w.]+)|\*\*\*", e) for e in emails), emails
    assert "eve@delta.com" not in json.dumps(body)
    monkeypatch.setenv("REVLOOP_MASK_PII", "off")
    body = builder(fixture_warehouse, config).post("/api/preview", json={"segment": everyone}).json
    assert "eve@delta.com" in [row["email"] for row in body["sample"]]


def test_access_log_never_shows_profile_keys(collector, caplog):
    with caplog.at_level("INFO", logger="collector.access"):
        url = collector.url
        requests.get(f"{url}/v1/profiles/ada@example.com?debug=1", headers={"Authorization": "Bearer x"})
        requests.post(f"{url}/v1/track", json={"writeKey": WEBSITE_KEY}, headers={"Authorization": AUTH})
    text = caplog.text
    assert '"GET /v1/profiles/<redacted>" 503' in text and '"POST /v1/track" 400' in text
    assert "ada@" not in text and WEBSITE_KEY not in text and "debug" not in text
