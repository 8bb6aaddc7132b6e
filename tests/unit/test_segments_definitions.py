"""Segment definitions: validation errors name the file, the rule path and the allowed choices."""

import datetime as dt
from pathlib import Path

import pytest
import yaml

from revloop.config.segments import walk
from segments.compiler import compile_segment, criteria_catalogue
from segments.definitions import FAMILIES, SegmentError, criteria_families, load_segment, load_segments

COLUMNS = {
    "profile_id": "VARCHAR",
    "email": "VARCHAR",
    "industry": "VARCHAR",
    "employee_count": "BIGINT",
    "lead_score": "INTEGER",
    "purchase_likelihood": "FLOAT",
    "last_seen_at": "TIMESTAMP WITH TIME ZONE",
    "is_customer": "BOOLEAN",
}


def write(folder: Path, name: str, data: dict) -> Path:
    path = folder / f"{name}.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def dynamic(rules, **extra) -> dict:
    return {"name": "s", "type": "dynamic", "description": "d", "owner": "o", "rules": rules, **extra}


def test_unknown_operator_names_file_path_and_choices(tmp_path):
    path = write(
        tmp_path,
        "bad_op",
        dynamic(
            {
                "all": [
                    {"field": "industry", "op": "eq", "value": "x"},
                    {"any": [{"field": "industry", "op": "equals", "value": 1}]},
                ]
            }
        ),
    )
    with pytest.raises(SegmentError) as error:
        load_segment(path)
    message = str(error.value)
    assert str(path) in message
    assert "rules.all[1].any[0]" in message
    assert "'equals'" in message and "eq, ne, lt, lte, gt, gte" in message and "not_null" in message


def test_unknown_field_names_file_path_and_real_columns(tmp_path):
    item = load_segment(
        write(tmp_path, "bad_field", dynamic({"any": [{"field": "industy", "op": "eq", "value": "Retail"}]}))
    )
    with pytest.raises(SegmentError) as error:
        compile_segment(item, COLUMNS)
    message = str(error.value)
    assert str(item.path) in message and "rules.any[0]" in message and "'industy'" in message
    assert "industry, employee_count" in message


def test_operator_must_fit_the_column_type(tmp_path):
    item = load_segment(
        write(tmp_path, "t", dynamic({"field": "employee_count", "op": "contains", "value": "5"}))
    )
    with pytest.raises(
        SegmentError, match=r"rules: operator 'contains' does not apply to employee_count \(numeric\)"
    ):
        compile_segment(item, COLUMNS)
    item = load_segment(
        write(tmp_path, "v", dynamic({"field": "employee_count", "op": "gte", "value": "many"}))
    )
    with pytest.raises(SegmentError, match="value 'many' does not fit employee_count"):
        compile_segment(item, COLUMNS)


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ({"field": "industry", "op": "in", "value": "Retail"}, "in needs a non-empty list"),
        ({"field": "industry", "op": "is_null", "value": "x"}, "is_null takes no value"),
        ({"field": "industry", "op": "eq"}, "eq needs a single value"),
        ({"event": "Demo Requested", "at_least": 0, "within_days": 30}, "at_least"),
        ({"event": "Demo Requested"}, "within_days"),
        (
            {"event": "A", "page_path_prefix": "/p", "within_days": 3},
            "exactly one of event or page_path_prefix",
        ),
        ({"score": "happiness", "min": 1}, "score"),
        ({"score": "lead_score"}, "give min, max or both"),
        ({"all": []}, "a non-empty list of rules"),
        ({"field": "industry", "op": "eq", "value": "x", "any": []}, "exactly one of the keys"),
        ({"colour": "red"}, "exactly one of the keys field, event, page_path_prefix, score, all, any, not"),
        ({"field": "industry", "op": "eq", "value": "x", "typo": 1}, "typo"),
    ],
)
def test_invalid_rules(tmp_path, rules, expected):
    path = write(tmp_path, "bad", dynamic(rules))
    with pytest.raises(SegmentError) as error:
        load_segment(path)
    assert str(path) in str(error.value)
    assert expected in str(error.value)


def test_segment_level_checks(tmp_path):
    predictive = dynamic({"field": "industry", "op": "eq", "value": "x"}) | {"type": "predictive"}
    with pytest.raises(SegmentError, match="needs at least one score rule"):
        load_segment(write(tmp_path, "p", predictive))
    with pytest.raises(SegmentError, match="review_by"):
        load_segment(
            write(
                tmp_path,
                "s",
                {"name": "s", "type": "static", "description": "d", "owner": "o", "members": ["a@b.c"]},
            )
        )
    with pytest.raises(SegmentError, match="name"):
        load_segment(
            write(tmp_path, "n", dynamic({"field": "industry", "op": "is_null"}) | {"name": "Bad Name"})
        )
    with pytest.raises(SegmentError, match="ownr"):
        load_segment(write(tmp_path, "o", dynamic({"field": "industry", "op": "is_null"}) | {"ownr": "x"}))


def test_static_members_file_and_review_warning(tmp_path):
    (tmp_path / "list.txt").write_text("# comment\nA@Example.com\n\np-1  # a profile id\nA@Example.com\n")
    path = write(
        tmp_path,
        "abm",
        {
            "name": "abm",
            "type": "static",
            "description": "d",
            "owner": "o",
            "members_file": "list.txt",
            "review_by": dt.date(2026, 1, 31),
        },
    )
    item = load_segment(path)
    assert item.members == ("A@Example.com", "p-1")
    warning = item.review_warning(dt.date(2026, 2, 10))
    assert (
        warning is not None and str(path) in warning and "2026-01-31" in warning and "10 days ago" in warning
    )
    assert item.review_warning(dt.date(2026, 1, 31)) is None


def test_load_segments_reports_bad_files_and_duplicate_names(tmp_path):
    folder = tmp_path / "segments"
    folder.mkdir()
    write(folder, "a", dynamic({"field": "industry", "op": "is_null"}) | {"name": "dup"})
    write(folder, "b", dynamic({"field": "industry", "op": "is_null"}) | {"name": "dup"})
    write(folder, "c", dynamic({"field": "industry", "op": "is_null"}) | {"name": "fine"})
    (folder / "d.yml").write_text("name: [unclosed")
    items, errors = load_segments(tmp_path)
    assert [i.segment.name for i in items] == ["fine"]
    assert any("not valid YAML" in e and "d.yml" in e for e in errors)
    assert any("'dup' is defined twice" in e for e in errors)


def test_shipped_segments_cover_every_type_and_family():
    items, errors = load_segments(Path("config"))
    assert errors == []
    assert {i.segment.type for i in items} == {"static", "dynamic", "predictive"}
    families = {i.segment.family for i in items}
    assert {"demographic", "firmographic", "behavioural", "technographic", "psychographic", "predictive",
            "list"} <= families


def test_a_family_label_must_name_a_family_the_rules_use(tmp_path):
    # e-mail engagement is behaviour: a psychographic label on it is refused, naming the families it uses
    rules = {"all": [
        {"field": "engagement_level", "op": "eq", "value": "high"},
        {"event": "Email Opened", "at_least": 3, "within_days": 90},
    ]}
    path = write(tmp_path, "mislabelled", dynamic(rules, family="psychographic"))
    with pytest.raises(SegmentError, match=r"family 'psychographic' .*\(behavioural\)"):
        load_segment(path)
    assert load_segment(write(tmp_path, "honest", dynamic(rules, family="behavioural"))).segment.family
    technographic = dynamic({"field": "technology_stack", "op": "contains", "value": "HubSpot"})
    assert criteria_families(load_segment(write(tmp_path, "t", technographic)).segment) == {"technographic"}
    static = {"name": "l", "type": "static", "description": "d", "owner": "o", "members": ["a@b.c"],
              "review_by": "2030-01-01", "family": "demographic"}
    with pytest.raises(SegmentError, match="family 'demographic'.*\\(list\\)"):
        load_segment(write(tmp_path, "static_label", static))


def test_every_family_lists_its_criteria_once_and_the_catalogue_keeps_existing_columns():
    fields = [field for family in FAMILIES for field in family.fields]
    assert len(fields) == len(set(fields))
    by_name = {family.name: set(family.fields) for family in FAMILIES}
    # design 7.2, family by family
    assert {"age", "age_range", "gender", "country", "language", "income_level"} <= by_name["demographic"]
    firmographic = {"industry", "employee_count", "annual_revenue", "department", "job_title"}
    assert firmographic <= by_name["firmographic"]
    technographic = {"technology_stack", "platform_usage", "integration_count", "user_roles"}
    assert technographic <= by_name["technographic"]
    assert {"interests", "personal_values", "lifestyle", "personality", "communication_preference"} <= (
        by_name["psychographic"]
    )
    catalogue = {entry["family"]: entry for entry in criteria_catalogue(
        {"age": "BIGINT", "gender": "VARCHAR", "technology_stack": "VARCHAR"}
    )}
    assert [f["field"] for f in catalogue["demographic"]["fields"]] == ["age", "gender"]
    assert catalogue["demographic"]["fields"][0]["operators"][:2] == ["eq", "ne"]
    assert "contains" in catalogue["technographic"]["fields"][0]["operators"]
    assert catalogue["behavioural"]["rule_kinds"] == ["event", "page_path_prefix"]
    assert catalogue["predictive"]["rule_kinds"] == ["score"]


def test_shipped_segments_are_honestly_labelled():
    items, errors = load_segments(Path("config"))
    assert errors == []
    by_name = {i.segment.name: i.segment for i in items}
    for segment in by_name.values():
        assert segment.family in criteria_families(segment), segment.name
    # account-based marketing is over target accounts (their domains), not a list of people
    abm = by_name["abm_target_accounts"]
    assert abm.type == "dynamic" and abm.family == "firmographic"
    assert {r.field for r in walk(abm.rules) if hasattr(r, "field")} == {"company_domain", "email_domain"}
    # the event-targeting list is a static list
    assert by_name["advisory_board_invitees"].type == "static"
