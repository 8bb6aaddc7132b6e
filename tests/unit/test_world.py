"""The synthetic world: deterministic, schema-valid, messy where planned, and true to its truth file."""

import gzip
import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import phonenumbers
import pytest
from sklearn.metrics import roc_auc_score

from sandbox.hubspot.schema import PROPERTIES
from sandbox.salesforce.ids import case_safe_suffix
from sandbox.salesforce.schema import KEY_PREFIXES, STANDARD_FIELDS
from sandbox.world import generate_world, write_bulk_events
from sandbox.world.__main__ import main as cli_main

AS_OF = datetime(2026, 11, 27, tzinfo=UTC)
CHANNELS = ("website", "email", "social", "ads", "offline")
CHANNEL_EVENTS = {
    "email": {"Email Opened", "Email Link Clicked", "Email Replied", "Email Forwarded"},
    "ads": {"Ad Impression", "Ad Clicked", "Ad Conversion"},
    "social": {"Social Mention", "Social Share", "Social Comment", "Social Follow"},
    "offline": {"Event Attended", "Survey Completed", "Support Ticket Created", "Order Completed"},
}


@pytest.fixture(scope="module")
def world():
    return generate_world(people=2000, seed=7, as_of=AS_OF)


@pytest.fixture(scope="module")
def landed(world, tmp_path_factory):
    """The world's event files on disk, read back as (relative path, line number, text)."""
    folder = tmp_path_factory.mktemp("events")
    world.write_events(folder)
    lines = []
    for path in sorted(folder.rglob("*.jsonl*")):
        raw = path.read_bytes()
        text = (gzip.decompress(raw) if path.name.endswith(".gz") else raw).decode()
        relative = path.relative_to(folder).as_posix()
        lines += [(relative, number, line) for number, line in enumerate(text.splitlines(), start=1)]
    return lines


@pytest.fixture(scope="module")
def validated(landed):
    """(good messages with their channel, rejected (file, line) pairs) of the landed files."""
    return _validate(landed)


def _parse_time(value) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def _validate(lines):
    """Split lines into good messages and rejections, the way an ingestion layer must."""
    good, rejected, seen = [], set(), set()
    for relative, number, text in lines:
        try:
            message = json.loads(text)
        except json.JSONDecodeError:
            rejected.add((relative, number))
            continue
        if (
            not isinstance(message, dict)
            or not message.get("type")
            or not message.get("messageId")
            or _parse_time(message.get("timestamp")) is None
            or message["messageId"] in seen
        ):
            rejected.add((relative, number))
            continue
        seen.add(message["messageId"])
        good.append((relative.split("/")[0], message))
    return good, rejected


def test_same_seed_gives_identical_world_and_another_seed_does_not():
    first, second = (generate_world(people=300, seed=3, as_of=AS_OF) for _ in range(2))
    assert first.salesforce == second.salesforce
    assert first.hubspot == second.hubspot
    assert first.hubspot_owners == second.hubspot_owners
    assert first.hubspot_associations == second.hubspot_associations
    assert first.event_files.lines == second.event_files.lines
    assert json.dumps(first.truth) == json.dumps(second.truth)
    other = generate_world(people=300, seed=4, as_of=AS_OF)
    assert other.salesforce["Lead"] != first.salesforce["Lead"]


def test_rejects_an_empty_world():
    with pytest.raises(ValueError, match="people"):
        generate_world(people=0)


def test_as_of_defaults_to_today_midnight_utc():
    world = generate_world(people=20, seed=1)
    today = datetime.now(UTC).date()
    assert world.as_of == datetime(today.year, today.month, today.day, tzinfo=UTC)


def test_salesforce_records_use_only_schema_fields_and_valid_values(world):
    assert set(world.salesforce) == {
        "User", "Account", "Lead", "Contact", "Opportunity", "Task", "OpportunityContactRole",
    }
    all_ids = {r["Id"]: name for name, records in world.salesforce.items() for r in records}
    for name, records in world.salesforce.items():
        schema = {f.name: f for f in STANDARD_FIELDS[name]}
        assert records, name
        for record in records:
            assert set(record) <= set(schema), (name, set(record) - set(schema))
            assert len(record["Id"]) == 18 and record["Id"].startswith(KEY_PREFIXES[name])
            assert record["Id"][15:] == case_safe_suffix(record["Id"][:15])
            for field in schema.values():
                value = record.get(field.name)
                if not field.nillable:
                    assert value is not None, (name, field.name)
                if value is None:
                    continue
                if field.picklist:
                    # a multi-select picklist holds its chosen values ";"-separated
                    chosen = value.split(";") if field.type == "multipicklist" else [value]
                    assert chosen and set(chosen) <= set(field.picklist), (name, field.name, value)
                if field.type == "datetime":
                    assert value.tzinfo is not None and value.utcoffset() == timedelta(0)
                if field.type == "date":
                    assert isinstance(value, date) and not isinstance(value, datetime)
                if field.type == "reference":
                    assert all_ids.get(value) in field.reference_to, (name, field.name, value)
                if field.type == "string" and field.length:
                    assert len(value) <= field.length, (name, field.name, value)
            assert record["CreatedDate"] <= record["LastModifiedDate"] == record["SystemModstamp"] <= AS_OF


def test_salesforce_required_business_fields_are_consistent(world):
    for lead in world.salesforce["Lead"]:
        assert lead["LastName"] and lead["Company"] and lead["Status"]
        assert (
            lead["IsConverted"]
            == (lead["Status"] == "Closed - Converted")
            == bool(lead["ConvertedContactId"])
        )
    for opp in world.salesforce["Opportunity"]:
        assert opp["StageName"] and opp["CloseDate"] and opp["Name"]
        assert opp["IsWon"] == (opp["StageName"] == "Closed Won")
        assert opp["IsClosed"] == opp["StageName"].startswith("Closed")
    stages = Counter(o["StageName"] for o in world.salesforce["Opportunity"])
    assert stages["Closed Won"] > 20 and stages["Closed Lost"] > 0 and len(stages) >= 5
    users = world.salesforce["User"]
    assert any(not u["IsActive"] for u in users) and sum(u["IsActive"] for u in users) > 10
    assert all(u["Country"] and u["Department"] for u in users)
    deleted = [r for name in ("Lead", "Opportunity") for r in world.salesforce[name] if r["IsDeleted"]]
    assert deleted


def test_contact_roles_name_contacts_of_the_account_one_primary_each_the_buyer_first(world):
    sf = world.salesforce
    opportunities = {o["Id"]: o for o in sf["Opportunity"]}
    contacts = {c["Id"]: c for c in sf["Contact"]}
    roles = sf["OpportunityContactRole"]
    assert len(roles) > len(opportunities) // 2
    primaries: Counter = Counter()
    for role in roles:
        opportunity = opportunities[role["OpportunityId"]]
        # only Contacts (never Leads) play roles, and those of the Opportunity's Account
        assert contacts[role["ContactId"]]["AccountId"] == opportunity["AccountId"]
        assert role["IsDeleted"] == opportunity["IsDeleted"]
        primaries[role["OpportunityId"]] += role["IsPrimary"]
    assert set(primaries.values()) == {1}
    assert any(o["IsDeleted"] for o in opportunities.values() if o["Id"] in primaries)
    people = {p["person_id"]: p for p in world.truth["people"]}
    primary_of = {r["OpportunityId"]: r["ContactId"] for r in roles if r["IsPrimary"]}
    bought = world.truth["purchase_opportunities"]
    assert bought and all(opportunities[b["opportunity_id"]]["StageName"] == "Closed Won" for b in bought)
    buyers_as_contacts = [b for b in bought if people[b["person_id"]]["salesforce"]["contacts"]]
    assert len(buyers_as_contacts) > 10
    for b in buyers_as_contacts:
        assert primary_of[b["opportunity_id"]] in people[b["person_id"]]["salesforce"]["contacts"]


def test_shared_system_modstamp_cluster_spans_a_page_boundary(world):
    stamps = Counter(t["SystemModstamp"] for t in world.salesforce["Task"])
    moment, count = stamps.most_common(1)[0]
    assert count >= 2100
    assert {
        "object": "Task",
        "SystemModstamp": moment.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "count": count,
    } in (world.truth["modstamp_clusters"])
    small = generate_world(people=100, seed=7, as_of=AS_OF)
    assert Counter(t["SystemModstamp"] for t in small.salesforce["Task"]).most_common(1)[0][1] >= 100


def test_hubspot_records_use_only_schema_properties(world):
    owner_ids = {o["id"] for o in world.hubspot_owners}
    for object_type, records in world.hubspot.items():
        schema = {p.name: p for p in PROPERTIES[object_type]}
        assert records, object_type
        assert len({r["id"] for r in records}) == len(records)
        for record in records:
            assert record["id"].isdigit()
            assert record["createdAt"] <= record["updatedAt"] <= AS_OF
            assert record["createdAt"].tzinfo is not None
            for name, value in record["properties"].items():
                assert name in schema and schema[name].modification_allowed, (object_type, name)
                assert isinstance(value, str)
                if schema[name].options:
                    # a checkbox (multi-select) property holds its chosen options ";"-separated
                    chosen = value.split(";") if schema[name].field_type == "checkbox" else [value]
                    assert set(chosen) <= set(schema[name].options), (object_type, name, value)
                if name == "hubspot_owner_id":
                    assert value in owner_ids
    emails = [c["properties"]["email"] for c in world.hubspot["contacts"] if "email" in c["properties"]]
    assert len({e.strip().lower() for e in emails}) == len(emails)  # HubSpot keeps e-mail unique
    assert any(r["archived"] for r in world.hubspot["contacts"])
    assert any(p["properties"].get("dealstage") == "closedwon" for p in world.hubspot["deals"])


def test_hubspot_owners_and_associations(world):
    owners = world.hubspot_owners
    assert all(
        set(o) == {"id", "email", "firstName", "lastName", "userId", "teams", "archived"} for o in owners
    )
    sf_emails = {u["Email"] for u in world.salesforce["User"]}
    assert sum(o["email"] in sf_emails for o in owners) >= len(owners) * 0.7
    assert any(o["email"] not in sf_emails and o["email"].lower() in sf_emails for o in owners)
    ids = {t: {r["id"] for r in records} for t, records in world.hubspot.items()}
    kinds = Counter((a[0], a[2]) for a in world.hubspot_associations)
    assert set(kinds) == {
        ("contacts", "companies"),
        ("deals", "companies"),
        ("deals", "contacts"),
        ("tasks", "contacts"),
    }
    for from_type, from_id, to_type, to_id in world.hubspot_associations:
        assert from_id in ids[from_type] and to_id in ids[to_type]


def test_crm_records_carry_planned_mess(world):
    truth = {p["person_id"]: p for p in world.truth["people"]}
    leads = {r["Id"]: r for r in world.salesforce["Lead"]}
    contacts = {r["Id"]: r for r in world.salesforce["Contact"]}
    messy_emails = [
        r["Email"] for r in leads.values() if r["Email"] and r["Email"] != r["Email"].strip().lower()
    ]
    assert any(e != e.strip() for e in messy_emails) and any(
        e.strip() != e.strip().lower() for e in messy_emails
    )
    phones = {}
    for person in truth.values():
        records = [leads[i] for i in person["salesforce"]["leads"]] + [
            contacts[i] for i in person["salesforce"]["contacts"]
        ]
        for record in records:
            if record["Email"]:
                assert record["Email"].strip().lower() == person["email"]
            if record["Phone"]:
                parsed = phonenumbers.parse(record["Phone"], person["country"])
                assert (
                    phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == person["phone"]
                )
                phones[record["Phone"][:2]] = True
    assert {"+1", "(4", "00", "+4"} <= set(phones)  # international, US national, 00-prefixed, European
    in_both = [
        p
        for p in truth.values()
        if (p["salesforce"]["leads"] or p["salesforce"]["contacts"]) and p["hubspot"]["contacts"]
    ]
    assert len(in_both) > 500
    assert (
        sum(len(p["salesforce"]["leads"]) + len(p["salesforce"]["contacts"]) > 1 for p in truth.values()) > 50
    )
    assert sum(len(p["hubspot"]["contacts"]) > 1 for p in truth.values()) > 10
    assert sum(p["email"] is None and p["phone"] is not None for p in truth.values()) > 20
    free_mail = [
        p for p in truth.values() if p["email"] and p["email"].endswith(("@gmail.com", "@yahoo.com"))
    ]
    assert free_mail and all(p["company_domain"] is None for p in free_mail)


def test_events_parse_except_the_planted_bad_lines(world, landed, validated):
    good, rejected = validated
    expected = world.truth["expected_rejections"]
    per_line = {(r["file"], r["line"]) for r in expected if r["line"] is not None}
    whole_files = {r["file"] for r in expected if r["line"] is None}
    assert rejected == per_line | {(f, n) for f, n, _ in landed if f in whole_files}
    reasons = Counter(r["reason"] for r in expected)
    assert {
        "malformed_json",
        "missing_type",
        "missing_message_id",
        "bad_timestamp",
        "duplicate_message_id",
        "not_json_file",
    } == set(reasons)
    assert Counter(channel for channel, _ in good) == Counter(world.truth["event_counts"])
    files = {f for f, _, _ in landed}
    for channel in CHANNELS:
        mine = [f for f in files if f.startswith(channel + "/")]
        assert (
            len(mine) >= 3
            and any(f.endswith(".gz") for f in mine)
            and any(f.endswith(".jsonl") for f in mine)
        )
    for channel, message in good:
        assert message["type"] in {"track", "page", "identify", "screen"}
        assert message.get("userId") or message.get("anonymousId")
        if channel in CHANNEL_EVENTS and message["type"] == "track":
            assert message["event"] in CHANNEL_EVENTS[channel], (channel, message["event"])
        if message.get("event") in ("Ad Clicked", "Ad Conversion"):
            assert message["properties"]["cost"] > 0
        if message.get("event") == "Order Completed":
            assert message["properties"]["revenue"] > 0


def test_events_carry_identity_signals(world, validated):
    good, _ = validated
    identifies = [m for _, m in good if m["type"] == "identify"]
    trait_keys = Counter(k for m in identifies for k in m["traits"])
    assert trait_keys["firstName"] and trait_keys["first_name"]
    assert any(isinstance(m["traits"].get("company"), dict) for m in identifies)
    context_emails = [
        m["context"]["traits"]["email"]
        for _, m in good
        if m.get("context", {}).get("traits", {}).get("email")
    ]
    assert any(e != e.strip() for e in context_emails) and any(e != e.lower() for e in context_emails)
    identified = {m["anonymousId"] for m in identifies if m.get("anonymousId")}
    anonymous_only = {m["anonymousId"] for _, m in good if m.get("anonymousId") and not m.get("userId")}
    assert len(identified & anonymous_only) > 100  # anonymous first, identified later
    truth = world.truth
    for link in truth["probabilistic_links"][:50]:
        assert link["anonymousId"] not in identified
    for group in truth["shared_ip_groups"]:
        assert len(group["person_ids"]) >= 2
    assert max(len(g["person_ids"]) for g in truth["shared_ip_groups"]) >= 4
    assert truth["unlinked_anonymous_ids"]


def test_truth_matches_the_generated_records(world, landed):
    truth = world.truth
    sf_ids = {r["Id"] for records in world.salesforce.values() for r in records}
    hs_ids = {r["id"] for r in world.hubspot["contacts"]}
    message_ids = {
        json.loads(t).get("messageId") for _, _, t in landed if t.startswith("{") and t.endswith("}")
    }
    assert len(truth["people"]) == 2000
    for person in truth["people"]:
        assert set(person["salesforce"]["leads"] + person["salesforce"]["contacts"]) <= sf_ids
        assert set(person["hubspot"]["contacts"]) <= hs_ids
    for merge in truth["identity_merges"]:
        assert len(merge["records"]) >= 2
    assert set(truth["deleted_records"]["salesforce"]) <= sf_ids
    triggers = truth["behaviour_triggers"]
    assert {t["trigger"] for t in triggers["events"]} == {
        "demo_request",
        "pricing_page_visit",
        "trial_signup",
    }
    assert all(t["messageId"] in message_ids for t in triggers["events"])
    triggered = {(t["person_id"], t["trigger"]) for t in triggers["events"]}
    assert all((p["person_id"], p["trigger"]) in triggered for p in triggers["planted"])
    assert triggers["high_engagement"] and len(triggers["long_nurtured"]["person_ids"]) > 100
    reps = {u["Id"] for u in world.salesforce["User"]}
    assert all(r["salesforce_user_id"] in reps for r in truth["reps"])


def test_planted_propensities_are_learnable_but_noisy(world):
    intent, recent, older = Counter(), Counter(), Counter()
    for event in world.event_log.events:
        message, person = event.message, event.person_id
        if not person:
            continue
        path = message.get("properties", {}).get("path", "") if message["type"] == "page" else ""
        if path.startswith("/pricing") or message.get("event") in (
            "Demo Requested",
            "Trial Started",
            "Email Link Clicked",
        ):
            intent[person] += 1
        (recent if event.at >= AS_OF - timedelta(days=90) else older)[person] += 1
    purchase = world.truth["labels"]["purchase"]
    auc = roc_auc_score([p["purchased"] for p in purchase], [intent[p["person_id"]] for p in purchase])
    assert 0.75 <= auc < 0.97
    churn = world.truth["labels"]["churn"]
    fading = [-(recent[c["person_id"]] + 0.5) / (older[c["person_id"]] + 1) for c in churn]
    auc = roc_auc_score([c["churned"] for c in churn], fading)
    assert 0.75 <= auc < 0.97


def test_bulk_events_writes_the_asked_count_of_valid_lines(tmp_path):
    counts = write_bulk_events(tmp_path, events=30_001, people=400, seed=5, as_of=AS_OF)
    assert sum(counts.values()) == 30_001
    seen = set()
    for channel in CHANNELS:
        lines = [
            line for path in (tmp_path / channel).glob("*.jsonl") for line in path.read_text().splitlines()
        ]
        assert len(lines) == counts[channel] > 0
        for line in lines:
            message = json.loads(line)
            assert message["type"] in ("page", "track") and _parse_time(message["timestamp"])
            assert message.get("userId") or message.get("anonymousId")
            if channel in CHANNEL_EVENTS and message["type"] == "track":
                assert message["event"] in CHANNEL_EVENTS[channel]
            seen.add(message["messageId"])
    assert len(seen) == 30_001


def test_cli_writes_events_and_truth(tmp_path, capsys):
    assert (
        cli_main(
            [
                "--people",
                "60",
                "--seed",
                "2",
                "--as-of",
                "2026-11-27T00:00:00Z",
                "--events-dir",
                str(tmp_path / "events"),
                "--truth",
                str(tmp_path / "truth.json"),
            ]
        )
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert summary["event_files"] == len(list((tmp_path / "events").rglob("*.jsonl*")))
    assert len(json.loads((tmp_path / "truth.json").read_text())["people"]) == 60


def test_enrichment_sources_carry_the_truth_at_realistic_rates(world):
    people = world.truth["people"]
    facts = {p["person_id"]: p["enrichment"] for p in people}
    share = lambda hits: sum(hits) / len(people)  # noqa: E731
    # surveys for a minority; product usage only for customers' users; stated ages rare; stacks for many
    assert 0.08 < share(bool(f["survey"]) for f in facts.values()) < 0.25
    assert 0.08 < share(f["age"] is not None for f in facts.values()) < 0.25
    customers = {p["person_id"] for p in people if p["customer_id"]}
    product = {pid for pid, f in facts.items() if f["platforms"]}
    assert product and product <= customers
    assert all(facts[pid]["integration_count"] is None for pid in set(facts) - product)
    assert 0.4 < share(f["technologies"] is not None for f in facts.values()) < 0.8
    # a CRM department is the person's true one, for a share of contacts, never a word of their title
    contacts = {c["Id"]: c for c in world.salesforce["Contact"]}
    by_person = {c: p["person_id"] for p in people for c in p["salesforce"]["contacts"]}
    stated = [(contacts[c]["Department"], facts[by_person[c]]) for c in contacts if c in by_person]
    assert 0.4 < sum(1 for d, _ in stated if d) / len(stated) < 0.7
    assert all(d == f["department"] if f["crm_department"] else d is None for d, f in stated)
    # HubSpot's web_technologies and the Account field list the company's stack
    stacks = {p["company_domain"]: p["enrichment"]["technologies"] for p in people if p["company_domain"]}
    listed = [(c["properties"]["domain"], c["properties"].get("web_technologies"))
              for c in world.hubspot["companies"]]
    assert any(t for _, t in listed)
    assert all(t is None or t.split(";") == stacks.get(d) for d, t in listed if d in stacks)
    # locales: browsers send the person's locale on web messages; languages of the countries' markets
    locales = Counter(
        e.message["context"]["locale"].split("-")[0]
        for e in world.event_log.events
        if (e.message.get("context") or {}).get("locale")
    )
    assert {"en", "de", "fr"} <= set(locales) and locales["en"] > locales["de"]
    # the collector's Accept-Language language rides on a share of website messages, as the person's truth
    # says, also for people whose browser sends no context.locale; never on other channels' messages
    stamped = [e for e in world.event_log.events if "accept_language" in (e.message.get("context") or {})]
    assert all(e.channel == "website" for e in stamped)
    assert all(e.message["context"]["accept_language"] == facts[e.person_id]["accept_language"]
               for e in stamped)
    assert 0.2 < len(stamped) / sum(1 for e in world.event_log.events if e.channel == "website") < 0.95
    no_locale = [e for e in stamped if not facts[e.person_id]["sends_locale"]]
    assert no_locale and all("locale" not in e.message["context"] for e in no_locale)
    surveys = [e for e in world.event_log.events if e.message.get("properties", {}).get("survey_id")]
    assert surveys and all(e.resolvable for e in surveys)
