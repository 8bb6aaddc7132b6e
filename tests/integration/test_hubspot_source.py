"""The HubSpot source through the real hubspot-api-client against the sandbox portal, into DuckDB."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import duckdb
import pytest
from hubspot.crm.contacts import SimplePublicObjectInput
from hubspot.crm.properties import PropertyCreate

from ingestion.hubspot import DATASET_NAME, PIPELINE_NAME, HubSpotConnection, hubspot_source
from ingestion.hubspot.records import epoch_ms
from ingestion.hubspot.settings import SEARCH_LOOKBACK_SECONDS
from ingestion.quarantine import Rejections, load_rejections
from revloop.warehouse import make_pipeline

# Seeded history ends well before "now", so the lookback window of a second run holds only new changes.
HISTORY_START = datetime(2026, 6, 1, 9, tzinfo=UTC)


def _connection(hs_sandbox) -> HubSpotConnection:
    return HubSpotConnection(hs_sandbox.token, hs_sandbox.url, str(hs_sandbox.ca_bundle))


def _run(hs_sandbox, warehouse, rejections: Rejections | None = None, full_reconciliation=False) -> str:
    """One pipeline run; returns its load id."""
    pipeline = make_pipeline(PIPELINE_NAME, DATASET_NAME, warehouse)
    source = hubspot_source(_connection(hs_sandbox), rejections=rejections,
                            full_reconciliation=full_reconciliation)
    info = pipeline.run(source)
    assert not info.has_failed_jobs
    return info.loads_ids[-1] if info.loads_ids else ""


def _query(warehouse, sql: str, *params) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def _seed_contacts(emulator, count: int, step=timedelta(minutes=30), start=HISTORY_START,
                   **extra) -> list[str]:
    records = [
        {
            "properties": {
                "email": f"person{i}@example.com", "firstname": f"First{i}", "lastname": f"Last{i}", **extra,
            },
            "createdAt": start + i * step - timedelta(days=30),
            "updatedAt": start + i * step,
        }
        for i in range(count)
    ]
    return emulator.seed("contacts", records)


def _seed_portal(emulator) -> dict[str, list[str]]:
    """A small portal: contacts, companies, deals, owners and the links between them."""
    contacts = _seed_contacts(emulator, 12)
    companies = emulator.seed("companies", [
        {"properties": {"name": f"Company {i}", "domain": f"company{i}.com", "annualrevenue": f"{i}000.5"},
         "updatedAt": HISTORY_START + timedelta(hours=i)}
        for i in range(4)
    ])
    deals = emulator.seed("deals", [
        {"properties": {"dealname": f"Deal {i}", "amount": f"{i}99.95", "dealstage": "qualifiedtobuy",
                        "closedate": "2026-09-30T00:00:00.000Z"},
         "updatedAt": HISTORY_START + timedelta(hours=i)}
        for i in range(3)
    ])
    emulator.seed_owners([
        {"id": "501", "email": "ann@revloop.dev", "firstName": "Ann", "lastName": "Lee", "userId": 9001,
         "teams": [{"id": "7", "name": "EMEA", "primary": True}]},
        {"id": "502", "email": "bob@revloop.dev", "firstName": "Bob", "lastName": "Ray", "userId": 9002,
         "archived": True},
    ])
    for i, contact in enumerate(contacts):
        emulator.seed_association("contacts", contact, "companies", companies[i % len(companies)])
    for i, deal in enumerate(deals):
        emulator.seed_association("deals", deal, "contacts", contacts[i])
        emulator.seed_association("deals", deal, "companies", companies[i])
    return {"contacts": contacts, "companies": companies, "deals": deals}


def _search_bodies(emulator, object_type: str, since: int = 0) -> list[dict]:
    return [json.loads(r.body) for r in emulator.requests_to(f"/crm/v3/objects/{object_type}/search")[since:]]


def test_second_run_fetches_only_changes_and_loads_no_duplicates(hs_sandbox, hs_client, warehouse):
    emulator = hs_sandbox.emulator
    ids = _seed_portal(emulator)
    before_first = epoch_ms(datetime.now(UTC))
    first_load = _run(hs_sandbox, warehouse)
    after_first = epoch_ms(datetime.now(UTC))
    assert _query(warehouse, "select count(*), count(distinct id) from raw_hubspot.contacts") == [(12, 12)]
    assert _query(warehouse, "select count(*) from raw_hubspot.companies") == [(4,)]
    assert _query(warehouse, "select count(*) from raw_hubspot.deals") == [(3,)]
    # The first run reads everything: no filter at all.
    assert _search_bodies(emulator, "contacts")[0]["filterGroups"] == []

    changed = ids["contacts"][3]
    hs_client.crm.contacts.basic_api.update(changed, SimplePublicObjectInput(properties={"jobtitle": "CTO"}))
    searches_before = len(_search_bodies(emulator, "contacts"))
    second_load = _run(hs_sandbox, warehouse)

    # The second run asks only for what changed since the first run's search began (less the lookback,
    # which covers the search index's lag): the history's newest records, months older, are not read again ...
    second = _search_bodies(emulator, "contacts", searches_before)
    [[[search_filter]]] = [[group["filters"] for group in b["filterGroups"]] for b in second]
    assert search_filter["propertyName"] == "lastmodifieddate" and search_filter["operator"] == "GTE"
    lookback_ms = SEARCH_LOOKBACK_SECONDS * 1000
    assert before_first - lookback_ms <= int(search_filter["value"]) <= after_first - lookback_ms
    # ... loads the changed contact and nothing else ...
    reloaded = {r[0] for r in _query(warehouse, "select id from raw_hubspot.contacts where _dlt_load_id = ?",
                                     second_load)}
    assert reloaded == {changed}
    assert _query(warehouse, "select count(*) from raw_hubspot.companies where _dlt_load_id <> ?",
                  first_load) == [(0,)]
    # ... and no duplicates, the update visible.
    assert _query(warehouse, "select count(*), count(distinct id) from raw_hubspot.contacts") == [(12, 12)]
    assert _query(warehouse, "select jobtitle from raw_hubspot.contacts where id = ?", changed) == [("CTO",)]
    assert _query(warehouse, "select count(*), count(distinct id) from raw_hubspot.owners") == [(2, 2)]


def test_typed_columns_owners_and_associations(hs_sandbox, warehouse):
    ids = _seed_portal(hs_sandbox.emulator)
    _run(hs_sandbox, warehouse)
    types = dict(_query(warehouse, "select column_name, data_type from information_schema.columns "
                                   "where table_schema = 'raw_hubspot' and table_name = 'deals'"))
    assert types["amount"].startswith("DECIMAL") and types["closedate"] == "TIMESTAMP WITH TIME ZONE"
    assert types["updated_at"] == "TIMESTAMP WITH TIME ZONE" and types["archived"] == "BOOLEAN"
    assert "hs_lastmodifieddate" in types and "hubspot_owner_id" in types  # empty properties get columns too
    assert _query(warehouse, "select amount from raw_hubspot.deals where id = ?", ids["deals"][2]) == [
        (Decimal("299.95"),)]
    owners = _query(warehouse, "select id, email, archived, teams from raw_hubspot.owners order by id")
    assert [(o[0], o[1], o[2]) for o in owners] == [("501", "ann@revloop.dev", False),
                                                    ("502", "bob@revloop.dev", True)]
    assert json.loads(owners[0][3])[0]["name"] == "EMEA"
    links = _query(warehouse, "select from_id, to_id from raw_hubspot.contact_company_associations "
                              "where association_label is null")
    assert sorted(links) == sorted((c, ids["companies"][i % 4]) for i, c in enumerate(ids["contacts"]))
    deal_links = _query(warehouse, "select from_id, to_type, to_id from raw_hubspot.deal_associations "
                                   "group by all order by all")
    expected = [(d, "companies", ids["companies"][i]) for i, d in enumerate(ids["deals"])]
    expected += [(d, "contacts", ids["contacts"][i]) for i, d in enumerate(ids["deals"])]
    assert deal_links == sorted(expected)
    # Only the records loaded by the run are asked for, in one batch per pair of object types.
    batch_reads = hs_sandbox.emulator.requests_to("/crm/v4/associations/", "POST")
    assert len(batch_reads) == 3
    assert {i["id"] for i in json.loads(batch_reads[0].body)["inputs"]} == set(ids["contacts"])


def test_removed_associations_go_when_their_record_is_read_again(hs_sandbox, hs_client, warehouse):
    ids = _seed_portal(hs_sandbox.emulator)
    _run(hs_sandbox, warehouse)
    contacts, companies = ids["contacts"], ids["companies"]
    associations = hs_client.crm.associations.v4.basic_api
    # One contact moves to another company, one loses its only company, one is archived.
    associations.archive("contacts", contacts[0], "companies", companies[0])
    associations.create_default("contacts", contacts[0], "companies", companies[1])
    associations.archive("contacts", contacts[1], "companies", companies[1])
    title = SimplePublicObjectInput(properties={"jobtitle": "VP"})
    for contact in contacts[:2]:
        hs_client.crm.contacts.basic_api.update(contact, title)
    hs_client.crm.contacts.basic_api.archive(contacts[2])
    _run(hs_sandbox, warehouse, full_reconciliation=True)  # archives are read by the reconciliation
    stored = _query(warehouse, "select from_id, to_id from raw_hubspot.contact_company_associations "
                               "group by all order by all")
    expected = [(contacts[0], companies[1])]
    expected += [(contact, companies[i % 4]) for i, contact in enumerate(contacts) if i > 2]
    assert stored == sorted(expected)
    assert _query(warehouse, "select count(*) from raw_hubspot.contact_company_associations "
                             "where is_removed or to_id = ''") == [(0,)]


def test_a_window_over_the_search_cap_is_split_and_every_record_loaded(hs_sandbox, warehouse):
    emulator = hs_sandbox.emulator
    emulator.search_cap = 50
    spread = _seed_contacts(emulator, 260, step=timedelta(seconds=7))
    # More records than the cap at one instant: only a walk by hs_object_id reaches them all.
    crowd = _seed_contacts(emulator, 70, step=timedelta(0), start=HISTORY_START + timedelta(days=1))
    _run(hs_sandbox, warehouse)
    loaded = {r[0] for r in _query(warehouse, "select id from raw_hubspot.contacts")}
    assert loaded == set(spread) | set(crowd)
    assert _query(warehouse, "select count(*) from raw_hubspot.contacts") == [(330,)]
    searches = [(r.status, json.loads(r.body)) for r in emulator.requests_to("/contacts/search")]
    # Keyset paging: every page a fresh query from the last time read, never an offset toward the cap.
    assert all(status == 200 and "after" not in body for status, body in searches)
    assert any("hs_object_id" in json.dumps(body["filterGroups"]) for _, body in searches)


def test_an_archive_shows_up_as_a_soft_delete(hs_sandbox, hs_client, warehouse):
    ids = _seed_portal(hs_sandbox.emulator)
    _run(hs_sandbox, warehouse)
    gone = ids["contacts"][5]
    hs_client.crm.contacts.basic_api.archive(gone)
    _run(hs_sandbox, warehouse)  # hourly: no cursor finds an archive (HubSpot has none for it)
    assert _query(warehouse, "select archived from raw_hubspot.contacts where id = ?", gone) == [(False,)]
    _run(hs_sandbox, warehouse, full_reconciliation=True)
    rows = _query(warehouse, "select archived, archived_at is not null, email from raw_hubspot.contacts "
                             "where id = ?", gone)
    assert rows == [(True, True, "person5@example.com")]  # the last known values stay
    counts = _query(warehouse, "select count(*), count(*) filter (where archived) from raw_hubspot.contacts")
    assert counts == [(12, 1)]
    # Archived ones are listed with a short property list in the URL and read in full by POST.
    listed = hs_sandbox.emulator.requests_to("/crm/v3/objects/contacts", "GET")
    assert listed and all("archived=true" in r.query.lower() and len(r.query) < 200 for r in listed)
    read = hs_sandbox.emulator.requests_to("/crm/v3/objects/contacts/batch/read", "POST")
    assert "archived=true" in read[-1].query.lower()
    assert [i["id"] for i in json.loads(read[-1].body)["inputs"]] == [gone]
    # The archive (stamped now) leaves the cursor where the search left it: at the newest live change.
    state = make_pipeline(PIPELINE_NAME, DATASET_NAME, warehouse).state["sources"]["hubspot"]["resources"]
    newest_seed = HISTORY_START + 11 * timedelta(minutes=30)
    assert state["contacts"]["incremental"]["updated_at"]["last_value"] == newest_seed


def test_a_custom_property_created_through_the_properties_api_is_loaded(hs_sandbox, hs_client, warehouse):
    ids = _seed_portal(hs_sandbox.emulator)
    _run(hs_sandbox, warehouse)
    core = hs_client.crm.properties.core_api
    core.create("contacts", PropertyCreate(name="churn_risk", label="Churn risk", type="number",
                                           field_type="number", group_name="contactinformation"))
    core.create("contacts", PropertyCreate(name="favourite_colour", label="Favourite colour", type="string",
                                           field_type="text", group_name="contactinformation"))
    contact = ids["contacts"][2]
    hs_client.crm.contacts.basic_api.update(
        contact, SimplePublicObjectInput(properties={"churn_risk": "0.125", "favourite_colour": "teal"}))
    _run(hs_sandbox, warehouse)
    assert _query(warehouse, "select churn_risk, favourite_colour from raw_hubspot.contacts where id = ?",
                  contact) == [(Decimal("0.125"), "teal")]
    types = dict(_query(warehouse, "select column_name, data_type from information_schema.columns "
                                   "where table_schema = 'raw_hubspot' and table_name = 'contacts'"))
    assert types["churn_risk"].startswith("DECIMAL")


def test_rate_limits_and_outages_are_survived_with_nothing_lost(hs_sandbox, warehouse):
    emulator = hs_sandbox.emulator
    ids = _seed_portal(emulator)
    emulator.faults.fail_next(429, 1, path_prefix="/crm/v3/objects/contacts/search")
    emulator.faults.fail_next(503, 2, path_prefix="/crm/v3/properties")
    emulator.faults.fail_next(503, 1, path_prefix="/crm/v4/associations")
    emulator.faults.fail_next(429, 1, path_prefix="/crm/v3/owners")
    _run(hs_sandbox, warehouse)
    statuses = [r.status for r in emulator.request_log]
    assert statuses.count(429) == 2 and statuses.count(503) == 3
    # The retry waited the Retry-After second the 429 asked for.
    throttled, retried = emulator.requests_to("/crm/v3/objects/contacts/search")[:2]
    assert (throttled.status, retried.status) == (429, 200) and retried.at - throttled.at >= 0.9
    assert {r[0] for r in _query(warehouse, "select id from raw_hubspot.contacts")} == set(ids["contacts"])
    assert _query(warehouse, "select count(*) from raw_hubspot.owners") == [(2,)]
    linked = _query(warehouse, "select count(distinct from_id) from raw_hubspot.contact_company_associations")
    assert linked == [(12,)]


def test_many_properties_never_reach_a_url(hs_sandbox, hs_client, warehouse):
    emulator = hs_sandbox.emulator
    names = [f"custom_property_with_a_rather_long_name_{i:03d}" for i in range(300)]
    for name in names:
        definition = {"name": name, "label": name, "type": "string", "fieldType": "text",
                      "groupName": "contactinformation"}
        emulator.properties.create("contacts", definition, "2026-01-01T00:00:00.000Z")
    ids = _seed_contacts(emulator, 5, **{name: "x" for name in names})
    hs_client.crm.contacts.basic_api.archive(ids[0])
    _run(hs_sandbox, warehouse)
    assert all(r.status != 414 and len(r.path) + len(r.query) < 2000 for r in emulator.request_log)
    rows = _query(warehouse, f"select count(*), count({names[-1]}), count(*) filter (where archived) "
                             "from raw_hubspot.contacts")
    assert rows == [(5, 5, 1)]


def test_unparsable_records_go_to_quarantine_and_the_rest_loads(hs_sandbox, warehouse):
    emulator = hs_sandbox.emulator
    good = emulator.seed("companies", [{"properties": {"name": "Fine", "annualrevenue": "10"}}])
    bad = emulator.seed("companies", [{"properties": {"name": "Broken", "annualrevenue": "a lot"}}])
    rejections = Rejections()
    _run(hs_sandbox, warehouse, rejections)
    assert [r[0] for r in _query(warehouse, "select id from raw_hubspot.companies")] == good
    assert load_rejections(rejections, warehouse) == 1
    rows = _query(warehouse, "select source, record_id, reason, payload from quarantine.rejected_records")
    assert [(s, i) for s, i, _, _ in rows] == [("hubspot.companies", bad[0])]
    assert "annualrevenue" in rows[0][2] and "a lot" in rows[0][3]


def test_building_the_source_sends_no_request(hs_sandbox):
    source = hubspot_source(_connection(hs_sandbox))
    assert set(source.resources) == {
        "contacts", "companies", "deals", "owners", "contact_company_associations", "deal_associations",
        "contact_merges", "company_merges", "deal_merges"}
    assert hs_sandbox.emulator.request_log == []


def test_a_wrong_token_fails_clearly_without_showing_it(hs_sandbox, warehouse):
    connection = HubSpotConnection("not-the-token", hs_sandbox.url, str(hs_sandbox.ca_bundle))
    pipeline = make_pipeline(PIPELINE_NAME, DATASET_NAME, warehouse)
    with pytest.raises(Exception, match="401") as failure:
        pipeline.run(hubspot_source(connection))
    assert "not-the-token" not in str(failure.value)


def test_missing_token_means_no_connection(monkeypatch, hs_sandbox):
    monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN", raising=False)
    monkeypatch.setenv("HUBSPOT_BASE_URL", hs_sandbox.url)
    assert HubSpotConnection.from_env() is None
    with pytest.raises(ValueError, match="HUBSPOT_ACCESS_TOKEN"):
        hubspot_source(HubSpotConnection.from_env())
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", hs_sandbox.token)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(hs_sandbox.ca_bundle))
    connection = HubSpotConnection.from_env()
    assert connection.base_url == hs_sandbox.url and hs_sandbox.token not in repr(connection)
