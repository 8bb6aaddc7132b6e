"""`revloop status`, `revloop doctor` and the command line's help and did-you-mean (issue 21, item 7), against
the sandbox CRMs through their real clients, a local SMTP sink, a DuckDB warehouse and a Dagster instance."""

import shutil
from collections import namedtuple

import duckdb
import pytest
from dagster import DagsterInstance, asset, materialize

from revloop import redact
from revloop.cli import main

SF_TOKEN = "sf-secret-token-4711"
HS_TOKEN = "hs-test-token"
SMTP_PASSWORD = "smtp-secret-password-0815"


@pytest.fixture
def crms(sf_sandbox_factory, hs_sandbox, monkeypatch):
    """Both sandboxes, and the environment that points revloop at them."""
    sf = sf_sandbox_factory(access_token=SF_TOKEN)
    for name in ("SALESFORCE_USERNAME", "SMTP_HOST", "SMTP_USERNAME", "SMTP_PASSWORD", "DAGSTER_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SALESFORCE_INSTANCE_URL", sf.url)
    monkeypatch.setenv("SALESFORCE_ACCESS_TOKEN", SF_TOKEN)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(sf.ca_bundle))
    monkeypatch.setenv("HUBSPOT_BASE_URL", hs_sandbox.url)
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", HS_TOKEN)
    return sf, hs_sandbox


def _lines(output: str) -> dict[str, tuple[str, str]]:
    """Doctor lines by check name: (outcome, detail)."""
    found = {}
    for line in output.splitlines():
        outcome, _, rest = line.partition("  ")
        if outcome.strip() in ("PASS", "FAIL", "SKIP"):
            name, _, detail = rest.strip().partition("  ")
            found[name] = (outcome.strip(), detail.strip())
    return found


def _no_secrets(output: str) -> None:
    for secret in (SF_TOKEN, HS_TOKEN, SMTP_PASSWORD):
        assert secret not in output


def test_doctor_passes_a_ready_installation(crms, smtp_sink, monkeypatch, tmp_path, capsys):
    settings, inbox = smtp_sink
    monkeypatch.setenv("SMTP_HOST", settings.host)
    monkeypatch.setenv("SMTP_PORT", str(settings.port))
    monkeypatch.setenv("SMTP_FROM", settings.sender)
    assert main(["doctor", "--warehouse", str(tmp_path / "warehouse.duckdb")]) == 0
    output = capsys.readouterr().out
    lines = _lines(output)
    assert lines["salesforce credentials"][0] == "PASS"
    for sobject in ("Lead", "Contact", "Account", "Opportunity"):
        assert lines[f"salesforce {sobject} fields"][0] == "PASS", lines
    assert lines["hubspot credentials"][0] == "PASS"
    # a fresh portal lacks revloop's own properties: the sync creates those, so this is no failure
    outcome, detail = lines["hubspot contacts properties"]
    assert outcome == "PASS" and "lead_score" in detail and "the first sync creates them" in detail
    assert lines["smtp"][0] == "PASS" and inbox.messages == []  # connected, sent nothing
    assert lines["disk space"][0] == "PASS"
    _no_secrets(output)


def test_doctor_fails_clearly_on_what_is_wrong(
    sf_sandbox_factory, crms, smtp_sink, monkeypatch, tmp_path, capsys
):
    # an org whose admin has not added revloop's custom fields
    bare = sf_sandbox_factory(access_token=SF_TOKEN, with_revloop_fields=False)
    monkeypatch.setenv("SALESFORCE_INSTANCE_URL", bare.url)
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "hs-revoked-token-1234")
    settings, _ = smtp_sink
    monkeypatch.setenv("SMTP_HOST", settings.host)
    monkeypatch.setenv("SMTP_PORT", str(settings.port))
    monkeypatch.setenv("SMTP_FROM", settings.sender)
    monkeypatch.setenv("SMTP_USERNAME", "mailer")
    monkeypatch.setenv("SMTP_PASSWORD", SMTP_PASSWORD)  # the sink offers no TLS: a login would leak it
    Usage = namedtuple("Usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda _: Usage(10 << 30, 10 << 30 - 1, 200 << 20))

    assert main(["doctor", "--warehouse", str(tmp_path / "warehouse.duckdb")]) == 1
    output = capsys.readouterr().out
    lines = _lines(output)
    assert lines["salesforce credentials"][0] == "PASS"
    outcome, detail = lines["salesforce Contact fields"]
    assert outcome == "FAIL" and "Lead_Score__c" in detail and "Setup > Object Manager > Contact" in detail
    assert "Revloop_Id__c" in lines["salesforce Lead fields"][1]
    outcome, detail = lines["hubspot credentials"]
    assert outcome == "FAIL" and "401" in detail and "revoked" in detail
    assert "hubspot contacts properties" not in lines  # not checked with a rejected token
    outcome, detail = lines["smtp"]
    assert outcome == "FAIL" and "offers no TLS" in detail
    outcome, detail = lines["disk space"]
    assert outcome == "FAIL" and "200.0 MB free" in detail
    assert "check(s) failed" in output
    _no_secrets(output)
    assert "hs-revoked-token-1234" not in output


def test_doctor_reports_a_rejected_salesforce_token_without_printing_it(crms, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("SALESFORCE_ACCESS_TOKEN", "sf-wrong-token-9999")
    assert main(["doctor", "--warehouse", str(tmp_path / "warehouse.duckdb")]) == 1
    output = capsys.readouterr().out
    outcome, detail = _lines(output)["salesforce credentials"]
    assert outcome == "FAIL" and "INVALID_SESSION_ID" in detail
    assert "salesforce Contact fields" not in _lines(output)
    assert "sf-wrong-token-9999" not in output
    assert _lines(output)["smtp"][0] == "SKIP"


def test_mask_hides_every_secret_variable_whatever_the_message():
    env = {"HUBSPOT_ACCESS_TOKEN": "pat-na1-abcdef", "REVLOOP_WRITE_KEY_WEB": "wk-123456", "SMTP_HOST": "m"}
    text = "GET https://x/?token=pat-na1-abcdef failed; key wk-123456; host m"
    assert redact.mask(text, env) == "GET https://x/?token=*** failed; key ***; host m"


@asset
def one_table() -> int:
    return 1


def test_status_shows_configuration_runs_and_warehouse_without_secrets(crms, monkeypatch, tmp_path, capsys):
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts; create table marts.customer_profiles as select 1 as profile_id")
        con.execute("create schema activation")
        con.execute(
            "create table activation.sync_log as select 'created' as status, "
            "timestamptz '2026-12-01 10:00:00+00' as last_seen_at from range(3)"
        )
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry: {enabled: false}\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("SMTP_PASSWORD", SMTP_PASSWORD)
    with DagsterInstance.get() as instance:
        assert materialize([one_table], instance=instance).success

    assert main(["status", "--warehouse", str(warehouse)]) == 0
    output = capsys.readouterr().out
    sf_url = crms[0].url
    assert f"salesforce {sf_url}, access token" in output
    assert "smtp       not configured" in output
    assert "tables: activation 1, marts 1" in output
    assert "last CRM sync logged 2026-12-01" in output and "3 record writes" in output
    assert "__ephemeral_asset_job__  success" in output
    _no_secrets(output)


def test_status_of_a_new_installation(monkeypatch, tmp_path, capsys):
    for name in ("SALESFORCE_ACCESS_TOKEN", "SALESFORCE_USERNAME", "HUBSPOT_ACCESS_TOKEN", "DAGSTER_HOME"):
        monkeypatch.delenv(name, raising=False)
    assert main(["status", "--warehouse", str(tmp_path / "none.duckdb")]) == 0
    output = capsys.readouterr().out
    assert "salesforce not configured" in output and "hubspot    not configured" in output
    assert "not built yet" in output and "DAGSTER_HOME is unset" in output


@pytest.mark.parametrize(
    ("argv", "suggestion"),
    [
        (["stauts"], "Did you mean 'status'?"),
        (["docter"], "Did you mean 'doctor'?"),
        (["segment", "preview"], "Did you mean 'segments'?"),
        (["segments", "materialise"], "Did you mean 'materialize'?"),
    ],
)
def test_a_mistyped_command_gets_a_suggestion(argv, suggestion, capsys):
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert suggestion in error and "--help" in error


def test_an_unknown_command_lists_the_commands(capsys):
    assert main(["frobnicate"]) == 2
    error = capsys.readouterr().err
    assert "Did you mean" not in error
    assert "Commands: status, doctor, segments" in error


def test_bare_revloop_prints_friendly_help(capsys):
    assert main([]) == 0
    output = capsys.readouterr().out
    for command in ("status", "doctor", "segments"):
        assert f"revloop {command}" in output
    assert "examples:" in output


def test_arguments_that_look_like_commands_are_left_to_the_command(tmp_path, capsys):
    # a FILE argument is not a command word: the suggestion logic must stop at the last command level
    missing = tmp_path / "stauts.yml"
    assert main(["segments", "preview", str(missing), "--warehouse", str(tmp_path / "w.duckdb")]) == 2
    assert "is not a command" not in capsys.readouterr().err
