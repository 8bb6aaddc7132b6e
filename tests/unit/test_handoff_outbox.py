"""Notification outbox rows and sends, and the Dagster asset without a CRM."""

import socket
from datetime import UTC, datetime, timedelta

import pytest
from dagster import Failure, build_asset_context

from activation.handoff.notify import Mail, backoff, message_id, outbox_rows, send_due
from activation.mail import SmtpSettings
from orchestration.defs.handoff import lead_handoffs
from orchestration.resources import HubSpotResource, SalesforceResource, WarehouseResource

NOW = datetime(2026, 6, 1, tzinfo=UTC)
MAIL = Mail("handoff", "p1", 1, ["rep@x.io"], "Follow up", "body", "<p>body</p>")
MINUTE, HOUR = timedelta(minutes=1), timedelta(hours=1)


def test_mails_are_recorded_queued_under_a_stable_message_id():
    rows = outbox_rows([MAIL, Mail("team_alert", "p1", 1, [], "Alert", "body")], NOW)
    assert [(r["status"], r["to_address"]) for r in rows] == [("queued", "rep@x.io"), ("failed", "")]
    assert (
        rows[0]["message_id"] == message_id("handoff", "p1", 1) == outbox_rows([MAIL], NOW)[0]["message_id"]
    )
    assert (
        rows[0]["message_id"] != message_id("handoff", "p1", 2) and rows[1]["error"] == "no recipient address"
    )


def test_backoff_doubles_up_to_the_cap():
    assert [backoff(n, 5 * MINUTE, HOUR) for n in (1, 2, 3, 4, 5)] == [
        5 * MINUTE,
        10 * MINUTE,
        20 * MINUTE,
        40 * MINUTE,
        HOUR,
    ]


def test_an_unreachable_smtp_server_gives_a_retry_not_a_crash():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there once the probe is closed
    attempts = []
    row = {**outbox_rows([MAIL], NOW)[0], "attempts": 2}
    send_due(
        SmtpSettings("127.0.0.1", port, "revloop@x.io", timeout_s=2),
        [row],
        NOW,
        5 * MINUTE,
        HOUR,
        attempts.append,
    )
    (attempt,) = attempts
    assert attempt.sent_at is None and attempt.error and attempt.next_attempt_at == NOW + 20 * MINUTE


def test_a_send_carries_the_recorded_message_id(smtp_sink):
    settings, inbox = smtp_sink
    attempts = []
    send_due(settings, outbox_rows([MAIL], NOW), NOW, MINUTE, HOUR, attempts.append)
    assert [a.sent_at for a in attempts] == [NOW]
    assert inbox.messages[0]["Message-ID"] == message_id("handoff", "p1", 1)


def test_the_asset_runs_without_a_crm_instead_of_skipping(tmp_path):
    # no CRM: the step still runs (an events-only installation gets an empty activation.lead_handoffs),
    # so on a warehouse without the handoff models it fails naming them rather than skipping everything
    # downstream, and for good: a missing model is not transient, so the retry policy does not run it again
    with pytest.raises(Failure, match="int_handoff_signals is missing.*not transient") as failure:
        lead_handoffs(
            build_asset_context(),
            warehouse=WarehouseResource(path=str(tmp_path / "w.duckdb")),
            salesforce=SalesforceResource(),
            hubspot=HubSpotResource(),
        )
    assert failure.value.allow_retries is False
