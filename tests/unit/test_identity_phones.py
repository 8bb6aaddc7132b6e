"""Phone numbers to E.164: every spelling of a number gives one key; national spellings need a region."""

import pytest

from identity.phones import region_of_country, to_e164


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+1 415 555 0123", "US", "+14155550123"),
        ("(415) 555-0123", "US", "+14155550123"),
        ("415.555.0123", "US", "+14155550123"),
        ("1-415-555-0123", "US", "+14155550123"),
        ("+44 20 7946 0958", "US", "+442079460958"),
        ("0044 20 7946 0958", "US", "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("+44 (0)20 7946 0958", "US", "+442079460958"),
        ("(02) 9123 4567", "AU", "+61291234567"),
        ("0 30 12345678", "DE", "+493012345678"),
    ],
)
def test_spellings_of_a_number_meet_in_e164(raw, region, expected):
    assert to_e164(raw, region) == expected


def test_a_national_number_read_in_the_wrong_region_is_not_that_number():
    assert to_e164("020 7946 0958", "US") != "+442079460958"


def test_text_that_is_no_phone_number_gives_none():
    assert to_e164("n/a", "US") is None
    assert to_e164("12", "US") is None


@pytest.mark.parametrize(
    ("country", "region"),
    [
        ("United Kingdom", "GB"),
        ("germany", "DE"),
        ("Australia", "AU"),
        ("US", "US"),
        ("Canada", "CA"),
        (None, None),
    ],
)
def test_country_names_and_codes_give_their_phone_region(country, region):
    assert region_of_country(country) == region
