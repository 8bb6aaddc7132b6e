"""The HubSpot emulator driven by the real hubspot-api-client."""

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from hubspot.crm.associations.v4 import BatchInputPublicFetchAssociationsBatchRequest
from hubspot.crm.companies import SimplePublicObjectInputForCreate as CompanyCreate
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchInputSimplePublicObjectId,
    BatchReadInputSimplePublicObjectId,
    Filter,
    FilterGroup,
    PublicObjectSearchRequest,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.contacts.exceptions import ApiException as ContactsApiException
from hubspot.crm.deals.exceptions import ApiException as DealsApiException
from hubspot.crm.objects.tasks import SimplePublicObjectInputForCreate as TaskCreate
from hubspot.crm.owners.exceptions import ApiException as OwnersApiException
from hubspot.crm.properties import PropertyCreate
from hubspot.crm.properties.exceptions import ApiException as PropertiesApiException
from urllib3.util.retry import Retry

# Every API module of the client raises its own ApiException class.
ApiException = (ContactsApiException, DealsApiException, OwnersApiException, PropertiesApiException)
T0 = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


def _contacts(n: int, start: int = 0) -> list[dict]:
    return [
        {
            "properties": {"email": f"person{i}@example.com", "firstname": f"First{i}", "lastname": "Doe"},
            "createdAt": T0 + timedelta(minutes=i),
            "updatedAt": T0 + timedelta(minutes=i),
        }
        for i in range(start, start + n)
    ]


def _error(exc: ContactsApiException) -> dict:
    return json.loads(exc.body)


@pytest.fixture
def clocked(hs_sandbox) -> list[datetime]:
    """Drive the emulator clock from a list: tests move now[0]."""
    now = [T0]
    hs_sandbox.emulator.clock = lambda: now[0]
    return now


def test_list_pages_through_every_record_with_after_cursors(hs_sandbox, hs_client):
    hs_sandbox.emulator.seed("contacts", _contacts(25))
    archived = hs_sandbox.emulator.seed(
        "contacts", [{"properties": {"email": "gone@example.com"}, "archived": True}]
    )

    first = hs_client.crm.contacts.basic_api.get_page()
    assert len(first.results) == 10  # HubSpot's default page size
    assert set(first.results[0].properties) == {
        "email",
        "firstname",
        "lastname",
        "createdate",
        "lastmodifieddate",
        "hs_object_id",
    }
    assert first.paging.next.after and "after=" in first.paging.next.link

    seen, after = [], None
    while True:
        page = hs_client.crm.contacts.basic_api.get_page(
            limit=7, after=after, properties=["email", "nosuchprop"]
        )
        seen += [r.properties["email"] for r in page.results]
        assert all("nosuchprop" not in r.properties for r in page.results)
        if not page.paging:
            break
        after = page.paging.next.after
    assert seen == [f"person{i}@example.com" for i in range(25)]

    assert [r.properties["email"] for r in hs_client.crm.contacts.get_all()] == seen

    only_archived = hs_client.crm.contacts.basic_api.get_page(archived=True)
    assert [r.id for r in only_archived.results] == archived
    assert only_archived.results[0].archived is True

    with pytest.raises(ApiException) as exc:
        hs_client.crm.contacts.basic_api.get_page(limit=101)
    assert exc.value.status == 400 and _error(exc.value)["category"] == "VALIDATION_ERROR"


def test_get_by_id_by_email_and_object_type_id(hs_sandbox, hs_client):
    [contact_id] = hs_sandbox.emulator.seed("contacts", _contacts(1))
    basic = hs_client.crm.contacts.basic_api

    assert basic.get_by_id(contact_id).properties["email"] == "person0@example.com"
    by_email = basic.get_by_id("PERSON0@example.com", id_property="email", properties=["firstname"])
    assert by_email.id == contact_id
    assert by_email.properties["firstname"] == "First0"
    assert by_email.created_at == T0
    assert hs_client.crm.objects.basic_api.get_by_id("0-1", contact_id).id == contact_id

    with pytest.raises(ApiException) as exc:
        basic.get_by_id("999999")
    body = _error(exc.value)
    assert exc.value.status == 404
    assert body["status"] == "error" and body["category"] == "OBJECT_NOT_FOUND" and body["correlationId"]


def test_create_update_archive_keep_timestamps_and_reject_bad_writes(hs_sandbox, hs_client, clocked):
    basic = hs_client.crm.contacts.basic_api
    created = basic.create(
        SimplePublicObjectInputForCreate(properties={"email": "ann@example.com", "firstname": "Ann"})
    )
    assert created.properties["hs_object_id"] == created.id and created.id.isdigit()
    assert created.properties["createdate"] == "2026-01-05T09:30:00.000Z"

    clocked[0] = T0 + timedelta(hours=1, milliseconds=250)
    updated = basic.update(created.id, SimplePublicObjectInput(properties={"lastname": "Lee"}))
    assert updated.properties["lastname"] == "Lee"
    assert updated.updated_at == clocked[0] and updated.created_at == T0
    stored = hs_sandbox.emulator.records("contacts")[0]["properties"]
    assert stored["lastmodifieddate"] == stored["hs_lastmodifieddate"] == "2026-01-05T10:30:00.250Z"

    with pytest.raises(ApiException) as exc:
        basic.create(SimplePublicObjectInputForCreate(properties={"email": "ann@example.com"}))
    assert exc.value.status == 409
    assert _error(exc.value)["message"] == f"Contact already exists. Existing ID: {created.id}"

    with pytest.raises(ApiException) as exc:
        basic.update(created.id, SimplePublicObjectInput(properties={"favourite_colour": "red"}))
    assert exc.value.status == 400 and "PROPERTY_DOESNT_EXIST" in _error(exc.value)["message"]
    with pytest.raises(ApiException) as exc:
        basic.update(created.id, SimplePublicObjectInput(properties={"createdate": "2020-01-01"}))
    assert exc.value.status == 400 and "READ_ONLY_VALUE" in _error(exc.value)["message"]
    with pytest.raises(ApiException) as exc:
        basic.update(created.id, SimplePublicObjectInput(properties={"lifecyclestage": "wizard"}))
    assert "INVALID_OPTION" in _error(exc.value)["message"]

    history = basic.get_by_id(created.id, properties_with_history=["lastname", "firstname"])
    assert [v.value for v in history.properties_with_history["lastname"]] == ["Lee"]
    assert history.properties_with_history["firstname"][0].timestamp == T0

    basic.archive(created.id)
    with pytest.raises(ApiException) as exc:
        basic.get_by_id(created.id)
    assert exc.value.status == 404
    assert basic.get_by_id(created.id, archived=True).archived_at == clocked[0]
    assert hs_sandbox.emulator.records("contacts") == []
    # The e-mail is free again once its holder is archived.
    assert (
        basic.create(SimplePublicObjectInputForCreate(properties={"email": "ann@example.com"})).id
        != created.id
    )


def test_batch_operations_and_their_limits(hs_sandbox, hs_client):
    batch = hs_client.crm.contacts.batch_api
    created = batch.create(
        BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[{"properties": {"email": f"b{i}@example.com"}} for i in range(3)]
        )
    )
    assert created.status == "COMPLETE" and len(created.results) == 3
    ids = sorted(r.id for r in created.results)

    read = batch.read(
        BatchReadInputSimplePublicObjectId(
            inputs=[{"id": "b1@example.com"}, {"id": "missing@example.com"}],
            id_property="email",
            properties=["email"],
            properties_with_history=[],
        )
    )
    assert [r.properties["email"] for r in read.results] == ["b1@example.com"]
    assert read.num_errors == 1 and read.errors[0].category == "OBJECT_NOT_FOUND"

    updated = batch.update(
        BatchInputSimplePublicObjectBatchInput(inputs=[{"id": ids[0], "properties": {"firstname": "Zed"}}])
    )
    assert updated.results[0].properties["firstname"] == "Zed"

    upserted = batch.upsert(
        BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[
                {"id": "b2@example.com", "idProperty": "email", "properties": {"lastname": "Known"}},
                {"id": "new@example.com", "idProperty": "email", "properties": {"lastname": "Fresh"}},
            ]
        )
    )
    by_email = {r.properties["email"]: r for r in upserted.results}
    assert by_email["b2@example.com"].new is False and by_email["new@example.com"].new is True
    assert len(hs_sandbox.emulator.records("contacts")) == 4

    batch.archive(BatchInputSimplePublicObjectId(inputs=[{"id": ids[0]}, {"id": ids[1]}]))
    assert len(hs_sandbox.emulator.records("contacts", archived=True)) == 2

    with pytest.raises(ApiException) as exc:
        batch.create(
            BatchInputSimplePublicObjectBatchInputForCreate(
                inputs=[{"properties": {"email": f"x{i}@example.com"}} for i in range(101)]
            )
        )
    assert exc.value.status == 400 and _error(exc.value)["category"] == "VALIDATION_ERROR"
    with pytest.raises(ApiException) as exc:  # one bad input fails the whole create
        batch.create(
            BatchInputSimplePublicObjectBatchInputForCreate(
                inputs=[{"properties": {"email": "ok@example.com"}}, {"properties": {"bogus": "1"}}]
            )
        )
    assert exc.value.status == 400
    assert hs_sandbox.emulator.requests_to("/batch/create")[-1].status == 400
    assert len(hs_sandbox.emulator.records("contacts")) == 2


def _search(client, groups=None, **kwargs):
    request = PublicObjectSearchRequest(filter_groups=groups or [], **kwargs)
    return client.crm.deals.search_api.do_search(public_object_search_request=request)


def test_search_filters_sorts_numerically_and_temporally(hs_sandbox, hs_client):
    amounts = ["9", "10", "250.5", None, "1000"]
    hs_sandbox.emulator.seed(
        "deals",
        [
            {
                "properties": {
                    "dealname": f"Deal {i} acme renewal" if i % 2 else f"Deal {i}",
                    "amount": amount,
                    "dealstage": "closedwon" if i < 2 else "qualifiedtobuy",
                },
                "createdAt": T0,
                "updatedAt": T0 + timedelta(days=i),
            }
            for i, amount in enumerate(amounts)
        ],
    )
    hs_sandbox.emulator.seed(
        "deals", [{"properties": {"dealname": "archived", "amount": "5"}, "archived": True}]
    )

    def names(response):
        return [r.properties["dealname"].split()[1] for r in response.results]

    over_nine = _search(
        hs_client,
        [FilterGroup(filters=[Filter(property_name="amount", operator="GT", value="9")])],
        sorts=[{"propertyName": "amount", "direction": "DESCENDING"}],
        properties=["dealname"],
    )
    assert names(over_nine) == ["4", "2", "1"] and over_nine.total == 3
    cutoff = str(int((T0 + timedelta(days=2)).timestamp() * 1000))
    recent = _search(
        hs_client,
        [FilterGroup(filters=[Filter(property_name="hs_lastmodifieddate", operator="GTE", value=cutoff)])],
        properties=["dealname"],
    )
    assert names(recent) == ["2", "3", "4"]
    iso_between = _search(
        hs_client,
        [
            FilterGroup(
                filters=[
                    Filter(
                        property_name="hs_lastmodifieddate",
                        operator="BETWEEN",
                        value="2026-01-06T09:30:00Z",
                        high_value="2026-01-07T09:30:00.000Z",
                    )
                ]
            )
        ],
        properties=["dealname"],
    )
    assert names(iso_between) == ["1", "2"]
    either = _search(
        hs_client,
        [
            FilterGroup(filters=[Filter(property_name="dealstage", operator="IN", values=["closedwon"])]),
            FilterGroup(filters=[Filter(property_name="amount", operator="NOT_HAS_PROPERTY")]),
        ],
        properties=["dealname"],
    )
    assert names(either) == ["0", "1", "3"]
    token = _search(
        hs_client,
        [FilterGroup(filters=[Filter(property_name="dealname", operator="CONTAINS_TOKEN", value="acme")])],
        properties=["dealname"],
    )
    assert names(token) == ["1", "3"]
    assert names(_search(hs_client, query="renewal", properties=["dealname"])) == ["1", "3"]
    everything = _search(hs_client, properties=["dealname"], limit=2)
    assert everything.total == 5 and everything.paging.next.after == "2"  # archived deals never match
    assert names(_search(hs_client, properties=["dealname"], limit=2, after="4")) == ["4"]

    with pytest.raises(ApiException) as exc:
        _search(hs_client, limit=201)
    assert exc.value.status == 400
    with pytest.raises(ApiException) as exc:
        _search(hs_client, [FilterGroup(filters=[Filter(property_name="amout", operator="EQ", value="1")])])
    assert exc.value.status == 400 and "amout" in _error(exc.value)["message"]


def test_search_cap_refuses_paging_beyond_it(hs_sandbox, hs_client):
    emulator = hs_sandbox.emulator
    emulator.search_cap = 30
    emulator.seed("contacts", _contacts(45))
    search = hs_client.crm.contacts.search_api
    seen, after = [], None
    with pytest.raises(ApiException) as exc:
        while True:
            page = search.do_search(
                public_object_search_request=PublicObjectSearchRequest(limit=10, after=after)
            )
            seen += [r.id for r in page.results]
            after = page.paging.next.after
    assert len(seen) == 30 and page.total == 45
    assert exc.value.status == 400 and _error(exc.value)["category"] == "VALIDATION_ERROR"
    # The documented way round the cap: sort on the modification time and move the lower bound.
    last_modified = emulator.records("contacts")[29]["properties"]["lastmodifieddate"]
    rest = search.do_search(
        public_object_search_request=PublicObjectSearchRequest(
            limit=100,
            sorts=[{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
            filter_groups=[
                FilterGroup(
                    filters=[Filter(property_name="lastmodifieddate", operator="GT", value=last_modified)]
                )
            ],
        )
    )
    assert len(rest.results) == 15 and rest.paging is None
    assert set(seen).isdisjoint(r.id for r in rest.results)


def test_associations_v4_default_types_and_v3_read(hs_sandbox, hs_client):
    emulator = hs_sandbox.emulator
    [contact_id] = emulator.seed("contacts", _contacts(1))
    company = hs_client.crm.companies.basic_api.create(
        CompanyCreate(properties={"name": "Acme", "domain": "acme.com"})
    )
    [other_company] = emulator.seed("companies", [{"properties": {"name": "Other"}}])
    v4 = hs_client.crm.associations.v4

    made = v4.basic_api.create_default("contacts", contact_id, "companies", company.id)
    assert sorted(r.association_spec.association_type_id for r in made.results) == [1, 279]
    v4.basic_api.create_default(
        "contact", contact_id, "company", other_company
    )  # second company: not primary

    read = v4.batch_api.get_page(
        "contacts", "companies", BatchInputPublicFetchAssociationsBatchRequest(inputs=[{"id": contact_id}])
    )
    targets = {
        t.to_object_id: sorted((a.type_id, a.label) for a in t.association_types) for t in read.results[0].to
    }
    assert targets == {company.id: [(1, "Primary"), (279, None)], other_company: [(279, None)]}
    reverse = v4.batch_api.get_page(
        "companies", "contacts", BatchInputPublicFetchAssociationsBatchRequest(inputs=[{"id": company.id}])
    )
    assert sorted(a.type_id for a in reverse.results[0].to[0].association_types) == [2, 280]

    task = hs_client.crm.objects.tasks.basic_api.create(
        TaskCreate(
            properties={"hs_task_subject": "Call back", "hs_timestamp": "2026-01-06T10:00:00Z"},
            associations=[
                {
                    "to": {"id": contact_id},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 204}],
                }
            ],
        )
    )
    assert task.properties["hs_timestamp"] == "2026-01-06T10:00:00.000Z"
    from_contact = v4.batch_api.get_page(
        "0-1",
        "tasks",
        BatchInputPublicFetchAssociationsBatchRequest(inputs=[{"id": contact_id}, {"id": "424242"}]),
    )
    assert [t.to_object_id for t in from_contact.results[0].to] == [task.id]
    assert from_contact.results[0].to[0].association_types[0].type_id == 203
    assert from_contact.num_errors == 1

    v3 = hs_client.crm.associations.batch_api.read("contacts", "companies", {"inputs": [{"id": contact_id}]})
    assert {(t.id, t.type) for t in v3.results[0].to} == {
        (company.id, "contact_to_company"),
        (company.id, "contact_to_company_unlabeled"),
        (other_company, "contact_to_company_unlabeled"),
    }

    with_assoc = hs_client.crm.contacts.basic_api.get_by_id(contact_id, associations=["companies"])
    assert {a.id for a in with_assoc.associations["companies"].results} == {company.id, other_company}


def test_owners_list_filter_and_get(hs_sandbox, hs_client):
    hs_sandbox.emulator.seed_owners(
        [
            {
                "id": str(100 + i),
                "email": f"rep{i}@example.com",
                "firstName": f"Rep{i}",
                "lastName": "Sales",
                "userId": 900 + i,
                "teams": [{"id": "1", "name": "West", "primary": True}],
                "archived": i == 4,
            }
            for i in range(5)
        ]
    )
    owners = hs_client.crm.owners.owners_api
    first = owners.get_page(limit=3)
    assert [o.id for o in first.results] == ["100", "101", "102"]
    second = owners.get_page(limit=3, after=first.paging.next.after)
    assert [o.id for o in second.results] == ["103"] and second.paging is None
    assert [o.id for o in owners.get_page(email="REP2@example.com").results] == ["102"]
    assert [o.id for o in owners.get_page(archived=True).results] == ["104"]
    owner = owners.get_by_id(101)
    assert owner.email == "rep1@example.com" and owner.user_id == 901 and owner.teams[0].name == "West"
    assert owners.get_by_id(903, id_property="userId").id == "103"
    # hubspot_owner_id accepts only known owners, as the real portal does.
    basic = hs_client.crm.contacts.basic_api
    contact = basic.create(SimplePublicObjectInputForCreate(properties={"hubspot_owner_id": "101"}))
    assert contact.properties["hubspot_owner_id"] == "101"
    with pytest.raises(ApiException) as exc:
        basic.update(contact.id, SimplePublicObjectInput(properties={"hubspot_owner_id": "555"}))
    assert exc.value.status == 400


def test_properties_list_create_and_use(hs_sandbox, hs_client):
    core = hs_client.crm.properties.core_api
    listed = {p.name: p for p in core.get_all("contacts").results}
    assert (
        listed["email"].hubspot_defined is True and listed["createdate"].modification_metadata.read_only_value
    )
    assert listed["lifecyclestage"].type == "enumeration" and listed["lifecyclestage"].options

    made = core.create(
        "contacts",
        PropertyCreate(
            name="revloop_id",
            label="Revloop ID",
            type="string",
            field_type="text",
            group_name="revloop",
            has_unique_value=True,
        ),
    )
    assert made.name == "revloop_id" and made.hubspot_defined is False and made.label == "Revloop ID"
    assert core.get_by_name("contacts", "revloop_id").has_unique_value is True
    with pytest.raises(ApiException) as exc:
        core.create(
            "contacts",
            PropertyCreate(
                name="revloop_id", label="Again", type="string", field_type="text", group_name="revloop"
            ),
        )
    assert exc.value.status == 409

    batch = hs_client.crm.contacts.batch_api
    first = batch.upsert(
        BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[{"id": "rl-1", "idProperty": "revloop_id", "properties": {"email": "u@example.com"}}]
        )
    )
    again = batch.upsert(
        BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[{"id": "rl-1", "idProperty": "revloop_id", "properties": {"firstname": "Una"}}]
        )
    )
    assert first.results[0].new is True and again.results[0].new is False
    assert again.results[0].id == first.results[0].id


def test_auth_rate_limit_and_uri_length(hs_sandbox, hs_client):
    with pytest.raises(ApiException) as exc:
        hs_sandbox.client(access_token="wrong").crm.contacts.basic_api.get_page()
    body = _error(exc.value)
    assert exc.value.status == 401 and body["category"] == "INVALID_AUTHENTICATION"
    assert body["message"].startswith("Authentication credentials not found")

    # urllib3's default Retry, which the client uses, honours Retry-After on a 429: one limit hit is absorbed.
    hs_sandbox.emulator.faults.fail_next(429)
    assert hs_client.crm.contacts.basic_api.get_page().results == []
    assert [r.status for r in hs_sandbox.emulator.requests_to("/crm/v3/objects/contacts")] == [401, 429, 200]

    no_retry = hs_sandbox.client(retry=Retry(total=0, respect_retry_after_header=False))
    hs_sandbox.emulator.faults.fail_next(429)
    with pytest.raises(ApiException) as exc:
        no_retry.crm.contacts.basic_api.get_page()
    assert exc.value.status == 429 and int(exc.value.headers["Retry-After"]) >= 1
    assert _error(exc.value)["errorType"] == "RATE_LIMIT" and _error(exc.value)["policyName"] == "SECONDLY"

    hs_sandbox.emulator.faults.rate_limit = 2
    no_retry.crm.contacts.basic_api.get_page()
    no_retry.crm.contacts.basic_api.get_page()
    with pytest.raises(ApiException) as exc:
        no_retry.crm.contacts.basic_api.get_page()
    assert exc.value.status == 429 and 1 <= int(exc.value.headers["Retry-After"]) <= 10
    hs_sandbox.emulator.faults.rate_limit = None

    hs_sandbox.emulator.faults.fail_next(503)
    with pytest.raises(ApiException) as exc:
        no_retry.crm.contacts.basic_api.get_page()
    assert exc.value.status == 503 and _error(exc.value)["status"] == "error"

    with pytest.raises(ApiException) as exc:
        hs_client.crm.contacts.basic_api.get_page(properties=[f"custom_property_{i}" for i in range(600)])
    assert exc.value.status == 414
    # The same long list is fine in a POST body.
    read = hs_client.crm.contacts.batch_api.read(
        BatchReadInputSimplePublicObjectId(
            inputs=[], properties=[f"custom_property_{i}" for i in range(600)], properties_with_history=[]
        )
    )
    assert read.results == []


def test_search_over_fifty_thousand_records_is_fast(hs_sandbox, hs_client):
    hs_sandbox.emulator.seed("contacts", _contacts(50_000))
    cutoff = str(int((T0 + timedelta(minutes=20_000)).timestamp() * 1000))
    request = PublicObjectSearchRequest(
        limit=200,
        sorts=[{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
        filter_groups=[
            FilterGroup(filters=[Filter(property_name="lastmodifieddate", operator="GT", value=cutoff)])
        ],
    )
    started = time.perf_counter()
    first = hs_client.crm.contacts.search_api.do_search(public_object_search_request=request)
    first_page_s = time.perf_counter() - started
    request.after = first.paging.next.after
    started = time.perf_counter()
    second = hs_client.crm.contacts.search_api.do_search(public_object_search_request=request)
    next_page_s = time.perf_counter() - started
    assert first.total == 29_999
    assert first.results[0].properties["email"] == "person20001@example.com"
    assert second.results[0].properties["email"] == "person20201@example.com"
    assert first_page_s < 3 and next_page_s < 0.5, (first_page_s, next_page_s)
