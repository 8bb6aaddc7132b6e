"""customer_profiles' contract columns, read from the dbt YAML: one list for every Python reader."""

import pytest

import revloop.profiles as profiles
from collector.snapshot import served_columns
from revloop.profiles import ProfileContract, profile_contract

# contract.md: "Warehouse tables analysts query", customer_profiles
CONTRACT = (
    "profile_id", "email", "phone", "first_name", "last_name", "company_name", "job_title", "country",
    "industry", "lifecycle_stage", "lead_score", "churn_risk", "purchase_likelihood", "engagement_potential",
    "first_seen_at", "last_seen_at",
)


def test_the_yaml_marks_the_contract_columns_in_order():
    contract = profile_contract()
    assert contract.columns == CONTRACT
    assert contract.scores == ("lead_score", "churn_risk", "purchase_likelihood", "engagement_potential")
    assert contract.traits == (*contract.attributes, "first_seen_at", "last_seen_at")
    # every contract column is served by the profile API, once
    assert sorted(served_columns()) == sorted(CONTRACT)


def test_an_unknown_kind_is_an_error_naming_the_column(tmp_path, monkeypatch):
    yml = tmp_path / "_profiles__marts.yml"
    yml.write_text(
        "version: 2\nmodels:\n  - name: customer_profiles\n    columns:\n"
        "      - name: profile_id\n        config: {meta: {contract: key}}\n"
        "      - name: email\n        config: {meta: {contract: trait}}\n"
    )
    monkeypatch.setattr(profiles, "PROFILES_YML", yml)
    profile_contract.cache_clear()
    try:
        with pytest.raises(ValueError, match="email: contract 'trait' is not one of"):
            profile_contract()
    finally:
        profile_contract.cache_clear()
    with pytest.raises(ValueError, match="unknown contract kinds"):
        ProfileContract(("profile_id",), {"profile_id": "key"}).of("trait")
