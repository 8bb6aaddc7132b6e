"""Who revloop is in Salesforce: the sandbox stamps each change with its session's user, as Salesforce does,
and revloop learns its own user id from UserInfo (or Connect REST API's users/me)."""

from dataclasses import replace

from revloop.salesforce_user import integration_user_id, made_by
from sandbox.salesforce.store import INTEGRATION_USER_ID
from tests.fixtures.salesforce import salesforce_client


def test_each_session_stamps_its_own_user_on_what_it_creates_and_changes(sf_sandbox, sf_client):
    rep_id = sf_sandbox.emulator.add_user("rep@acme.io", "rep-token", "Rep")
    rep = salesforce_client(replace(sf_sandbox, token="rep-token"))
    lead_id = sf_client.Lead.create({"LastName": "Lee", "Company": "Acme"})["id"]
    [lead] = sf_sandbox.emulator.records("Lead")
    assert (lead["CreatedById"], lead["LastModifiedById"]) == (INTEGRATION_USER_ID, INTEGRATION_USER_ID)

    rep.Lead.update(lead_id, {"Title": "CEO"})
    queried = sf_client.query(f"SELECT LastModifiedById, CreatedById FROM Lead WHERE Id = '{lead_id}'")
    [row] = queried["records"]
    assert (row["LastModifiedById"], row["CreatedById"]) == (rep_id, INTEGRATION_USER_ID)
    assert made_by(row["LastModifiedById"], rep_id) and not made_by(
        row["LastModifiedById"], INTEGRATION_USER_ID
    )

    sf_client.Lead.update(lead_id, {"Title": "CTO"})
    assert sf_sandbox.emulator.records("Lead")[0]["LastModifiedById"] == INTEGRATION_USER_ID


def test_userinfo_names_the_sessions_user(sf_sandbox, sf_client):
    rep_id = sf_sandbox.emulator.add_user("rep@acme.io", "rep-token", "Rep")
    info = sf_client.oauth2("userinfo")
    assert (
        info["user_id"] == INTEGRATION_USER_ID and info["preferred_username"] == "integration@revloop.sandbox"
    )
    assert info["sub"].endswith(f"/id/{info['organization_id']}/{INTEGRATION_USER_ID}")
    assert integration_user_id(sf_client) == INTEGRATION_USER_ID
    assert integration_user_id(salesforce_client(replace(sf_sandbox, token="rep-token"))) == rep_id


def test_without_userinfo_the_user_comes_from_chatter_users_me_and_else_is_unknown(sf_sandbox, sf_client):
    sf_sandbox.emulator.faults.fail_next(403, 1, "/services/oauth2/userinfo")  # e.g. a token without openid
    assert integration_user_id(sf_client) == INTEGRATION_USER_ID
    paths = [r.path for r in sf_sandbox.emulator.request_log]
    assert paths == ["/services/oauth2/userinfo", "/services/data/v54.0/chatter/users/me"]

    sf_sandbox.emulator.faults.fail_next(403, 1, "/services/oauth2/userinfo")
    sf_sandbox.emulator.faults.fail_next(403, 1, "/services/data/v54.0/chatter")
    assert integration_user_id(sf_client) is None
    bad = salesforce_client(replace(sf_sandbox, token="revoked"))
    assert integration_user_id(bad) is None
