"""Notification delivery into the outbox, and the Dagster asset without a CRM."""

import socket
from datetime import UTC, datetime

from dagster import build_asset_context

from activation.handoff.notify import Mail, deliver
from activation.mail import SmtpSettings
from orchestration.defs.handoff import lead_handoffs
from orchestration.resources import HubSpotResource, SalesforceResource, WarehouseResource

NOW = datetime(2026, 6, 1, tzinfo=UTC)
MAIL = Mail("handoff", "p1", 1, ["rep@x.io"], "Follow up", "body")


def test_without_smtp_every_mail_is_queued_with_a_message_id():
    rows = deliver(None, [MAIL, Mail("team_alert", "p1", 1, [], "Alert", "body")], NOW)
    assert [(r["status"], r["to_address"]) for r in rows] == [("queued", "rep@x.io"), ("failed", "")]
    assert rows[0]["message_id"].startswith("<") and rows[1]["error"] == "no recipient address"


def test_an_unreachable_smtp_server_gives_a_failed_row_not_a_crash():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there once the probe is closed
    (row,) = deliver(SmtpSettings("127.0.0.1", port, "revloop@x.io", timeout_s=2), [MAIL], NOW)
    assert row["status"] == "failed" and row["error"] and row["sent_at"] is None


def test_the_asset_skips_with_a_message_when_no_crm_is_configured(tmp_path):
    result = lead_handoffs(
        build_asset_context(),
        warehouse=WarehouseResource(path=str(tmp_path / "w.duckdb")),
        salesforce=SalesforceResource(),
        hubspot=HubSpotResource(),
    )
    assert result.metadata == {"skipped": "no CRM configured"}
    assert not (tmp_path / "w.duckdb").exists()
