"""The asset checks on small warehouses holding only the tables each check reads: each passes and fails."""

from pathlib import Path

import dlt
import pytest
from dagster import AssetCheckSeverity

from activation.plan import RecordWrite
from activation.refusals import sync_refusals
from activation.results import WriteResult
from activation.store import ActivationStore
from identity.checks import conflicting_crm_emails
from ingestion.quarantine import Rejections, load_rejections
from ingestion.quarantine_rate import quarantine_rate
from ml.registry import ModelRegistry
from orchestration.defs import checks
from orchestration.resources import WarehouseResource
from revloop.checks import env_share, rounded
from revloop.model_quality import model_above_baseline
from revloop.warehouse import connect_warehouse, make_pipeline

# profile, system, record type, record id, e-mail: one row per record and e-mail seen
IDENTITY_ROWS = [
    ("p1", "salesforce", "contact", "003A", "ana@acme.com"),
    ("p1", "salesforce", "contact", "003B", " Ana@Acme.com"),  # the same e-mail, other case: no conflict
    ("p2", "hubspot", "hubspot_contact", "h1", "bo@mail.com"),
    ("p2", "hubspot", "hubspot_contact", "h1", "bo@work.com"),  # one record, two e-mails
    ("p2", "hubspot", "hubspot_contact", "h2", "bo@work.com"),  # shares one with h1: no conflict
    ("p3", "salesforce", "lead", "00QA", "cy@old.com"),
    ("p3", "salesforce", "contact", "003C", "cy@new.com"),  # a lead and a contact: two objects
    ("p4", "website", "event_user", "u1", "di@x.com"),
    ("p4", "website", "event_user", "u2", "do@y.com"),  # event records are not CRM objects
    ("p5", "hubspot", "hubspot_contact", "h3", None),
    ("p5", "hubspot", "hubspot_contact", "h4", "ed@z.com"),  # a record without e-mail conflicts with none
]
WRONG_MERGE = [
    ("p6", "salesforce", "contact", "003D", "fay@acme.com"),
    ("p6", "salesforce", "contact", "003E", "gus@other.com"),
]


def identity_warehouse(path: Path, rows: list[tuple]) -> Path:
    with connect_warehouse(path) as con:
        con.execute("create schema identity; create schema intermediate")
        con.execute(
            "create table identity.profile_map (source_system varchar, source_record_type varchar, "
            "source_id varchar, profile_id varchar)"
        )
        con.execute(
            "create table intermediate.int_identity_records (source_system varchar, "
            "source_record_type varchar, source_id varchar, email varchar, phone_raw varchar)"
        )
        records = {(system, kind, record, profile) for profile, system, kind, record, _ in rows}
        con.executemany("insert into identity.profile_map values (?, ?, ?, ?)", sorted(records))
        con.executemany(
            "insert into intermediate.int_identity_records values (?, ?, ?, ?, null)",
            [(system, kind, record, email) for _, system, kind, record, email in rows],
        )
    return path


def test_identity_check_passes_when_crm_records_of_a_profile_share_an_email(warehouse):
    outcome = conflicting_crm_emails(identity_warehouse(warehouse, IDENTITY_ROWS))
    assert outcome.passed, outcome.summary
    assert outcome.metadata["profiles"] == 5
    assert outcome.metadata["conflicting_profiles"] == 0


def test_identity_check_fails_on_two_contacts_with_different_emails_in_one_profile(warehouse):
    outcome = conflicting_crm_emails(identity_warehouse(warehouse, IDENTITY_ROWS + WRONG_MERGE))
    assert not outcome.passed
    assert outcome.metadata["conflicting_profiles"] == 1
    assert outcome.metadata["conflicting_record_pairs"] == 1
    assert outcome.metadata["conflicting_share"] == rounded(1 / 6)
    assert outcome.metadata["examples"] == "p6: salesforce contact 003D / 003E"
    assert "@" not in str(outcome.metadata), "e-mails never reach check metadata"


def test_identity_check_passes_before_identity_has_run(warehouse):
    assert conflicting_crm_emails(warehouse).passed  # no warehouse file yet
    connect_warehouse(warehouse).close()
    outcome = conflicting_crm_emails(warehouse)
    assert outcome.passed and "not built yet" in outcome.summary


def save_model(registry: ModelRegistry, task: str, auc: float, baseline_auc: float, promote: bool) -> str:
    metrics = {"auc": auc, "baseline_auc": baseline_auc, "rules_auc": 0.6}
    version = registry.save(task, {"weights": [1, 2]}, {"metrics": metrics}, {}).version
    if promote:
        registry.promote(task, version, "test")
    return version


def test_model_quality_reads_the_promoted_models_card(warehouse):
    registry = ModelRegistry(warehouse=warehouse)
    assert model_above_baseline("churn", warehouse).passed  # nothing promoted: the rules score
    version = save_model(registry, "churn", 0.8110489483965181, 0.7012345678, promote=True)
    save_model(registry, "churn", 0.55, 0.7, promote=False)  # a worse model kept out does not count
    outcome = model_above_baseline("churn", warehouse)
    assert outcome.passed, outcome.summary
    assert outcome.metadata == {
        "version": version,
        "auc": 0.811,
        "baseline_auc": 0.7012,
        "auc_over_baseline": 0.1098,
        "rules_auc": 0.6,
    }


def test_model_quality_fails_when_the_promoted_model_is_below_its_baseline(warehouse):
    registry = ModelRegistry(warehouse=warehouse)
    save_model(registry, "purchase", 0.64, 0.71, promote=True)
    outcome = model_above_baseline("purchase", warehouse)
    assert not outcome.passed
    assert outcome.summary == "holdout AUC 0.6400 does not beat the baseline's 0.7100"
    assert model_above_baseline("churn", warehouse).passed  # another task is judged on its own


def load_contacts(warehouse: Path, contacts: int, refused: int) -> None:
    """A salesforce load as ingestion runs it: refusals spooled while the source is read, then merged."""
    rejections = Rejections.spooled("salesforce", warehouse)

    @dlt.resource(name="contact", primary_key="Id", write_disposition="merge")
    def contact():
        for n in range(refused):
            rejections.add("salesforce", f"003R{n}", "Email: not a string", {"Id": f"003R{n}"})
        rejections.add("hubspot.contacts", "h9", "another source's refusal, in the same window", None)
        yield [{"Id": f"003{n}", "tags": ["a", "b"]} for n in range(contacts)]  # nested rows are no records

    make_pipeline("salesforce", "raw_salesforce", warehouse).run(contact())
    load_rejections(rejections, warehouse)


def test_quarantine_rate_of_the_last_load(warehouse):
    assert quarantine_rate("salesforce", "salesforce", warehouse, 0.05).passed  # never loaded
    load_contacts(warehouse, contacts=50, refused=30)  # an earlier, bad load
    load_contacts(warehouse, contacts=98, refused=2)
    outcome = quarantine_rate("salesforce", "salesforce", warehouse, 0.05)
    assert outcome.passed, outcome.summary
    assert {k: outcome.metadata[k] for k in ("loaded", "rejected", "rejected_share")} == {
        "loaded": 98,
        "rejected": 2,
        "rejected_share": 0.02,
    }
    assert not quarantine_rate("salesforce", "salesforce", warehouse, 0.01).passed


def test_quarantine_rate_fails_when_a_load_refuses_too_much(warehouse):
    load_contacts(warehouse, contacts=9, refused=3)
    outcome = quarantine_rate("salesforce", "salesforce", warehouse, 0.05)
    assert not outcome.passed
    assert outcome.metadata["rejected_share"] == 0.25
    assert outcome.summary == "3 of 12 salesforce records quarantined (25.00%), above 5.00%"


def write(record: str, operation: str = "update") -> RecordWrite:
    return RecordWrite("hubspot", "contacts", operation, f"rl-{record}", record, {"email": f"{record}@x.com"})


def sync_run(warehouse: Path, run_id: str, ok: list[str], refused: list[str]) -> None:
    results = [WriteResult(write(r), "updated", r) for r in ok]
    results += [WriteResult(write(r), "refused", None, "INVALID_EMAIL") for r in refused]
    with connect_warehouse(warehouse) as con:
        ActivationStore(con).record(run_id, "hubspot_contacts", results)


def test_sync_refusals_count_the_latest_runs_new_and_repeated_refusals(warehouse):
    assert sync_refusals(warehouse, 0.05).passed  # no sync yet
    sync_run(warehouse, "run1", [f"a{n}" for n in range(8)], ["bad1", "bad2"])
    sync_run(warehouse, "run2", [f"b{n}" for n in range(19)], ["bad1", "bad3"])  # bad1 again, bad3 new
    outcome = sync_refusals(warehouse, 0.05)
    assert outcome.passed, outcome.summary
    assert outcome.metadata == {
        "new_refusals": 1,
        "repeated_refusals": 1,
        "operations": 21,
        "new_refusal_share": rounded(1 / 21),
        "max_new_refusal_share": 0.05,
        "new_refusals_by_object": "hubspot contacts refused: 1",
    }
    assert not sync_refusals(warehouse, 0.04).passed
    sync_run(warehouse, "run3", [], ["bad3"])  # a run that only meets a known refusal
    outcome = sync_refusals(warehouse, 0.0)
    assert outcome.passed and outcome.metadata["new_refusals"] == 0
    assert outcome.metadata["repeated_refusals"] == 1


def test_the_dagster_check_warns_with_the_threshold_from_the_environment(warehouse, monkeypatch):
    sync_run(warehouse, "run1", ["a1", "a2", "a3"], ["bad1"])
    resource = WarehouseResource(path=str(warehouse))
    result = checks.sync_refusals_check(warehouse=resource)
    assert not result.passed and result.severity == AssetCheckSeverity.WARN
    assert result.description == "1 new and 0 repeated refusal(s) in the latest sync's 4 operation(s)"
    monkeypatch.setenv(checks.REFUSAL_SHARE_ENV, "0.25")
    assert checks.sync_refusals_check(warehouse=resource).passed
    monkeypatch.setenv(checks.REFUSAL_SHARE_ENV, "lots")
    with pytest.raises(ValueError, match="REVLOOP_MAX_SYNC_REFUSAL_SHARE='lots' is not a number"):
        checks.sync_refusals_check(warehouse=resource)


def test_env_share_accepts_only_shares():
    assert env_share("X", 0.02, {}) == 0.02
    assert env_share("X", 0.02, {"X": " 0.1 "}) == 0.1
    with pytest.raises(ValueError, match="not a share between 0 and 1"):
        env_share("X", 0.02, {"X": "5"})


def test_every_check_is_described_and_targets_an_asset_of_the_code_location():
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    ours = [spec for check in checks.ASSET_CHECKS for spec in check.check_specs]
    assert len(ours) == 8
    for spec in ours:
        assert spec.description and len(spec.description) > 40, spec.key
        assert spec.key in graph.asset_check_keys
        assert graph.has(spec.asset_key), spec.asset_key

