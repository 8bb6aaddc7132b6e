"""The preferred language of an Accept-Language header: q-values, '*', malformed members."""

import pytest

from collector.languages import best_language


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("de-DE", "de-DE"),
        ("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5", "fr-CH"),
        # the highest weight wins wherever it stands; equals keep the sender's order
        ("en;q=0.4, es-MX;q=0.9, es;q=0.9", "es-MX"),
        ("en;Q=0.5 , nl ;q=0.8", "nl"),
        ("da, en-GB;q=0.8", "da"),
        ("en;q=1.000", "en"),
        # '*' says nothing about the person; q=0 means not acceptable
        ("*", None),
        ("*, de;q=0.3", "de"),
        ("en;q=0, fr;q=0.0", None),
        # malformed members are skipped, the rest still count
        ("en;q=1.5, pt-BR;q=0.2", "pt-BR"),
        ("en;q=abc, it;q=0.1", "it"),
        ("toolonglanguage, sv", "sv"),
        ("en_US, ja", "ja"),
        ("en;level=1, ko;q=0.5", "ko"),
        ("de-*, pl", "pl"),
        (",, fi ,", "fi"),
        ("", None),
        (None, None),
        ("🙂", None),
        ("en;q=0.5;q=0.6", None),
        ("en" + ", en" * 400, None),  # over 1024 characters: ignored whole
    ],
)
def test_best_language(header, expected):
    assert best_language(header) == expected
