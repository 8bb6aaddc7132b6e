"""GET /v1/profiles/<id or e-mail> from the snapshot: auth, 404/503, refresh, never blocking the writer."""

import datetime as dt
from pathlib import Path
from urllib.parse import quote

import duckdb
import pytest
import requests
from dagster import materialize

from collector.app import create_app
from collector.server import BackgroundServer
from collector.snapshot import write_profile_snapshot
from orchestration.defs.serving import profile_snapshot
from orchestration.resources import WarehouseResource
from revloop.config.collector import load_collector_config

TOKEN = "pat_test_5b1e0c"
AT = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)
PROFILES = [
    # profile_id, email, first_name, lifecycle_stage, lead_score, churn_risk, last seen (days before AT)
    ("p1", "Ann@Acme.com", "Ann", "opportunity", 72, 0.12, 1),
    ("p2", "bob@beta.io", "Bob", "lead", 15, None, 30),
    ("p3", " ann@acme.com", "Annie", "lead", 5, 0.8, 90),  # the same address, seen long ago
]


@pytest.fixture
def warehouse(tmp_path) -> Path:
    """A warehouse with the three marts the snapshot reads, shaped as dbt and segments build them."""
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA marts")
        con.execute("""CREATE TABLE marts.customer_profiles (profile_id VARCHAR, email VARCHAR, phone VARCHAR,
            first_name VARCHAR, last_name VARCHAR, company_name VARCHAR, job_title VARCHAR, country VARCHAR,
            industry VARCHAR, lifecycle_stage VARCHAR, lead_score INTEGER, churn_risk DOUBLE,
            purchase_likelihood DOUBLE, engagement_potential DOUBLE, first_seen_at TIMESTAMPTZ,
            last_seen_at TIMESTAMPTZ, email_source VARCHAR)""")
        for pid, email, first, stage, score, churn, seen in PROFILES:
            con.execute(
                "INSERT INTO marts.customer_profiles VALUES (?, ?, '+4930123', ?, 'Doe', 'Acme', 'CTO', "
                "'Germany', 'Technology', ?, ?, ?, 0.4, 0.7, ?, ?, 'hubspot')",
                [pid, email, first, stage, score, churn, AT - dt.timedelta(days=400),
                 AT - dt.timedelta(days=seen)],
            )
        con.execute("""CREATE TABLE marts.segment_memberships (segment_name VARCHAR, segment_type VARCHAR,
            profile_id VARCHAR, evaluated_at TIMESTAMPTZ)""")
        con.execute("""INSERT INTO marts.segment_memberships VALUES
            ('pricing_visitors', 'dynamic', 'p1', now()), ('likely_buyers', 'predictive', 'p1', now()),
            ('newsletter', 'static', 'p2', now())""")
        con.execute("""CREATE TABLE marts.lead_score_factors (profile_id VARCHAR, factor VARCHAR,
            points INTEGER, factor_group VARCHAR, detail VARCHAR)""")
        con.execute("""INSERT INTO marts.lead_score_factors VALUES
            ('p1', 'fit:title:cxo', 30, 'fit', 'job_title CTO'),
            ('p1', 'behavior:demo_request', 42, 'behavior', '1 event'),
            ('p2', 'fit:industry:tech', 15, 'fit', 'industry Technology')""")
    return path


@pytest.fixture
def api(tmp_path):
    app = create_app(
        load_collector_config(), tmp_path / "events", tmp_path / "profile_snapshot.duckdb",
        {"REVLOOP_PROFILE_API_TOKEN": TOKEN},
    )
    server = BackgroundServer(app)
    yield server
    server.stop()


def get(api: BackgroundServer, key: str, token: str | None = TOKEN) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(f"{api.url}/v1/profiles/{quote(key)}", headers=headers, timeout=10)


def test_profile_lookup(api, warehouse, tmp_path):
    assert get(api, "p1").status_code == 503  # no snapshot yet
    stats = write_profile_snapshot(warehouse, tmp_path / "profile_snapshot.duckdb", snapshot_at=AT)
    assert (stats.profiles, stats.memberships, stats.score_factors) == (3, 3, 3)

    assert get(api, "p1", token=None).status_code == 401
    assert get(api, "p1", token="pat_wrong").status_code == 401
    assert get(api, "nobody@example.com").status_code == 404

    by_id = get(api, "p1")
    assert by_id.status_code == 200 and by_id.headers["Cache-Control"] == "no-store"
    body = by_id.json()
    assert body["profile_id"] == "p1"
    assert body["traits"]["email"] == "Ann@Acme.com" and body["traits"]["lifecycle_stage"] == "opportunity"
    assert "email_source" not in body["traits"]
    assert body["traits"]["last_seen_at"].startswith("2026-10-31")
    scores = body["scores"]
    assert (scores["lead_score"], scores["churn_risk"], scores["engagement_potential"]) == (72, 0.12, 0.7)
    assert [f["factor"] for f in scores["lead_score_factors"]] == ["behavior:demo_request", "fit:title:cxo"]
    assert sum(f["points"] for f in scores["lead_score_factors"]) == scores["lead_score"]
    assert body["segments"] == [
        {"name": "likely_buyers", "type": "predictive"}, {"name": "pricing_visitors", "type": "dynamic"}
    ]
    assert body["snapshot_at"].startswith("2026-11-01T08:00:00")

    # E-mail: trimmed and case-blind; of two profiles with it, the one seen last.
    assert get(api, "  ANN@acme.com").json()["profile_id"] == "p1"
    assert get(api, "bob@beta.io").json()["scores"]["churn_risk"] is None


def test_reads_never_block_the_warehouse_writer_and_follow_new_snapshots(api, warehouse, tmp_path):
    snapshot = tmp_path / "profile_snapshot.duckdb"
    write_profile_snapshot(warehouse, snapshot, snapshot_at=AT)
    assert get(api, "p2").json()["scores"]["lead_score"] == 15  # the API now holds the snapshot open

    # A run writes the warehouse while the API keeps answering from the snapshot.
    with duckdb.connect(str(warehouse)) as writer:
        writer.execute("UPDATE marts.customer_profiles SET lead_score = 55 WHERE profile_id = 'p2'")
        assert get(api, "p2").json()["scores"]["lead_score"] == 15
    # ... and the next snapshot replaces the open one without waiting for the API.
    write_profile_snapshot(warehouse, snapshot, snapshot_at=AT + dt.timedelta(hours=1))
    refreshed = get(api, "p2").json()
    assert refreshed["scores"]["lead_score"] == 55
    assert refreshed["snapshot_at"].startswith("2026-11-01T09:00:00")
    assert sorted(p.name for p in tmp_path.iterdir() if "snapshot" in p.name) == ["profile_snapshot.duckdb"]


def test_snapshot_asset_materializes(warehouse, tmp_path, monkeypatch):
    monkeypatch.setenv("REVLOOP_PROFILE_SNAPSHOT", str(tmp_path / "served" / "snapshot.duckdb"))
    result = materialize([profile_snapshot], resources={"warehouse": WarehouseResource(path=str(warehouse))})
    assert result.success
    [event] = result.get_asset_materialization_events()
    metadata = event.materialization.metadata
    assert metadata["profiles"].value == 3 and metadata["segment_memberships"].value == 3
    with duckdb.connect(str(tmp_path / "served" / "snapshot.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM profiles").fetchone()[0] == 3
