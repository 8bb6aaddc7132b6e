"""config/scoring.yml: the shipped file is valid, and mistakes are errors naming the file and the key."""

from pathlib import Path

import pytest
import yaml

from revloop.config import ConfigError, load
from revloop.config.scoring import KEYWORD_SEPARATORS, ScoringConfig, load_scoring_config, normalise_keyword
from revloop.dbt import DBT_PROJECT_DIR

REPO_CONFIG = DBT_PROJECT_DIR.parent / "config"
MINIMAL = {
    "sales_ready_threshold": 500,
    "fit": {
        "title": {
            "attribute": "job_title",
            "rules": [{"name": "vp", "points": 100, "keywords": ["VP", "Vice-President"]}],
        },
        "size": {
            "attribute": "employee_count",
            "match": "all",
            "rules": [{"name": "big", "points": 50, "min": 1000}],
        },
    },
    "behavior": {
        "half_life_days": 30,
        "max_points": 400,
        "events": [
            {"name": "demo", "points": 250, "max_points": 250, "event_names": ["Demo Requested"]},
            {"name": "pricing", "points": 40, "page_path_prefixes": ["/pricing"]},
        ],
    },
}


def _load(tmp_path: Path, data: dict) -> ScoringConfig:
    (tmp_path / "scoring.yml").write_text(yaml.safe_dump(data))
    return load("scoring", ScoringConfig, tmp_path)


def _error(tmp_path: Path, data: dict) -> str:
    with pytest.raises(ConfigError) as raised:
        _load(tmp_path, data)
    message = str(raised.value)
    assert str(tmp_path / "scoring.yml") in message
    return message


def _with(path: str, value) -> dict:
    """MINIMAL with the value at a dotted path (list items by index) replaced."""
    data = yaml.safe_load(yaml.safe_dump(MINIMAL))
    *parents, last = path.split(".")
    node = data
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    node[int(last) if isinstance(node, list) else last] = value
    return data


def test_shipped_config_is_valid(monkeypatch):
    monkeypatch.setenv("REVLOOP_CONFIG_DIR", str(REPO_CONFIG))
    config = load_scoring_config()
    assert config.sales_ready_threshold == 500
    assert config.fit["title"].rules[0].name == "c_level"
    names = [rule.name for rule in config.behavior.events]
    # /pricing views must be matched before the catch-all page rule, or they would count as plain page views
    assert names.index("pricing_page_view") < names.index("page_view")
    assert config.behavior.half_life_days > 0


def test_minimal_config_normalises_keywords_and_values(tmp_path):
    config = _load(tmp_path, MINIMAL)
    assert config.fit["title"].rules[0].keywords == ["vp", "vice president"]
    assert config.fit["title"].match == "first"
    assert config.fit["size"].match == "all"
    assert config.behavior.events[0].event_names == ["Demo Requested"]


def test_unknown_key_names_file_and_key(tmp_path):
    message = _error(tmp_path, _with("behavior.half_life", 30))
    assert "behavior.half_life: Extra inputs are not permitted" in message
    message = _error(tmp_path, _with("fit.title.rules.0.keyword", ["vp"]))
    assert "fit.title.rules.0.keyword: Extra inputs are not permitted" in message


def test_bad_type_names_the_key(tmp_path):
    assert "fit.title.rules.0.points" in _error(tmp_path, _with("fit.title.rules.0.points", "lots"))
    assert "fit.title.rules.0.points" in _error(tmp_path, _with("fit.title.rules.0.points", 12.5))
    assert "sales_ready_threshold" in _error(tmp_path, _with("sales_ready_threshold", "500"))


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("behavior.half_life_days", 0, "behavior.half_life_days: Input should be greater than 0"),
        ("behavior.max_points", -1, "behavior.max_points: Input should be greater than or equal to 0"),
        ("behavior.events.0.max_points", -5, "behavior.events.0.max_points: Input should be greater than"),
        ("sales_ready_threshold", 0, "sales_ready_threshold: Input should be greater than 0"),
        ("fit.title.attribute", "jobtitle", "fit.title.attribute: Input should be"),
        ("fit.title.match", "any", "fit.title.match: Input should be 'first' or 'all'"),
        ("fit.title.rules.0.name", "VP Rule", "fit.title.rules.0.name: String should match pattern"),
        ("fit.title.rules", [], "fit.title.rules: List should have at least 1 item"),
    ],
)
def test_out_of_range_values_name_the_key(tmp_path, path, value, expected):
    assert expected in _error(tmp_path, _with(path, value))


def test_rule_needs_exactly_one_matcher_fitting_its_attribute(tmp_path):
    both = _with("fit.title.rules.0.values", ["CEO"])
    assert "fit.title.rules.0: Value error, rule 'vp' needs exactly one of keywords" in _error(tmp_path, both)
    range_on_text = _with("fit.title.rules.0", {"name": "vp", "points": 1, "min": 3})
    assert "fit.title: Value error, rule 'vp': job_title is text" in _error(tmp_path, range_on_text)
    keywords_on_number = _with("fit.size.rules.0", {"name": "big", "points": 1, "keywords": ["large"]})
    message = _error(tmp_path, keywords_on_number)
    assert "fit.size: Value error, rule 'big': employee_count is a number" in message
    empty_range = _with("fit.size.rules.0", {"name": "big", "points": 1, "min": 1000, "max": 1000})
    assert "min (1000.0) must be below max (1000.0)" in _error(tmp_path, empty_range)
    no_matcher = _with("behavior.events.1", {"name": "pricing", "points": 1})
    message = _error(tmp_path, no_matcher)
    assert "behavior.events.1: Value error, event 'pricing' needs exactly one of" in message
    relative_path = _with("behavior.events.1.page_path_prefixes", ["pricing"])
    assert "behavior.events.1.page_path_prefixes" in _error(tmp_path, relative_path)


def test_factor_names_are_unique(tmp_path):
    twice = _with("behavior.events.1.name", "demo")
    assert "behavior: Value error, event rule names repeat: ['demo']" in _error(tmp_path, twice)
    reserved = _with("behavior.events.1.name", "cap")
    assert "'cap' is reserved" in _error(tmp_path, reserved)
    same_rule = _with("fit.title.rules", MINIMAL["fit"]["title"]["rules"] * 2)
    assert "fit.title: Value error, rule names repeat: ['vp']" in _error(tmp_path, same_rule)


def test_keywords_normalise_like_the_sql_does():
    assert normalise_keyword("  Co-Founder / CEO ") == "co founder ceo"
    assert normalise_keyword("R&D") == "r d"
    # the SQL translates the same characters to spaces (int_lead_score_factors.sql)
    sql = (DBT_PROJECT_DIR / "models" / "intermediate" / "int_lead_score_factors.sql").read_text()
    assert f"{{%- set separators = '{KEYWORD_SEPARATORS}' -%}}" in sql
