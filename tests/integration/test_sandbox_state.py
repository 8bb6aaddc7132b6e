"""The sandbox keeps its CRMs across restarts (issue 21): save and restore through the real clients, the
`revloop-sandbox` start-up (kept, --reset, a kill), a damaged state file, and a warehouse that no longer
matches its sandbox."""

import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from hubspot import HubSpot
from hubspot.crm.properties import PropertyCreate
from simple_salesforce import Salesforce

from sandbox.runner import Sandbox
from sandbox.salesforce.ids import make_id
from sandbox.state import (
    SandboxStateError,
    StateKeeper,
    WorldStamp,
    load_state,
    restore_state,
    save_state,
    state_path,
)
from sandbox.warehouse_check import check_warehouse
from sandbox.world import generate_world
from tests.fixtures.salesforce import trusting_session

PEOPLE = 40
SF_OBJECTS = ("Lead", "Contact", "Account", "Opportunity", "Task", "User", "OpportunityContactRole")
HS_OBJECTS = ("contacts", "companies", "deals", "tasks")


def _clients(sandbox: Sandbox) -> tuple[Salesforce, HubSpot]:
    sf = Salesforce(
        instance_url=sandbox.salesforce.url, session_id="sandbox-token", version="54.0",
        session=trusting_session(sandbox.tls.ca_bundle),
    )
    hs = HubSpot(access_token="sandbox-token", host=sandbox.hubspot.url, ssl_ca_cert=str(sandbox.tls.ca_cert))
    return sf, hs


def _everything(sandbox: Sandbox) -> dict:
    salesforce, hubspot = sandbox.salesforce.app, sandbox.hubspot.app
    return {
        "salesforce": {name: salesforce.records(name, include_deleted=True) for name in SF_OBJECTS},
        "purged": salesforce.purged,
        "hubspot": {name: (hubspot.records(name), hubspot.records(name, True)) for name in HS_OBJECTS},
        "owners": hubspot.owners,
    }


def test_a_restored_sandbox_holds_every_write_and_carries_on(tmp_path: Path):
    world = generate_world(people=PEOPLE, seed=3)
    first = Sandbox.start(tmp_path / "first", world)
    try:
        sf, hs = _clients(first)
        contact_id = sf.Contact.create({"LastName": "Kept", "Email": "kept@example.com"})["id"]
        lead_id = world.salesforce["Lead"][0]["Id"]
        sf.Lead.update(lead_id, {"Company": "Renamed Ltd"})
        account_id = world.salesforce["Account"][0]["Id"]
        sf.Account.delete(account_id)
        first.salesforce.app.purge("Account", [account_id])
        hs.crm.properties.core_api.create(
            "contacts",
            PropertyCreate(name="revloop_kept", label="Kept", type="string", field_type="text",
                           group_name="contactinformation"),
        )
        hs_contact = hs.crm.contacts.basic_api.create(
            {"properties": {"email": "kept@example.com", "revloop_kept": "yes"}}
        )
        company_id = world.hubspot["companies"][0]["id"]
        first.hubspot.app.seed_association("contacts", hs_contact.id, "companies", company_id)
        before = _everything(first)
        save_state(tmp_path / "state.pickle", WorldStamp.new(3, PEOPLE), first)
    finally:
        first.stop()

    second = Sandbox.start(tmp_path / "second")
    try:
        restore_state(load_state(tmp_path / "state.pickle"), second)
        assert _everything(second) == before
        sf, hs = _clients(second)
        assert sf.Contact.get(contact_id)["Email"] == "kept@example.com"
        assert sf.Lead.get(lead_id)["Company"] == "Renamed Ltd"
        assert sf.query_all(f"select Id from Account where Id = '{account_id}'")["totalSize"] == 0
        kept = hs.crm.contacts.basic_api.get_by_id(hs_contact.id, properties=["revloop_kept"])
        assert kept.properties["revloop_kept"] == "yes"
        associated = hs.crm.associations.v4.basic_api.get_page("contacts", hs_contact.id, "companies")
        assert [a.to_object_id for a in associated.results] == [company_id]
        # the id counters and unique indexes came back too: new ids are new, a taken e-mail is refused
        new_contact = sf.Contact.create({"LastName": "Next"})["id"]
        assert new_contact not in {r["Id"] for r in before["salesforce"]["Contact"]}
        hs_ids = {r["id"] for r in before["hubspot"]["contacts"][0]}
        next_contact = hs.crm.contacts.basic_api.create({"properties": {"email": "next@example.com"}})
        assert next_contact.id not in hs_ids
        with pytest.raises(Exception, match="409|already exists"):
            hs.crm.contacts.basic_api.create({"properties": {"email": "KEPT@example.com"}})
    finally:
        second.stop()


def test_the_state_file_is_replaced_whole_or_not_at_all(tmp_path: Path, monkeypatch):
    sandbox = Sandbox.start(tmp_path / "box", generate_world(people=PEOPLE, seed=3))
    path = tmp_path / "state.pickle"
    try:
        stamp = WorldStamp.new(3, PEOPLE)
        save_state(path, stamp, sandbox)
        saved = path.read_bytes()
        _clients(sandbox)[0].Contact.create({"LastName": "Lost"})

        def torn(body, out, protocol):  # a write that dies halfway (disk full, kill)
            out.write(pickle.dumps(body, protocol=protocol)[:1000])
            raise OSError("No space left on device")

        monkeypatch.setattr(pickle, "dump", torn)
        with pytest.raises(OSError):
            save_state(path, stamp, sandbox)
    finally:
        sandbox.stop()
    assert path.read_bytes() == saved
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []
    assert load_state(path).world == stamp


def test_a_damaged_or_foreign_state_file_is_refused_with_advice(tmp_path: Path):
    damaged = tmp_path / "damaged.pickle"
    damaged.write_bytes(b"\x80\x05garbage")
    with pytest.raises(SandboxStateError, match="--reset"):
        load_state(damaged)
    # code hidden in a state file is never run: only plain data is read back
    marker = tmp_path / "ran"
    hostile = tmp_path / "hostile.pickle"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    hostile.write_bytes(pickle.dumps({"format": 1, "world": Payload()}))
    with pytest.raises(SandboxStateError, match="not sandbox data"):
        load_state(hostile)
    assert not marker.exists()
    other = tmp_path / "other.pickle"
    other.write_bytes(pickle.dumps({"format": 99}))
    with pytest.raises(SandboxStateError, match="format 99"):
        load_state(other)


def test_the_keeper_saves_after_writes_only(tmp_path: Path):
    sandbox = Sandbox.start(tmp_path / "box", generate_world(people=PEOPLE, seed=3))
    path = tmp_path / "state.pickle"
    try:
        keeper = StateKeeper(path, WorldStamp.new(3, PEOPLE), sandbox)
        sf, hs = _clients(sandbox)
        sf.query("select Id from Contact")
        hs.crm.contacts.search_api.do_search(public_object_search_request={"filterGroups": [], "limit": 1})
        assert not keeper.save_if_changed() and not path.exists()  # reads change nothing
        contact_id = sf.Contact.create({"LastName": "Saved"})["id"]
        assert keeper.save_if_changed()
        assert not keeper.save_if_changed()
    finally:
        sandbox.stop()
    contacts = load_state(path).salesforce["tables"]["Contact"]["records"]
    assert contact_id in contacts


# `revloop-sandbox` end to end: a command run inside the sandbox writes or checks a Contact.
CLIENT = """
import os, sys
from simple_salesforce import Salesforce
sf = Salesforce(instance_url=os.environ["SALESFORCE_INSTANCE_URL"],
                session_id=os.environ["SALESFORCE_ACCESS_TOKEN"], version="54.0")
action, file = sys.argv[1], sys.argv[2]
if action == "create":
    open(file, "w").write(sf.Contact.create({"LastName": "Kept"})["id"])
else:
    found = sf.query(f"select Id from Contact where Id = '{open(file).read()}'")["totalSize"]
    sys.exit(0 if found else 3)
"""


def _sandbox_cli(folder: Path, *args: str, command: list[str] | None = None, **popen) -> list[str]:
    return [
        sys.executable, "-m", "sandbox.cli", "--people", str(PEOPLE), "--dir", str(folder / "sandbox"),
        "--events-dir", str(folder / "events"), "--sf-port", "0", "--hs-port", "0", *args,
        *(["--", *command] if command else []),
    ]


def _run(folder: Path, *args: str, command: list[str] | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "WAREHOUSE_PATH": str(folder / "warehouse.duckdb")}
    return subprocess.run(
        _sandbox_cli(folder, *args, command=command), env=env, capture_output=True, text=True, timeout=120
    )


def _client(folder: Path, action: str) -> list[str]:
    script = folder / "client.py"
    script.write_text(CLIENT)
    return [sys.executable, str(script), action, str(folder / "contact_id")]


def _sync_log(warehouse: Path, *record_ids: str) -> None:
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema if not exists activation")
        con.execute(
            "create table if not exists activation.sync_log "
            "(crm varchar, crm_object varchar, record_id varchar, status varchar)"
        )
        for record_id in record_ids:
            con.execute("insert into activation.sync_log values ('salesforce', 'Contact', ?, 'created')",
                        [record_id])


def test_the_cli_keeps_the_sandbox_across_restarts_and_reset_starts_over(tmp_path: Path):
    created = _run(tmp_path, command=_client(tmp_path, "create"))
    assert created.returncode == 0, created.stderr
    assert (tmp_path / ".warehouse.state" / "sandbox.pickle").is_file()
    kept = _run(tmp_path, "--people", "41", command=_client(tmp_path, "check"))
    assert kept.returncode == 0, kept.stdout + kept.stderr
    assert "sandbox restored from" in kept.stdout and "--people 41 ignored" in kept.stdout
    # a warehouse whose sync_log names the created Contact matches the kept sandbox
    _sync_log(tmp_path / "warehouse.duckdb", (tmp_path / "contact_id").read_text())
    assert _run(tmp_path, command=_client(tmp_path, "check")).returncode == 0
    # --reset: a new world without that Contact, and the warehouse that remembers it is refused
    ran = tmp_path / "ran"
    reset = _run(tmp_path, "--reset", command=[sys.executable, "-c", f"open({str(ran)!r}, 'w')"])
    assert reset.returncode == 2
    assert "activation.sync_log says revloop created or updated 1 salesforce records" in reset.stderr
    assert "make dev RESET=1" in reset.stderr
    assert not ran.exists()
    forced = _run(tmp_path, "--no-check", command=_client(tmp_path, "check"))
    assert forced.returncode == 3  # started anyway; the Contact is gone


def test_a_write_survives_a_kill_of_the_sandbox(tmp_path: Path):
    env = {**os.environ, "WAREHOUSE_PATH": str(tmp_path / "warehouse.duckdb")}
    state = state_path(tmp_path / "warehouse.duckdb")
    process = subprocess.Popen(_sandbox_cli(tmp_path), env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert "serving" in process.stdout.readline() + process.stdout.readline()
        variables = dict(
            line.split("=", 1) for line in (tmp_path / "sandbox" / "sandbox.env").read_text().splitlines()
        )
        sf = Salesforce(
            instance_url=variables["SALESFORCE_INSTANCE_URL"], session_id="sandbox-token", version="54.0",
            session=trusting_session(Path(variables["REQUESTS_CA_BUNDLE"])),
        )
        saved = state.stat().st_mtime_ns
        contact_id = sf.Contact.create({"LastName": "Survivor"})["id"]
        deadline = time.monotonic() + 20
        while state.stat().st_mtime_ns == saved and time.monotonic() < deadline:
            time.sleep(0.1)
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    (tmp_path / "contact_id").write_text(contact_id)
    restarted = _run(tmp_path, command=_client(tmp_path, "check"))
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr


def test_ingested_ids_unknown_to_the_sandbox_are_a_mismatch(tmp_path: Path):
    world = generate_world(people=PEOPLE, seed=3)
    sandbox = Sandbox.start(tmp_path / "box", world)
    warehouse = tmp_path / "warehouse.duckdb"
    try:
        with duckdb.connect(str(warehouse)) as con:
            con.execute("create schema raw_salesforce")
            con.execute("create table raw_salesforce.contact (id varchar)")
            con.executemany("insert into raw_salesforce.contact values (?)",
                            [[c["Id"]] for c in world.salesforce["Contact"]])
            con.execute("create schema raw_hubspot")
            con.execute("create table raw_hubspot.contacts (id bigint)")
            con.executemany("insert into raw_hubspot.contacts values (?)",
                            [[int(c["id"])] for c in world.hubspot["contacts"]])
        check = check_warehouse(warehouse, sandbox)
        assert check.matches and check.ingested_total == len(world.salesforce["Contact"]) + len(
            world.hubspot["contacts"]
        )
        foreign = make_id("003", 99_999)  # a Contact id of a larger world
        with duckdb.connect(str(warehouse)) as con:
            con.execute("insert into raw_hubspot.contacts values (999999)")
            con.execute("insert into raw_salesforce.contact values (?)", [foreign])
        check = check_warehouse(warehouse, sandbox)
        assert check.ingested_missing == {"salesforce": [foreign], "hubspot": ["999999"]}
        assert "ingested hubspot record ids are unknown" in check.message(tmp_path / "state.pickle")
    finally:
        sandbox.stop()
