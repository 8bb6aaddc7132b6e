"""config/survivorship.yml: the shipped file, the rule shorthands, and errors that name the key."""

import pytest
import yaml

from revloop.config import ConfigError, load
from revloop.config.survivorship import ATTRIBUTES, SurvivorshipConfig, load_survivorship_config


def _load(folder, document: dict) -> SurvivorshipConfig:
    (folder / "survivorship.yml").write_text(yaml.safe_dump(document))
    return load("survivorship", SurvivorshipConfig, folder)


def test_the_shipped_config_gives_every_attribute_a_rule():
    config = load_survivorship_config()
    assert set(config.attributes) == set(ATTRIBUTES)
    assert config.attributes["email"].priority[0] == "salesforce_contact"
    assert config.attributes["phone"].rule == "most_recent"
    assert config.attributes["first_name"] == config.default
    assert "gmail.com" in config.enrichment.free_email_domains


def test_shorthands_become_explicit_rules_for_dbt(tmp_path):
    config = _load(tmp_path, {
        "default": {"priority": ["hubspot_contact", "event_traits"]},
        "attributes": {"city": "most_recent", "email": {"priority": ["event_traits"]}},
        "enrichment": {"free_email_domains": [" GMail.com ", "gmail.com"]},
        "placeholder_values": {"company_name": ["  Individual "]},
    })
    dumped = config.model_dump(mode="json")
    assert dumped["attributes"]["city"] == {"rule": "most_recent", "priority": []}
    assert dumped["attributes"]["email"] == {"rule": "priority", "priority": ["event_traits"]}
    assert dumped["attributes"]["country"] == dumped["default"]
    assert dumped["default"] == {"rule": "priority", "priority": ["hubspot_contact", "event_traits"]}
    assert dumped["enrichment"]["free_email_domains"] == ["gmail.com"]
    assert dumped["placeholder_values"] == {"company_name": ["individual"]}
    # the dump validates again unchanged: dbt and Python read the same rules
    assert SurvivorshipConfig.model_validate(dumped) == config


@pytest.mark.parametrize(
    ("document", "named"),
    [
        ({"default": "most_recent", "atributes": {}}, "atributes"),
        ({"default": "most_recent", "attributes": {"e_mail": "most_recent"}}, "e_mail"),
        ({"default": {"priority": ["salesforce", "hubspot_contact"]}}, "default"),
        ({"default": {"priority": []}}, "non-empty"),
        ({"default": {"priority": ["event_traits", "event_traits"]}}, "twice"),
        ({"default": {"rule": "most_recent", "priority": ["event_traits"]}}, "no priority list"),
        ({"default": "newest"}, "default"),
        ({"default": "most_recent", "value_maps": {"lifecycle_stage": {"Open": "prospect"}}}, "prospect"),
        ({"default": "most_recent", "enrichment": {"engagement_levels": {"medium": 9, "high": 3}}}, "high"),
    ],
)
def test_mistakes_are_errors_naming_the_file_and_key(tmp_path, document, named):
    with pytest.raises(ConfigError) as error:
        _load(tmp_path, document)
    assert "survivorship.yml" in str(error.value) and named in str(error.value)
