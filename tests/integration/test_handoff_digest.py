"""The per-rep digest through a whole handoff run, and under kills: Ann (Salesforce) gets the score and
time leads in one digest; Carl's single HubSpot lead and the priority team alert stay one mail each."""

from datetime import timedelta

import duckdb
import pytest

from activation.handoff import run_handoffs
from activation.handoff.notify import message_id
from revloop.config.assignment import load_assignment_config
from revloop.config.handoff import load_handoff_config
from tests.fixtures.salesforce import salesforce_client
from tests.integration.test_handoff_outbox_kills import (  # noqa: F401 (chunking is a fixture)
    HANDOFF_STEPS,
    Killed,
    T,
    _delivered,
    _killer,
    _world,
    chunking,
)

DIGEST_CONFIG = load_handoff_config().model_copy(
    update={
        "notifications": load_handoff_config().notifications.model_copy(update={"digest_min_handoffs": 2})
    }
)


def _run(path, sf, hs, smtp, as_of, step=None):
    con = duckdb.connect(str(path))
    try:
        return run_handoffs(
            con,
            sf,
            hs,
            smtp,
            as_of=as_of,
            config=DIGEST_CONFIG,
            assignment=load_assignment_config(),
            on_step=_killer(step) if step else None,
        )
    except Killed:
        return None
    finally:
        con.close()


@pytest.mark.parametrize("step", [None, *HANDOFF_STEPS])
@pytest.mark.usefixtures("chunking")
def test_a_rep_with_two_handoffs_gets_one_digest_once(
    step, sf_sandbox_factory, hs_sandbox, smtp_sink, tmp_path
):
    sf_box = sf_sandbox_factory()
    _world(sf_box, hs_sandbox, tmp_path / "w.duckdb")
    sf, hs = salesforce_client(sf_box), hs_sandbox.client()
    smtp, inbox = smtp_sink
    path = tmp_path / "w.duckdb"

    if step:
        assert _run(path, sf, hs, smtp, T, step) is None  # killed
    report = _run(path, sf, hs, smtp, T + timedelta(minutes=10))
    assert report is not None and report.errors == []

    delivered = _delivered(inbox)
    individual = {message_id("handoff", "behavior", 1), message_id("team_alert", "behavior", 1)}
    assert individual < set(delivered) and len(delivered) == 3
    # a kill between acceptance and the journal may send one mail twice, under the same Message-ID
    digest = next(m for m in inbox.messages if str(m["Message-ID"]) not in individual)
    assert str(digest["Message-ID"]).startswith("<handoff.digest.") and digest["To"] == "ann@x.io"
    assert digest["Subject"].startswith("2 new leads")
    text = digest.get_payload()[0].get_payload(decode=True).decode() if digest.is_multipart() else ""
    assert "revloop score/1" in text and "revloop time/1" in text
    assert sum(n > 1 for n in delivered.values()) <= (1 if step == "mail_accepted" else 0)
    with duckdb.connect(str(path)) as con:
        assert con.execute(
            "select count(*) from activation.lead_handoffs where notified_at is null"
        ).fetchall() == [(0,)]
        assert con.execute(
            "select kind, status, count(*) from activation.outbox group by all order by all"
        ).fetchall() == [("digest", "sent", 1), ("handoff", "sent", 3), ("team_alert", "sent", 1)]
        # the mails the digest carries were never rendered: only the one sent on its own has a body
        assert con.execute(
            "select digest_id is null, body <> '', html is not null, count(*) from activation.outbox "
            "where kind = 'handoff' group by all order by all"
        ).fetchall() == [(False, False, False, 2), (True, True, True, 1)]
