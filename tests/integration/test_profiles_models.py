"""Customer profiles, survivorship, enrichment and engagement on the real pipeline.

raw tables (the raw_warehouse world, plus one identify call stating age, gender and locale) -> dbt ->
identity resolution -> dbt, with the shipped config, on DuckDB and on PostgreSQL (the `engine` fixture; the
PostgreSQL world has no stated demographics); then the profile models again under a changed survivorship
config in a temp REVLOOP_CONFIG_DIR (DuckDB).
"""

import shutil
from collections import Counter, defaultdict
from pathlib import Path

import duckdb
import pytest
import yaml

from revloop.config import DEFAULT_CONFIG_DIR
from revloop.config.survivorship import SurvivorshipConfig
from revloop.profiles import profile_contract
from tests.fixtures.built import STATED_MESSAGE_ID
from tests.fixtures.dbt import assert_dbt_ok, run_dbt
from tests.fixtures.engines import Engine, duckdb_only

pytestmark = pytest.mark.slow

PROFILE_NODES = [
    "int_profile_attributes_stated", "int_profile_attributes_survived", "int_profile_companies_matched",
    "int_touchpoints", "int_profile_interests", "int_profile_technographics", "int_profile_demographics",
    "int_profile_engagement", "int_profiles_enriched", "customer_profiles", "engagement_history",
    "touchpoints",
]
CHANNELS = ("website", "email", "social", "ads", "offline")
# stated attributes customer_profiles passes on as survivorship picks them
STATED = ("gender", "language", "income_level", "department", "user_roles", "personal_values", "lifestyle",
          "personality")


def _query(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


@pytest.fixture(scope="module")
def built(engine: Engine, tmp_path_factory) -> Engine:
    """This module's copy of the built project on one engine, the profile models' dbt tests having passed."""
    # cautious: only the tests of these nodes, not other rooms' tests that merely reference them
    selection = ["--indirect-selection", "cautious", "--select", *PROFILE_NODES]
    engine.dbt.assert_tests_passed(selection, tmp_path_factory.mktemp(f"profiles_{engine.name}"))
    return engine


def _profile_of_people(built: Engine, truth: dict) -> dict[str, str]:
    """person_id -> profile_id, for people whose CRM records resolved to one profile."""
    links = dict(built.rows("select source_id, profile_id from marts.identity_links"))
    found = {}
    for person in truth["people"]:
        ids = person["salesforce"]["leads"] + person["salesforce"]["contacts"] + person["hubspot"]["contacts"]
        profiles = {links[i] for i in ids if i in links}
        if len(profiles) == 1:
            found[person["person_id"]] = profiles.pop()
    return found


def _profiles(built: Engine) -> dict[str, dict]:
    return {row["profile_id"]: row for row in built.records("select * from marts.customer_profiles")}


def test_one_profile_per_resolved_profile_with_the_contract_columns(built):
    resolved = {r[0] for r in built.rows("select distinct profile_id from marts.identity_links")}
    rows = built.rows("select profile_id from marts.customer_profiles")
    assert len(rows) == len({r[0] for r in rows}) == len(resolved) > 300
    assert {r[0] for r in rows} == resolved
    columns = [r[0] for r in built.rows(
        "select column_name from information_schema.columns where table_schema = 'marts'"
        " and table_name = 'customer_profiles' order by ordinal_position",
    )]
    contract = [
        "profile_id", "email", "phone", "first_name", "last_name", "company_name", "job_title", "country",
        "industry", "lifecycle_stage", "lead_score", "churn_risk", "purchase_likelihood",
        "engagement_potential", "first_seen_at", "last_seen_at",
    ]
    assert columns[: len(contract)] == contract
    assert profile_contract().columns == tuple(contract)  # what the Python readers take from the YAML
    scores = dict(built.rows("select profile_id, lead_score from intermediate.int_lead_scores"))
    profiles = _profiles(built)
    assert all(row["lead_score"] == scores.get(pid, 0) for pid, row in profiles.items())
    assert all(row["churn_risk"] is None and row["purchase_likelihood"] is None for row in profiles.values())


def _expected_winners(stated: list[tuple], config: SurvivorshipConfig) -> dict[tuple[str, str], tuple]:
    """Survivorship re-implemented over the stated values: (profile, attribute) -> (value, source)."""
    default_order = config.default.priority
    best: dict[tuple[str, str], tuple] = {}
    for row in stated:
        profile_id, attribute, value, source, record_id, observed_at = row
        rule = config.attributes[attribute]
        if rule.rule == "priority":
            if source not in rule.priority:
                continue
            rank = rule.priority.index(source)
        else:
            rank = 0
        tie = default_order.index(source) if source in default_order else len(default_order)
        recency = -observed_at.timestamp() if observed_at is not None else float("inf")  # nulls last
        key = (rank, recency, tie, source, record_id)
        current = best.get((profile_id, attribute))
        if current is None or key < current[0]:
            best[(profile_id, attribute)] = (key, value, source)
    return {k: (value, source) for k, (_, value, source) in best.items()}


def _check_survivorship(built: Engine, config: SurvivorshipConfig) -> None:
    stated = built.rows(
        "select profile_id, attribute, attribute_value, source, source_record_id, observed_at"
        " from intermediate.int_profile_attributes_stated",
    )
    expected = _expected_winners(stated, config)
    survived = {
        (p, a): (v, s)
        for p, a, v, s in built.rows(
            "select profile_id, attribute, attribute_value, source"
            " from intermediate.int_profile_attributes_survived",
        )
    }
    assert len(survived) > 1000
    assert survived == expected
    profiles = _profiles(built)
    for (profile_id, attribute), (value, source) in expected.items():
        if attribute in ("email", "phone", "first_name", "last_name", "job_title", "country", "city",
                         *STATED):
            row = profiles[profile_id]
            assert (row[attribute], row[f"{attribute}_source"]) == (value, source), (profile_id, attribute)


def _disagreeing_email_profiles(built: Engine) -> set[str]:
    """Profiles whose Salesforce Contact and HubSpot contact both state an e-mail address."""
    return {r[0] for r in built.rows(
        """
        select profile_id from intermediate.int_profile_attributes_stated
        where attribute = 'email' and source in ('salesforce_contact', 'hubspot_contact')
        group by profile_id having count(distinct source) = 2
        """,
    )}


def test_survivorship_picks_per_the_shipped_config(built):
    shipped_text = (Path(DEFAULT_CONFIG_DIR) / "survivorship.yml").read_text()
    shipped = SurvivorshipConfig.model_validate(yaml.safe_load(shipped_text))
    _check_survivorship(built, shipped)
    both = _disagreeing_email_profiles(built)
    assert len(both) >= 10
    sources = dict(built.rows("select profile_id, email_source from marts.customer_profiles"))
    assert {sources[p] for p in both} == {"salesforce_contact"}


@duckdb_only
def test_the_survivorship_winner_changes_with_the_config(built, tmp_path):
    shipped_text = (Path(DEFAULT_CONFIG_DIR) / "survivorship.yml").read_text()
    both = _disagreeing_email_profiles(built)
    assert len(both) >= 10
    # HubSpot first for e-mail, phones by priority, titles from events only
    changed = yaml.safe_load(shipped_text)
    changed["attributes"]["email"] = {"priority": ["hubspot_contact", "salesforce_contact"]}
    changed["attributes"]["phone"] = {
        "priority": ["salesforce_lead", "hubspot_contact", "salesforce_contact"]
    }
    changed["attributes"]["job_title"] = {"priority": ["event_traits"]}
    config_dir = tmp_path / "config"
    shutil.copytree(DEFAULT_CONFIG_DIR, config_dir)
    (config_dir / "survivorship.yml").write_text(yaml.safe_dump(changed))
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(built.path, warehouse)
    env = {"WAREHOUSE_PATH": str(warehouse), "DBT_TARGET": "duckdb", "REVLOOP_CONFIG_DIR": str(config_dir)}
    survivorship_nodes = [
        "int_profile_attributes_stated", "int_profile_attributes_survived", "int_profile_companies_matched",
        "int_profiles_enriched", "customer_profiles",
    ]
    assert_dbt_ok(run_dbt(["run", "--select", *survivorship_nodes], tmp_path, env))

    rebuilt = Engine("duckdb", warehouse, None, built.dbt)
    _check_survivorship(rebuilt, SurvivorshipConfig.model_validate(changed))
    sources = dict(rebuilt.rows("select profile_id, email_source from marts.customer_profiles"))
    assert {sources[p] for p in both} == {"hubspot_contact"}
    title_sources = {r[0] for r in rebuilt.rows("select job_title_source from marts.customer_profiles")}
    assert title_sources == {"event_traits", None}
    phone_sources = {r[0] for r in rebuilt.rows("select phone_source from marts.customer_profiles")}
    assert "event_traits" not in phone_sources and "salesforce_lead" in phone_sources


def test_free_mail_people_get_no_company_from_their_domain(built, raw_warehouse):
    world = raw_warehouse.world
    free_domains = set(
        SurvivorshipConfig.model_validate(
            yaml.safe_load((Path(DEFAULT_CONFIG_DIR) / "survivorship.yml").read_text())
        ).enrichment.free_email_domains
    )
    profiles = _profiles(built)
    profile_of = _profile_of_people(built, world.truth)
    free_mail = [
        p for p in world.truth["people"] if p["company_domain"] is None and p["person_id"] in profile_of
    ]
    assert len(free_mail) >= 20
    for person in free_mail:
        row = profiles[profile_of[person["person_id"]]]
        assert row["company_record_id"] is None and row["company_domain"] is None, person["email"]
        assert row["annual_revenue"] is None or row["annual_revenue_source"] == "salesforce_lead"
        if row["email_domain"]:
            assert row["email_domain"] in free_domains
    # and no domain match anywhere went through a free-mail domain
    matched = built.rows(
        "select distinct matched_domain from intermediate.int_profile_companies_matched"
        " where company_match_method = 'email_domain'",
    )
    assert matched and not {r[0] for r in matched} & free_domains


def test_firmographics_come_from_the_matching_account_or_company(built, raw_warehouse):
    world = raw_warehouse.world
    profiles = _profiles(built)
    accounts = {
        r[0]: r[1:] for r in built.rows(
            "select account_id, domain, annual_revenue, employee_count, account_name"
            " from staging.stg_salesforce__accounts",
        )
    }
    companies = {
        r[0]: r[1:] for r in built.rows(
            "select company_id, domain, annual_revenue, employee_count, company_name"
            " from staging.stg_hubspot__companies",
        )
    }
    matched_domains = dict(built.rows(
        "select profile_id, matched_domain from intermediate.int_profile_companies_matched"
    ))
    contacts_account = dict(
        built.rows("select contact_id, account_id from staging.stg_salesforce__contacts")
    )
    checked = Counter()
    for row in profiles.values():
        if row["company_record_id"] is None:
            continue
        source = accounts if row["company_source"] == "salesforce_account" else companies
        domain, revenue, employees, name = source[row["company_record_id"]]
        assert row["company_domain"] == domain
        assert row["annual_revenue"] == revenue and row["employee_count"] == employees
        if row["company_match_method"] == "email_domain":
            assert matched_domains[row["profile_id"]] == domain
        if row["company_match_method"] == "account_id":
            assert contacts_account[row["salesforce_contact_id"]] == row["company_record_id"]
            assert row["company_name"] == name  # the Contact's company is its Account
        checked[row["company_match_method"]] += 1
    assert checked["account_id"] >= 20 and checked["email_domain"] >= 20

    # against the world: the matched company is the person's own
    profile_of = _profile_of_people(built, world.truth)
    with_company = [p for p in world.truth["people"] if p["company_domain"] and p["person_id"] in profile_of]
    found = [
        (profiles[profile_of[p["person_id"]]]["company_domain"], p["company_domain"]) for p in with_company
    ]
    right = sum(got == truth for got, truth in found)
    wrong = sum(got not in (None, truth) for got, truth in found)
    assert right >= 0.95 * len(with_company) and wrong == 0


def test_lifecycle_stage_marks_customers_and_never_colleagues_of_buyers(built, raw_warehouse):
    world = raw_warehouse.world
    people = {p.person_id: p for p in world.population.people}
    profiles = _profiles(built)
    profile_of = _profile_of_people(built, world.truth)
    stages = Counter()
    for person_id, profile_id in profile_of.items():
        person = people[person_id]
        bought = person.is_customer or bool(person.purchased)
        stages[(bought, profiles[profile_id]["lifecycle_stage"] == "customer")] += 1
    assert stages[(False, True)] == 0, stages
    assert stages[(True, True)] >= 0.97 * (stages[(True, True)] + stages[(True, False)]), stages
    assert {row["lifecycle_stage"] for row in profiles.values()} >= {"customer", "lead"}


@duckdb_only
def test_engagement_counts_equal_the_event_counts_of_sample_profiles(built):
    """Per channel: engagement_history counts = raw messages of the profile's event records, by type."""
    counts = _query(
        built.path,
        """
        select profile_id from marts.engagement_history where channel <> 'sales'
        group by profile_id having count(*) >= 3 order by sum(touch_count) desc, profile_id limit 10
        """,
    )
    assert len(counts) == 10
    for (profile_id,) in counts:
        records = _query(
            built.path,
            "select source_system, source_record_type, source_id from marts.identity_links"
            " where profile_id = ?",
            [profile_id],
        )
        users, anonymous = defaultdict(set), defaultdict(set)
        for system, record_type, source_id in records:
            if record_type == "event_user":
                users[system].add(source_id)
            elif record_type == "event_anonymous":
                anonymous[system].add(source_id)
        history = {
            r[0]: r[1:] for r in _query(
                built.path,
                "select channel, touch_count, page_view_count, track_count, identify_count, last_touch_at"
                " from marts.engagement_history where profile_id = ? and channel <> 'sales'",
                [profile_id],
            )
        }
        expected = {}
        for channel in CHANNELS:
            row = _query(
                built.path,
                f"""
                select count(distinct message_id),
                    count(distinct case when type = 'page' then message_id end),
                    count(distinct case when type = 'track' then message_id end),
                    count(distinct case when type = 'identify' then message_id end),
                    max(timestamp)
                from raw_events.{channel}
                where message_id is not null and timestamp is not null
                    and (list_contains(?, user_id) or (user_id is null and list_contains(?, anonymous_id)))
                """,
                [sorted(users[channel]), sorted(anonymous[channel])],
            )[0]
            if row[0]:
                expected[channel] = row
        assert history == expected, profile_id


@duckdb_only  # the PostgreSQL raw load keeps no quarantine table
def test_known_web_users_messages_are_their_touchpoints(built, raw_warehouse):
    world = raw_warehouse.world
    profile_of = _profile_of_people(built, world.truth)
    touch_profile = dict(built.rows("select message_id, profile_id from marts.touchpoints"))
    quarantined = {r[0] for r in built.rows("select record_id from quarantine.rejected_records")}
    checked = missing = 0
    for event in world.event_log.events:
        user_id = event.message.get("userId")
        if event.person_id in profile_of and user_id and event.message["messageId"] not in quarantined:
            checked += 1
            if touch_profile.get(event.message["messageId"]) != profile_of[event.person_id]:
                missing += 1
    assert checked > 500 and missing <= 0.01 * checked


@duckdb_only
def test_demographics_are_stated_never_invented(built, built_warehouse):
    profiles = _profiles(built)
    stated = _query(
        built.path, "select profile_id from marts.touchpoints where message_id = ?", [STATED_MESSAGE_ID]
    )
    assert len(stated) == 1
    row = profiles[stated[0][0]]
    # the latest identify call's traits and locale win
    assert (row["age"], row["gender"], row["locale"], row["language"]) == (41, "female", "de-DE", "de")
    assert (row["age_source"], row["gender_source"], row["language_source"]) == (
        "event_traits", "event_traits", "context_locale"
    )
    assert row["age_range"] == "35-44"
    assert row["email"] == built_warehouse.stated_person["email"]


def _single_person_profiles(built: Engine, world) -> dict[str, dict]:
    """profile_id -> the truth of its one person, for profiles every record of one person resolved to."""
    people = {p["person_id"]: p for p in world.truth["people"]}
    profile_of = _profile_of_people(built, world.truth)
    counts = Counter(profile_of.values())
    return {pid: people[person] for person, pid in profile_of.items() if counts[pid] == 1}


def _stated_in_messages(world, key: str) -> dict[str, object]:
    """person_id -> the latest identify trait `key` their resolvable messages state."""
    found: dict[str, tuple] = {}
    for event in world.event_log.events:
        value = (event.message.get("traits") or {}).get(key)
        if event.person_id and event.resolvable and value is not None:
            if event.person_id not in found or event.at >= found[event.person_id][0]:
                found[event.person_id] = (event.at, value)
    return {person: value for person, (_, value) in found.items()}


@duckdb_only  # the fixture's identify call (skipped below) is in the DuckDB world only
def test_each_enrichment_attribute_comes_from_its_source_and_is_null_without_one(built, built_warehouse):
    config = SurvivorshipConfig.model_validate(
        yaml.safe_load((Path(DEFAULT_CONFIG_DIR) / "survivorship.yml").read_text())
    ).enrichment
    world = built_warehouse.raw.world
    profiles = _profiles(built)
    people = _single_person_profiles(built, world)
    assert len(people) > 250
    ages, genders, roles = (_stated_in_messages(world, k) for k in ("age", "gender", "role"))
    answers = {q: spec for q, spec in config.surveys.questions.items()}
    filled = Counter()
    fixture_profile = built.scalar(
        f"select profile_id from marts.touchpoints where message_id = '{STATED_MESSAGE_ID}'"
    )
    for profile_id, person in people.items():
        if profile_id == fixture_profile:
            continue  # the fixture's own identify call states other values (test above)
        row, facts, pid = profiles[profile_id], person["enrichment"], person["person_id"]
        # demographics: only what an identify call states, never a guess from a name
        assert (row["age"], row["age_source"]) == (
            (ages[pid], "event_traits") if pid in ages else (None, None)), pid
        assert row["gender"] == (genders[pid].lower() if pid in genders else None), pid
        assert row["user_roles"] == roles.get(pid), pid
        # department: a CRM field first, else the configured title mapping, else nothing
        crm_records = person["salesforce"]["contacts"] or person["hubspot"]["contacts"]
        crm_department = facts["crm_department"] and bool(crm_records)
        if row["department_source"] in ("salesforce_contact", "hubspot_contact"):
            assert crm_department and row["department"] == facts["department"], pid
        elif row["department_source"] == "job_title":
            assert row["department"] == config.department_from_title[row["job_title"].lower()], pid
        else:
            assert not crm_department and row["department"] is None, pid
            assert (row["job_title"] or "").lower() not in config.department_from_title, pid
        # survey answers: a mapped answer states its attribute, any other answer nothing
        for question, spec in answers.items():
            value = spec.answers.get(facts["survey"].get(question, ""))
            column = spec.attribute
            if column == "communication_preference":
                if value is not None:
                    assert (row[column], row[f"{column}_source"]) == (value, "survey"), (pid, question)
                else:
                    assert row[f"{column}_source"] in ("channel_behaviour", None), (pid, question)
            else:
                assert (row[column], row[f"{column}_source"]) == (
                    (value, "survey") if value else (None, None)), (pid, question)
        # product usage: only for customers' users whose product events reach the warehouse
        platforms = facts["platforms"]
        assert row["platform_usage"] == (", ".join(platforms) if platforms else None), pid
        assert row["integration_count"] == facts["integration_count"], pid
        counted = facts["integration_count"] is not None
        assert row["integration_count_source"] == ("product_events" if counted else None), pid
        # technology stack: the matched company's record's, never another company's
        if row["technology_stack"] is not None:
            assert row["technology_stack"] == ", ".join(facts["technologies"]), pid
            assert row["technology_stack_source"] == row["company_source"]
        for column in ("age", "gender", "department", "personal_values", "platform_usage", "technology_stack",
                       "language", "income_level", "user_roles", "integration_count"):
            filled[column] += row[column] is not None
    # the world states each attribute for a realistic share of people, and the profiles carry it
    assert all(filled[column] > 0.03 * len(people) for column in filled), filled
    assert filled["language"] > 0.5 * len(people) and filled["department"] > 0.5 * len(people), filled


@duckdb_only  # the fixture's identify call states a locale in the DuckDB world only
def test_language_and_locale_come_from_context_locale_else_accept_language(built, built_warehouse):
    profiles = _profiles(built)
    world = built_warehouse.raw.world
    facts = {p["person_id"]: p["enrichment"] for p in world.truth["people"]}
    locales, accepted = {}, {}
    for e in world.event_log.events:
        context = e.message.get("context") or {}
        if context.get("locale"):
            locales[e.message["messageId"]] = context["locale"]
        if "accept_language" in context:
            # the sender's browser language, as the world's truth has it
            accepted[e.message["messageId"]] = facts[e.person_id]["accept_language"]
    locales[STATED_MESSAGE_ID] = "de-DE"  # the fixture's identify call
    with_locale, with_accept = defaultdict(set), defaultdict(set)
    resolved = built.rows("select profile_id, message_id from intermediate.int_event_messages_resolved")
    for profile_id, message_id in resolved:
        if message_id in locales:
            with_locale[profile_id].add(locales[message_id].split("-")[0])
        if message_id in accepted:
            with_accept[profile_id].add(accepted[message_id].split("-")[0])
    assert sum(1 for row in profiles.values() if row["language"]) > 0.5 * len(profiles)
    sources = Counter(row["language_source"] for row in profiles.values())
    # the browser's Accept-Language fills the language of people whose browser sends no locale
    assert sources["accept_language"] > 0.01 * len(profiles), sources
    for profile_id, row in profiles.items():
        if row["language_source"] == "context_locale":
            assert row["language"] in with_locale[profile_id], profile_id
            assert row["locale"].split("-")[0] in with_locale[profile_id], profile_id
        elif row["language_source"] == "accept_language":  # only where no locale says it
            assert row["language"] in with_accept[profile_id], profile_id
            assert row["locale"] is None and not with_locale[profile_id], profile_id
        else:
            assert row["language"] is None and not with_locale[profile_id], profile_id
            assert not with_accept[profile_id], profile_id


def test_enrichment_columns_are_filled_from_behaviour(built):
    profiles = _profiles(built)
    rows = list(profiles.values())
    with_web = [r for r in rows if r["browser_family"] is not None]
    assert len(with_web) > 0.3 * len(rows)
    assert {r["device_type"] for r in with_web} <= {"mobile", "tablet", "desktop", "bot"}
    assert {"mobile", "desktop"} <= {r["device_type"] for r in with_web}
    assert {r["browser_family"] for r in with_web} >= {"Chrome", "Firefox", "Safari", "Edge"}
    interested = [r for r in rows if r["interests"]]
    assert interested and all(r["interests"].split(", ")[0] == r["top_interest"] for r in interested)
    kinds = {i.split(":")[0] for r in interested for i in r["interests"].split(", ")}
    assert kinds == {"page", "search", "form", "product"}
    preferences = dict(built.rows(
        """
        select profile_id, channel from (
            select profile_id, channel, row_number() over (
                partition by profile_id order by count(*) desc, max(occurred_at) desc, channel) as n
            from marts.touchpoints where is_interaction
            group by profile_id, channel
        ) as ranked where n = 1
        """,
    ))
    # without an opt-in the person stated, the preference is the channel they interact on most
    assert preferences and all(
        profiles[p]["communication_preference"] == c
        for p, c in preferences.items()
        if profiles[p]["communication_preference_source"] not in ("survey", "event_traits")
    )
    behaviour = [r for r in rows if r["communication_preference_source"] == "channel_behaviour"]
    assert len(behaviour) > 0.5 * len(rows) and all(r["profile_id"] in preferences for r in behaviour)
    assert {r["engagement_level"] for r in rows} >= {"high", "medium", "low", "none"}
    impressions = built.rows(
        "select count(*), count(case when is_interaction then 1 end) from marts.touchpoints"
        " where event_name = 'Ad Impression'",
    )
    assert impressions[0][0] > 0 and impressions[0][1] == 0  # config enrichment.passive_events


def test_engagement_history_adds_up_to_the_resolved_messages(built):
    history = dict(
        built.rows("select channel, sum(touch_count) from marts.engagement_history group by channel")
    )
    messages = dict(
        built.rows("select channel, count(*) from intermediate.int_event_messages_resolved group by 1")
    )
    tasks = built.scalar(
        "select count(*) from staging.stg_salesforce__tasks as tasks"
        " join intermediate.int_identities_resolved as ids"
        " on ids.source_system = 'salesforce' and ids.source_id = tasks.who_id"
    )
    assert history == {**messages, "sales": tasks}
    devices = {r[0] for r in built.rows("select device_type from marts.customer_profiles")}
    assert {"mobile", "desktop"} <= devices
