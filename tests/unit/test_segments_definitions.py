"""Segment definitions: validation errors name the file, the rule path and the allowed choices."""

import datetime as dt
from pathlib import Path

import pytest
import yaml

from segments.compiler import compile_segment
from segments.definitions import SegmentError, load_segment, load_segments

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
    assert {"demographic", "firmographic", "behavioural", "technographic", "psychographic"} <= families
