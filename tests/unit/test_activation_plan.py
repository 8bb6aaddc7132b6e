"""Diff planning: last-modified-wins, echo suppression, creates, rejections, and nothing planned twice."""

from datetime import UTC, datetime, timedelta

import pytest

from activation.plan import CrmRecord, SyncPair, Written, plan_object
from revloop.config import ConfigError, load
from revloop.config.sync import SyncConfig, load_sync_config

T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)
CONFIG = load_sync_config()
CONTACT = CONFIG.objects["contact"]
DEAL = CONFIG.objects["deal"]


def sf(values, at=T0, object_name="Contact", record_id="003A"):
    base = {"Revloop_Id__c": "p1", "HubSpot_Id__c": "501"}
    return CrmRecord("salesforce", object_name, record_id, at, {**base, **values})


def hs(values, at=T0, record_id="501"):
    base = {"revloop_id": "p1", "salesforce_id": "003A"}
    return CrmRecord("hubspot", "contacts", record_id, at, {**base, **values})


def person(**values):
    return {"Email": "ann@acme.io", "FirstName": "Ann", "LastName": "Lee", **values}


def hs_person(**values):
    return {"email": "ann@acme.io", "firstname": "Ann", "lastname": "Lee", **values}


def test_shipped_config_loads_and_rejects_typos(tmp_path):
    assert set(CONFIG.objects) == {"contact", "company", "deal"}
    (tmp_path / "sync.yml").write_text("objects: {}\nbatch_sise: 5\n")
    with pytest.raises(ConfigError, match="batch_sise"):
        load("sync", SyncConfig, tmp_path)


def test_in_sync_pair_plans_nothing():
    pair = SyncPair("p1", sf(person()), hs(hs_person()))
    plan = plan_object("contact", CONTACT, [pair], {})
    assert plan.writes == [] and plan.rejections == []


@pytest.mark.parametrize("newer", ["salesforce", "hubspot"])
def test_conflict_goes_to_the_most_recently_modified_side(newer):
    later = T0 + timedelta(minutes=5)
    pair = SyncPair(
        "p1",
        sf(person(FirstName="Annie"), at=later if newer == "salesforce" else T0),
        hs(hs_person(firstname="Anna"), at=later if newer == "hubspot" else T0),
    )
    [write] = plan_object("contact", CONTACT, [pair], {}).writes
    if newer == "salesforce":
        assert (write.crm, write.record_id, write.fields) == ("hubspot", "501", {"firstname": "Annie"})
    else:
        assert (write.crm, write.record_id, write.fields) == ("salesforce", "003A", {"FirstName": "Anna"})


def test_value_revloop_wrote_does_not_bounce_back():
    # revloop wrote "Annie" into Salesforce (bumping its SystemModstamp); a person then set "Anna" in HubSpot
    # before that write: the newer Salesforce timestamp is revloop's echo, so HubSpot's change still wins.
    pair = SyncPair(
        "p1", sf(person(FirstName="Annie"), at=T0 + timedelta(hours=1)), hs(hs_person(firstname="Anna"))
    )
    written = {("salesforce", "003A", "FirstName"): Written("Annie", T0 + timedelta(minutes=59))}
    [write] = plan_object("contact", CONTACT, [pair], written).writes
    assert (write.crm, write.fields) == ("salesforce", {"FirstName": "Anna"})


def test_empty_value_never_wipes_the_other_side():
    pair = SyncPair("p1", sf(person(Phone=None), at=T0 + timedelta(hours=1)), hs(hs_person(phone="+1 555")))
    [write] = plan_object("contact", CONTACT, [pair], {}).writes
    assert (write.crm, write.fields) == ("salesforce", {"Phone": "+1 555"})


def test_enriched_fields_pushed_to_both_and_only_when_changed():
    pair = SyncPair(
        "p1",
        sf(person(Lead_Score__c=40.0)),
        hs(hs_person(lead_score="55")),
        desired={"lead_score": 55},
    )
    [write] = plan_object("contact", CONTACT, [pair], {}).writes
    assert (write.crm, write.fields, write.previous) == (
        "salesforce",
        {"Lead_Score__c": 55.0},
        {"Lead_Score__c": 40.0},
    )


def test_missing_partner_is_created_with_cross_ids_and_source_record_linked():
    pair = SyncPair(
        "p9",
        hubspot=hs(hs_person(company="Acme", revloop_id="p9"), record_id="777"),
        desired={"lead_score": 10},
    )
    write, score = plan_object("contact", CONTACT, [pair], {}).writes
    assert (score.crm, score.record_id, score.fields) == ("hubspot", "777", {"lead_score": "10"})
    assert score.canonical == {"lead_score": 10.0}
    assert write.crm == "salesforce" and write.operation == "create" and write.object_name == "Lead"
    assert write.fields["Revloop_Id__c"] == "p9" and write.fields["HubSpot_Id__c"] == "777"
    assert write.fields["Company"] == "Acme" and write.fields["Lead_Score__c"] == 10.0


def test_create_without_required_fields_is_rejected_not_sent():
    pair = SyncPair(
        "p9", hubspot=hs({"email": "x@y.io", "lastname": "X", "revloop_id": "p9"}, record_id="777")
    )
    plan = plan_object("contact", CONTACT, [pair], {})
    assert plan.writes == []
    assert [(r.crm, r.field) for r in plan.rejections] == [("salesforce", "Company")]


def test_values_the_target_would_reject_are_reported_per_record_and_the_rest_still_goes():
    pairs = [
        SyncPair("p1", sf(person(Title="x" * 200), at=T0 + timedelta(hours=1)), hs(hs_person())),
        SyncPair(
            "p2",
            sf(person(Email="b@acme.io", Title="CTO"), record_id="003B", at=T0 + timedelta(hours=1)),
            hs(hs_person(email="b@acme.io", revloop_id="p2", salesforce_id="003B"), record_id="502"),
        ),
    ]
    for pair in pairs:
        pair.salesforce.values["Revloop_Id__c"] = pair.key  # type: ignore[index]
    pairs[1].salesforce.values["HubSpot_Id__c"] = "502"  # type: ignore[index]
    plan = plan_object("contact", CONTACT, pairs, {})
    assert [(w.record_id, w.fields) for w in plan.writes] == [("502", {"jobtitle": "CTO"})]
    assert [(r.key, r.field) for r in plan.rejections] == [("p1", "jobtitle")]


def test_picklist_translated_and_unknown_stage_rejected():
    opp = CrmRecord(
        "salesforce",
        "Opportunity",
        "006A",
        T0 + timedelta(hours=1),
        {"Name": "Deal", "StageName": "Closed Won", "Revloop_Id__c": "d1", "HubSpot_Id__c": "9"},
    )
    deal = CrmRecord(
        "hubspot",
        "deals",
        "9",
        T0,
        {"dealname": "Deal", "dealstage": "qualifiedtobuy", "revloop_id": "d1", "salesforce_id": "006A"},
    )
    [write] = plan_object("deal", DEAL, [SyncPair("d1", opp, deal)], {}).writes
    assert write.fields == {"dealstage": "closedwon"}


def test_dry_run_summary_counts_calls_against_batch_limits():
    pairs = [
        SyncPair(
            f"p{i}",
            hubspot=hs(hs_person(email=f"a{i}@x.io", company="X", revloop_id=f"p{i}"), record_id=str(i)),
        )
        for i in range(450)
    ]
    plan = plan_object("contact", CONTACT, pairs, {})
    summary = plan.summary()
    assert summary["counts"] == {"salesforce.create": 450}
    assert summary["api_calls"] == {"salesforce.Lead.create": 3}
    assert len(summary["sample_diffs"]) == 5


def test_rerun_before_the_next_ingestion_does_not_resend():
    # raw state predates revloop's write of score 55: the stale 40 must not trigger the same write again
    pair = SyncPair(
        "p1", sf(person(Lead_Score__c=40.0)), hs(hs_person(lead_score="55")), desired={"lead_score": 55}
    )
    written = {("salesforce", "003A", "Lead_Score__c"): Written(55.0, T0 + timedelta(minutes=1))}
    assert plan_object("contact", CONTACT, [pair], written).writes == []
    # but once the CRM changed the field after revloop's write, the desired value is sent again
    changed = SyncPair(
        "p1", sf(person(Lead_Score__c=40.0), at=T0 + timedelta(minutes=2)), pair.hubspot, pair.desired
    )
    [write] = plan_object("contact", CONTACT, [changed], written).writes
    assert write.fields == {"Lead_Score__c": 55.0}


def test_a_record_revloop_created_is_not_created_again_before_ingestion_shows_it():
    pair = SyncPair("p9", hubspot=hs(hs_person(company="Acme", revloop_id="p9"), record_id="777"))
    written = {("salesforce", "00Q9", "Revloop_Id__c"): Written("p9", T0)}
    assert [w.operation for w in plan_object("contact", CONTACT, [pair], written).writes] == []


def test_a_value_unique_in_the_target_and_held_by_another_record_is_rejected_before_sending():
    later = T0 + timedelta(hours=1)
    pairs = [
        # 501 has no e-mail yet (an identifier is filled, never replaced), but 502 holds the one it would get
        SyncPair("p1", sf(person(Email="bob@acme.io"), at=later), hs(hs_person(email=None))),
        SyncPair(
            "p2",
            sf(person(Email="bob@acme.io", Revloop_Id__c="p2", HubSpot_Id__c="502"), record_id="003B"),
            hs(hs_person(email="bob@acme.io", revloop_id="p2", salesforce_id="003B"), record_id="502"),
        ),
    ]
    plan = plan_object("contact", CONTACT, pairs, {})
    assert plan.writes == []
    assert [(r.record_id, r.field, r.reason) for r in plan.rejections] == [
        ("501", "email", "already held by record 502")
    ]


def test_a_key_moved_by_a_merge_is_released_in_an_earlier_phase_than_it_is_taken():
    from activation.plan import release_phases

    # after a merge contact 502 is the profile's primary record: it takes p1, which 501 holds and gives up
    pairs = [
        SyncPair("p1", None, hs(hs_person(email="ann.lee@acme.io", revloop_id=None), record_id="502")),
        SyncPair("p1:501", None, hs(hs_person(), record_id="501"), may_create=False),
    ]
    plan = plan_object("contact", CONTACT, pairs, {})
    phases = [[(w.record_id, w.fields["revloop_id"]) for w in phase] for phase in release_phases(plan.writes)]
    assert phases == [[("501", "p1:501")], [("502", "p1")]]
    assert plan.api_calls() == {"hubspot.contacts.update": 2}  # one call per phase
    # writes that move no key stay in one phase
    assert len(release_phases([w for w in plan.writes if w.record_id == "501"])) == 1


def test_an_opportunity_created_from_a_deal_gets_its_account_at_create_only():
    deal = DEAL.model_copy(
        update={"create_missing": DEAL.create_missing.model_copy(update={"salesforce": True})}
    )
    values = {"dealname": "Acme renewal", "dealstage": "appointmentscheduled", "closedate": "2026-12-01"}
    created = SyncPair(
        "deals:9", None, CrmRecord("hubspot", "deals", "9", T0, values), {"salesforce_account_id": "001A"}
    )
    [write] = [w for w in plan_object("deal", deal, [created], {}).writes if w.crm == "salesforce"]
    assert (write.operation, write.fields["AccountId"], write.fields["Name"]) == (
        "create",
        "001A",
        "Acme renewal",
    )
    existing = SyncPair(
        "deals:9",
        CrmRecord(
            "salesforce", "Opportunity", "006A", T0, {"Name": "Acme renewal", "Revloop_Id__c": "deals:9"}
        ),
        CrmRecord("hubspot", "deals", "9", T0, {**values, "salesforce_id": "006A", "revloop_id": "deals:9"}),
        {"salesforce_account_id": "001B"},
    )
    writes = plan_object("deal", deal, [existing], {}).writes
    assert not any("AccountId" in w.fields for w in writes)
