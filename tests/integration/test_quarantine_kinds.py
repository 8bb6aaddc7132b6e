"""Every kind of bad input the pipeline knows (events, Salesforce, HubSpot) is quarantined exactly once."""

import gzip
import json

import duckdb

from ingestion.events import events_source
from ingestion.hubspot import _flatten, _rejecter
from ingestion.hubspot.records import flatten_associations, flatten_object, flatten_owner
from ingestion.quarantine import Rejections, load_rejections
from ingestion.salesforce.records import typed_records
from revloop.warehouse import make_pipeline

GOOD = {
    "type": "track", "event": "Demo Requested", "messageId": "good-1", "userId": "u-1",
    "timestamp": "2026-03-01T10:00:00Z", "properties": {"path": "/pricing"},
    "context": {"ip": "10.0.0.1", "userAgent": "UA/1", "traits": {"email": "a@x.io"}, "device": {"id": "d1"}},
}


def msg(number: int, **changes) -> str:
    """GOOD with its own messageId, changed by `changes` (None removes a key); nested keys as 'a.b'."""
    message = json.loads(json.dumps(GOOD))
    message["messageId"] = f"m-{number}"
    for key, value in changes.items():
        target, *path = key.split(".")
        holder = message
        for part in [target, *path][:-1]:
            holder = holder.setdefault(part, {})
        if value is None:
            holder.pop([target, *path][-1], None)
        else:
            holder[[target, *path][-1]] = value
    return json.dumps(message)


# (kind, line, what the reason says): one line of website/bad.jsonl each.
EVENT_LINE_KINDS = [
    ("invalid JSON", "{broken", "invalid JSON"),
    ("JSON array", "[1, 2]", "not a JSON object but a JSON array"),
    ("JSON string", '"text"', "not a JSON object but a JSON string"),
    ("JSON number", "42", "not a JSON object but a JSON number"),
    ("JSON boolean", "true", "not a JSON object but a JSON boolean"),
    ("JSON null", "null", "not a JSON object but a JSON null"),
    ("missing type", msg(1, type=None), "missing type"),
    ("unknown type", msg(2, type="click"), "unknown type 'click'"),
    ("missing messageId", msg(3, messageId=None), "missing messageId"),
    ("missing timestamp", msg(4, timestamp=None), "missing timestamp"),
    ("unparseable timestamp", msg(5, timestamp="yesterday"), "unparseable timestamp 'yesterday'"),
    ("alias without previousId", msg(6, type="alias", event=None), "alias message without previousId"),
    ("alias without userId", msg(7, type="alias", userId=None, anonymousId="a", previousId="p"),
     "alias message without userId"),
    ("no user or anonymous id", msg(8, userId=None), "track message without userId or anonymousId"),
    ("track without event", msg(9, event=None), "track message without event"),
    ("group without groupId", msg(10, type="group", event=None), "group message without groupId"),
    ("type not a string", msg(11, type=7), "type is a number, not a string"),
    ("messageId not a string", msg(12, messageId=123), "messageId is a number, not a string"),
    ("event not a string", msg(13, event=["a"]), "event is an array, not a string"),
    ("name not a string", msg(14, name={"n": 1}), "name is an object, not a string"),
    ("userId not a string", msg(15, userId=42), "userId is a number, not a string"),
    ("anonymousId not a string", msg(16, anonymousId=True), "anonymousId is a boolean, not a string"),
    ("groupId not a string", msg(17, groupId=5), "groupId is a number, not a string"),
    ("previousId not a string", msg(18, previousId={"x": 1}), "previousId is an object, not a string"),
    ("timestamp not a string", msg(19, timestamp=1767225600), "timestamp is a number, not a string"),
    ("originalTimestamp not a string", msg(20, originalTimestamp=1),
     "originalTimestamp is a number, not a string"),
    ("sentAt not a string", msg(21, sentAt=False), "sentAt is a boolean, not a string"),
    ("receivedAt not a string", msg(22, receivedAt=[1]), "receivedAt is an array, not a string"),
    ("properties not an object", msg(23, properties="text"), "properties is a string, not an object"),
    ("traits not an object", msg(24, traits=[1]), "traits is an array, not an object"),
    ("context not an object", msg(25, context=3), "context is a number, not an object"),
    ("integrations not an object", msg(26, integrations="all"), "integrations is a string, not an object"),
    ("context.ip not a string", msg(27, **{"context.ip": 10}), "context.ip is a number, not a string"),
    ("context.userAgent not a string", msg(28, **{"context.userAgent": {"a": 1}}),
     "context.userAgent is an object, not a string"),
    ("context.traits not an object", msg(29, **{"context.traits": "x"}),
     "context.traits is a string, not an object"),
    ("context.traits.email not a string", msg(30, **{"context.traits.email": 5}),
     "context.traits.email is a number, not a string"),
    ("context.traits.phone not a string", msg(31, **{"context.traits.phone": [1]}),
     "context.traits.phone is an array, not a string"),
    ("context.device not an object", msg(32, **{"context.device": "d"}),
     "context.device is a string, not an object"),
    ("context.device.id not a string", msg(33, **{"context.device.id": 9}),
     "context.device.id is a number, not a string"),
    ("traits.email not a string", msg(34, traits={"email": True}), "traits.email is a boolean, not a string"),
    ("traits.phone not a string", msg(35, traits={"phone": 5551234}),
     "traits.phone is a number, not a string"),
    ("unparseable originalTimestamp", msg(36, originalTimestamp="soon"),
     "unparseable originalTimestamp 'soon'"),
    ("unparseable sentAt", msg(37, sentAt="2026-13-45"), "unparseable sentAt '2026-13-45'"),
    ("unparseable receivedAt", msg(38, receivedAt="later"), "unparseable receivedAt 'later'"),
]
NOT_UTF8_LINE = b'{"type": "track", "caf\xe9": 1}'


def write_event_files(root) -> dict[str, str]:
    """Every kind of bad event input under root/website; returns record_id -> what its reason says."""
    folder = root / "website"
    folder.mkdir(parents=True)
    lines = [json.dumps(GOOD).encode()] + [line.encode() for _, line, _ in EVENT_LINE_KINDS] + [NOT_UTF8_LINE]
    (folder / "bad.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))
    expected = {f"website/bad.jsonl:{n}": reason for n, (_, _, reason) in enumerate(EVENT_LINE_KINDS, 2)}
    expected[f"website/bad.jsonl:{len(lines)}"] = "not UTF-8 text"
    # A file still being written: its last line has no newline yet.
    (folder / "open.jsonl").write_text(json.dumps({**GOOD, "messageId": "o-1"}) + "\n" + '{"type": "tr')
    expected["website/open.jsonl:2"] = "invalid JSON (last line, with no newline at its end"
    (folder / "plain.jsonl.gz").write_text(json.dumps(GOOD) + "\n")
    expected["website/plain.jsonl.gz"] = "not a gzip file"
    whole = gzip.compress(((json.dumps({**GOOD, "messageId": "t-1"}) + "\n") * 2000).encode())
    (folder / "truncated.jsonl.gz").write_bytes(whole[: len(whole) // 2])
    expected["website/truncated.jsonl.gz"] = "truncated gzip file"
    corrupt = bytearray(gzip.compress(b"".join(line + b"\n" for line in lines[:1]) * 50))
    corrupt[20:40] = b"\xff" * 20
    (folder / "corrupt.jsonl.gz").write_bytes(bytes(corrupt))
    expected["website/corrupt.jsonl.gz"] = "corrupt gzip data"
    (folder / "table.jsonl").write_text("id,name\n1,Ada\n2,Grace\n")
    expected["website/table.jsonl"] = "not a newline-delimited JSON file"
    return expected


# (kind, describe type, value, what the reason says): one Lead each.
SALESFORCE_KINDS = [
    ("datetime not ISO 8601", "datetime", "yesterday", "Invalid isoformat string"),
    ("datetime without offset", "datetime", "2024-05-01T09:30:00", "not an ISO 8601 datetime with an offset"),
    ("datetime a number", "datetime", 1714555800, "not an ISO 8601 datetime with an offset"),
    ("date not ISO 8601", "date", "01/05/2024", "Invalid isoformat string"),
    ("date a number", "date", 20240501, "not an ISO 8601 date"),
    ("double a boolean", "double", True, "a boolean, not a number"),
    ("double not a number", "double", "lots", "could not convert string to float"),
    ("currency not a number", "currency", "$5", "could not convert string to float"),
    ("percent a structure", "percent", [5], "float() argument must be"),
    ("int not whole", "int", 2.5, "not a whole number"),
    ("long not a number", "long", "many", "could not convert string to float"),
    ("boolean a string", "boolean", "true", "not a JSON boolean"),
    ("text a structure", "string", {"a": 1}, "a structure, not a scalar"),
]

# (kind, table, record, what the reason says)
HUBSPOT_KINDS = [
    ("object without id", "contacts", {"properties": {}}, "the record has no id"),
    ("properties not an object", "contacts", {"id": "h2", "properties": ["x"]}, "properties is a list"),
    ("updatedAt not a timestamp", "contacts", {"id": "h3", "updatedAt": "soon"}, "updatedAt 'soon' is not"),
    ("createdAt not a timestamp", "contacts", {"id": "h4", "createdAt": "then"}, "createdAt 'then' is not"),
    ("archivedAt not a timestamp", "contacts", {"id": "h5", "archived": True, "archivedAt": "x"},
     "archivedAt 'x' is not"),
    ("number property", "contacts", {"id": "h6", "properties": {"score": "high"}},
     "score (number) has value 'high'"),
    ("infinite number", "contacts", {"id": "h7", "properties": {"score": "Infinity"}}, "not a finite number"),
    ("datetime property", "contacts", {"id": "h8", "properties": {"seen": "someday"}},
     "property seen (datetime)"),
    ("date property", "contacts", {"id": "h9", "properties": {"born": "2024-02-30"}}, "property born (date)"),
    ("bool property", "contacts", {"id": "h10", "properties": {"vip": "maybe"}},
     "'maybe' is not true or false"),
    ("owner without id", "owners", {"email": "o@x.io"}, "the owner has no id"),
    ("owner updatedAt", "owners", {"id": "o2", "updatedAt": "later"}, "updatedAt 'later' is not"),
    ("association without from id", "contact_company_associations", {"to": []},
     "the association result has no from id"),
    ("association without toObjectId", "contact_company_associations",
     {"from": {"id": "c1"}, "to": [{"associationTypes": []}]}, "has no toObjectId"),
    ("association type without typeId", "contact_company_associations",
     {"from": {"id": "c2"}, "to": [{"toObjectId": "9", "associationTypes": [{"category": "X"}]}]},
     "has no integer typeId"),
]
HS_PROPERTY_TYPES = {"score": "number", "seen": "datetime", "born": "date", "vip": "bool"}


def crm_rejections(rejections: Rejections) -> None:
    """Run each CRM kind through the code the Salesforce and HubSpot sources refuse records with."""
    for n, (_, sf_type, value, _) in enumerate(SALESFORCE_KINDS):
        record = {"attributes": {"type": "Lead"}, "Id": f"00Q{n:015d}", "Field__c": value}
        assert list(typed_records("Lead", [record], {"Id": "id", "Field__c": sf_type}, rejections)) == []
    reject = _rejecter(rejections)
    flatteners = {
        "contacts": lambda r: [flatten_object(r, HS_PROPERTY_TYPES)],
        "owners": lambda r: [flatten_owner(r)],
        "contact_company_associations": lambda r: flatten_associations("contacts", "companies", r),
    }
    for _, table, record, _ in HUBSPOT_KINDS:
        assert _flatten([record], f"hubspot.{table}", reject, flatteners[table]) == []


def quarantined(warehouse) -> list[tuple[str, str | None, str]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute("select source, record_id, reason from quarantine.rejected_records").fetchall()


def test_every_kind_of_bad_input_lands_in_quarantine_exactly_once(tmp_path, warehouse):
    expected_events = write_event_files(tmp_path / "events")
    kinds = len(expected_events) + len(SALESFORCE_KINDS) + len(HUBSPOT_KINDS)
    assert kinds >= 50

    # Twice over, the second time with every event file changed (so read again whole) and the CRM records
    # refused again: each refusal must still be one row.
    for _ in range(2):
        rejections = Rejections()
        make_pipeline("events", "raw_events", warehouse).run(events_source(tmp_path / "events", rejections))
        crm_rejections(rejections)
        load_rejections(rejections, warehouse)
        for name in ("bad.jsonl", "table.jsonl"):
            path = tmp_path / "events" / "website" / name
            path.write_bytes(path.read_bytes() + b"\n")

    rows = quarantined(warehouse)
    assert len(rows) == kinds, sorted(map(str, rows))
    events = {record_id: reason for source, record_id, reason in rows if source == "events.website"}
    assert sorted(events) == sorted(expected_events)
    for record_id, says in expected_events.items():
        assert says in events[record_id], (record_id, events[record_id])
    salesforce = sorted((record_id, reason) for source, record_id, reason in rows if source == "salesforce")
    assert len(salesforce) == len(SALESFORCE_KINDS)
    for (record_id, reason), (_, sf_type, _, says) in zip(salesforce, SALESFORCE_KINDS, strict=True):
        assert f"Field__c ({sf_type})" in reason and says in reason, (record_id, reason)
    hubspot = [(source, reason) for source, _, reason in rows if source.startswith("hubspot.")]
    assert len(hubspot) == len(HUBSPOT_KINDS)
    for _, table, _, says in HUBSPOT_KINDS:
        found = [reason for source, reason in hubspot if source == f"hubspot.{table}" and says in reason]
        assert len(found) == 1, says
