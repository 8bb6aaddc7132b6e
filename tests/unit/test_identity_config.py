"""config/identity.yml: the shipped file loads, and mistakes are errors naming the key."""

import pytest

from revloop.config import ConfigError, load
from revloop.config.identity import IdentityConfig, load_identity_config


def test_shipped_config_loads():
    config = load_identity_config()
    assert config.match_threshold == 0.8
    assert config.default_phone_region == "US"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("match_treshold: 0.8\n", "match_treshold"),
        ("match_threshold: 1.5\n", "match_threshold"),
        ("default_phone_region: XX\n", "default_phone_region"),
        ("probabilistic: {em_iterations: 0}\n", "probabilistic.em_iterations"),
    ],
)
def test_mistakes_name_the_key(tmp_path, text, key):
    (tmp_path / "identity.yml").write_text(text)
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load("identity", IdentityConfig, tmp_path)


def test_ignored_emails_are_compared_lower_case(tmp_path):
    (tmp_path / "identity.yml").write_text("ignored_emails: [' Info@Example.com ']\n")
    assert load("identity", IdentityConfig, tmp_path).ignored_emails == ["info@example.com"]
