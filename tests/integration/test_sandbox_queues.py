"""Salesforce queues in the sandbox as the REST API serves them: Group (Type Queue), QueueSobject and
GroupMember; a queue owns a Lead only when it supports Lead, and never a Contact."""

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from tests.fixtures.salesforce import salesforce_client


def test_a_lead_queue_owns_leads_but_not_contacts(sf_sandbox_factory):
    box = sf_sandbox_factory()
    (user,) = box.emulator.seed(
        "User", [{"Username": "ann@x.io.sb", "LastName": "Ann", "Email": "ann@x.io", "IsActive": True}]
    )
    queue, group = box.emulator.seed(
        "Group",
        [
            {"Name": "Inbound Sales", "DeveloperName": "Inbound_Sales", "Type": "Queue", "Email": "in@x.io"},
            {"Name": "Everyone", "DeveloperName": "Everyone", "Type": "Regular"},
        ],
    )
    box.emulator.seed("QueueSobject", [{"QueueId": queue, "SobjectType": "Lead"}])
    box.emulator.seed("GroupMember", [{"GroupId": queue, "UserOrGroupId": user}])
    (lead,) = box.emulator.seed("Lead", [{"LastName": "Lee", "Company": "Acme"}])
    (contact,) = box.emulator.seed("Contact", [{"LastName": "Con"}])
    sf = salesforce_client(box)

    rows = sf.query("SELECT Id, Name, DeveloperName, Email FROM Group WHERE Type = 'Queue'")["records"]
    assert [(r["Id"], r["DeveloperName"], r["Email"]) for r in rows] == [(queue, "Inbound_Sales", "in@x.io")]
    supported = sf.query(f"SELECT SobjectType FROM QueueSobject WHERE QueueId = '{queue}'")["records"]
    assert [r["SobjectType"] for r in supported] == ["Lead"]
    members = sf.query(f"SELECT UserOrGroupId FROM GroupMember WHERE GroupId = '{queue}'")["records"]
    assert [r["UserOrGroupId"] for r in members] == [user]
    owner = {f["name"]: f for f in sf.Lead.describe()["fields"]}["OwnerId"]
    assert owner["referenceTo"] == ["Group", "User"]

    sf.Lead.update(lead, {"OwnerId": queue})
    assert sf.Lead.get(lead)["OwnerId"] == queue
    for obj, record, owner_id in (("Contact", contact, queue), ("Lead", lead, group)):
        with pytest.raises(SalesforceMalformedRequest) as error:
            getattr(sf, obj).update(record, {"OwnerId": owner_id})
        assert error.value.content[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
