"""What the Dagster UI shows of revloop: dbt assets described by their yml (no SQL), every check described,
rounded metadata with column types, runs named by job and stage, and each dbt test a check of the dbt phase
that runs it (else dagster-dbt warns and logs an observation instead)."""

import ast
import json
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey, MetadataValue, Output
from dagster_dbt.asset_utils import get_asset_check_key_for_test

from orchestration.dbt_descriptions import MAX_VALUES, dbt_test_description, node_description
from orchestration.metadata import round_float, rounded_metadata
from orchestration.shared import STAGES
from tests.unit.test_table_metadata import FakeInvocation

REPO = Path(__file__).resolve().parents[2]
DBT_PHASES = (
    "dbt_before_identity",
    "dbt_after_identity",
    "dbt_after_models",
    "dbt_after_segments",
    "dbt_after_handoff",
)
EMITTERS = {"MaterializeResult", "AssetCheckResult"}


@pytest.fixture(scope="module")
def defs():
    from orchestration.definitions import defs

    return defs


@pytest.fixture(scope="module")
def manifest():
    from orchestration.shared import dbt_project

    return json.loads(dbt_project.manifest_path.read_text())


def _dbt_specs(defs):
    from orchestration.defs import warehouse

    return [spec for name in DBT_PHASES for spec in getattr(warehouse, name).specs]


def test_every_dbt_asset_is_described_by_its_yml_without_sql(defs, manifest):
    specs = _dbt_specs(defs)
    assert len(specs) > 60
    described = {
        node["name"]: node["description"].strip()
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
    }
    for spec in specs:
        text = spec.description or ""
        assert text and "{{" not in text and "select " not in text.lower() and "Raw SQL" not in text, spec.key
        assert text == described[spec.key.path[-1]], spec.key
    ml = [spec for spec in specs if spec.key.path[-1].startswith("int_ml_")]
    assert len(ml) >= 5 and all(not spec.description.startswith("dbt model") for spec in ml)


def test_a_model_without_a_description_gets_its_kind_and_name_not_its_sql():
    node = {"resource_type": "model", "name": "m", "description": " ", "raw_code": "select {{ ref('x') }}"}
    assert node_description(node) == "dbt model m."


def test_every_check_is_described_and_a_dbt_test_by_its_full_name(defs):
    graph = defs.resolve_asset_graph()
    keys = list(graph.asset_check_keys)
    assert len(keys) > 100
    python_checks = 0
    for key in keys:
        description = graph.get_check_spec(key).description or ""
        assert len(description) > 20, key
        if key.name.startswith(("auc_above_", "quarantine_rate", "sync_refusals", "no_conflicting")):
            python_checks += 1
        else:
            assert description.endswith(f"dbt test: {key.name}"), key
    assert python_checks == 8


def test_dbt_test_descriptions_say_what_each_test_asserts():
    profiles = {"schema": "marts", "alias": "customer_profiles", "name": "customer_profiles"}

    def test(kind, column=None, where=None, **kwargs):
        return {
            "name": f"{kind}_x",
            "column_name": column,
            "test_metadata": {"name": kind, "kwargs": kwargs},
            "config": {"where": where},
        }

    assert dbt_test_description(test("not_null", "email"), profiles) == (
        "`email` is never null in marts.customer_profiles. dbt test: not_null_x"
    )
    many = dbt_test_description(test("accepted_values", "tier", values=list("abcdefghijk")), profiles)
    assert many.startswith("`tier` is one of a, b, c") and f"(+{11 - MAX_VALUES} more)" in many
    rules = dbt_test_description(
        test(
            "row_rules", not_null=["profile_id", "email"], unique=["profile_id"],
            unique_combinations=[["email", "tier"]], accepted_range={"score": {"min_value": 0}},
            accepted_values={"tier": ["a", "b"]}, is_trimmed=["email"], not_empty_string=["phone"],
            expressions=["a <= b", {"column": "email", "expression": "email = lower(email)"}],
        ),
        profiles,
    )
    assert rules == (
        "Every row has `profile_id`, `email` never null; `profile_id` unique; (`email`, `tier`) unique "
        "together; `score` at least 0; `tier` one of a, b; "
        "`email` without leading or trailing spaces; `phone` never an empty string; `a <= b` true; "
        "`email = lower(email)` true where `email` is set in marts.customer_profiles. dbt test: row_rules_x"
    )
    linked = test("relationships", "profile_id", to="ref('customer_profiles')", field="profile_id")
    assert "Every `profile_id` exists in customer_profiles.profile_id" in dbt_test_description(
        linked, profiles
    )
    filtered = dbt_test_description(test("expression_is_true", where="x > 0", expression="y = 1"), profiles)
    assert filtered == (
        "Every row satisfies `y = 1` in marts.customer_profiles (rows where x > 0). "
        "dbt test: expression_is_true_x"
    )
    own = {**test("custom", "c"), "description": "Scores add up."}
    assert dbt_test_description(own, profiles) == "Scores add up. dbt test: custom_x"
    assert dbt_test_description(test("custom", "c"), None) == "dbt test custom. dbt test: custom_x"


def rule_count(test: dict) -> int:
    """The rules a dbt test asserts: each of a row_rules test's (one scan checks them all), else one."""
    metadata = test.get("test_metadata") or {}
    if metadata.get("name") != "row_rules":
        return 1
    return sum(len(rules) for rules in metadata["kwargs"].values() if isinstance(rules, list | dict))


def test_every_dbt_test_is_a_check_of_the_dbt_phase_that_runs_it(manifest):
    """dbt runs a test with the phase that builds the last of its parents; its Dagster check must belong to
    that phase's asset definition, or dagster-dbt warns and records an observation instead of the check."""
    from orchestration.defs import warehouse
    from orchestration.shared import dbt_project

    phase_of = {key: index for index, name in enumerate(DBT_PHASES) for key in getattr(warehouse, name).keys}
    translator = warehouse.WarehouseTranslator()
    tests = [uid for uid, node in manifest["nodes"].items() if node["resource_type"] == "test"]
    assert sum(rule_count(manifest["nodes"][uid]) for uid in tests) > 500
    misplaced = []
    for uid in tests:
        parents = [p for p in manifest["nodes"][uid]["depends_on"]["nodes"] if p in manifest["nodes"]]
        runs_in = max(phase_of[translator.get_asset_spec(manifest, p, dbt_project).key] for p in parents)
        check = get_asset_check_key_for_test(manifest, translator, uid, dbt_project)
        if check is None or phase_of.get(check.asset_key) != runs_in:
            misplaced.append(manifest["nodes"][uid]["name"])
    assert not misplaced, f"dbt tests that would run outside their check's phase: {misplaced}"


def test_metadata_floats_are_rounded_for_people():
    metadata = rounded_metadata(
        {
            "auc": 0.8110489483965181,
            "share": 0.017712,
            "duration": MetadataValue.float(12.345678),
            "plan": MetadataValue.json({"rates": [0.123456, 2]}),
            "rows": 3,
            "dry_run": True,
            "mode": "sync",
        }
    )

    assert metadata["auc"] == 0.811 and metadata["share"] == 0.0177
    assert metadata["duration"].value == 12.346 and metadata["plan"].data == {"rates": [0.123, 2]}
    assert (metadata["rows"], metadata["dry_run"], metadata["mode"]) == (3, True, "sync")
    assert round_float(-0.000123456) == -0.000123 and round_float(0.0) == 0.0
    assert rounded_metadata(None) == {}


def _emitted_metadata(tree: ast.Module) -> list[tuple[str, ast.expr, ast.FunctionDef]]:
    """(emitter, metadata= expression, enclosing function) of every MaterializeResult/AssetCheckResult."""
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in EMITTERS:
                found += [(node.func.id, kw.value, function) for kw in node.keywords if kw.arg == "metadata"]
    return found


def _is_rounded(value: ast.expr, function: ast.FunctionDef) -> bool:
    def rounding(expr):
        return isinstance(expr, ast.Call) and getattr(expr.func, "id", None) == "rounded_metadata"

    if rounding(value):
        return True
    name = getattr(value, "id", None)
    assigned = [
        node.value
        for node in ast.walk(function)
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets)
    ]
    return bool(assigned) and all(rounding(expr) for expr in assigned)


def test_every_asset_and_check_emits_its_metadata_rounded():
    emitted = []
    for path in sorted((REPO / "orchestration" / "defs").glob("*.py")):
        for emitter, value, function in _emitted_metadata(ast.parse(path.read_text())):
            emitted.append((path.stem, function.name, emitter, _is_rounded(value, function)))
    assert len(emitted) >= 10
    assert {module for module, *_ in emitted} >= {"ingestion", "ml", "activation", "segments", "checks"}
    assert [e for e in emitted if not e[-1]] == []


def test_dbt_events_carry_column_types_and_rounded_floats(tmp_path):
    from orchestration.defs.warehouse import with_table_metadata
    from orchestration.resources import WarehouseResource

    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.people as select 1::bigint as profile_id, 'a' as email, 0.5 as score")
    people = Output(
        None, "marts_people", metadata={"unique_id": "model.revloop.people", "Execution Duration": 0.177027}
    )

    [event] = with_table_metadata(FakeInvocation([people]), WarehouseResource(path=str(path)))

    schema = event.metadata["dagster/column_schema"].schema
    assert [(c.name, c.type) for c in schema.columns] == [
        ("profile_id", "BIGINT"),
        ("email", "VARCHAR"),
        ("score", "DECIMAL(2,1)"),
    ]
    assert event.metadata["Execution Duration"].value == 0.177


def test_every_run_is_named_by_its_job(defs):
    from orchestration.demo import plan_stages

    jobs = {job.name for job in defs.jobs}
    assert "__ASSET_JOB" not in jobs and {job for _, job in STAGES} | {"full_build"} <= jobs
    assert all(schedule.job_name in jobs for schedule in defs.schedules)
    assert all(sensor.job_name in jobs for sensor in defs.sensors if sensor.has_jobs)
    stages = plan_stages(defs)
    assert [(stage.name, stage.job) for stage in stages] == list(STAGES)
    graph = defs.resolve_asset_graph()
    materializable = {key for key in graph.get_all_asset_keys() if graph.get(key).is_materializable}
    assert set().union(*(stage.keys for stage in stages)) == materializable
    for stage in stages:
        assert set(defs.resolve_job_def(stage.job).asset_layer.selected_asset_keys) == set(stage.keys)
    demo = (REPO / "orchestration" / "demo.py").read_text()
    assert "resolve_implicit_global_asset_job_def" not in demo and "resolve_job_def(stage.job)" in demo


def test_the_unsynced_models_after_an_hourly_sync_are_explained(defs):
    graph = defs.resolve_asset_graph()
    hourly = set(defs.resolve_job_def("hourly_sync").asset_layer.selected_asset_keys)
    ml = [key for key in graph.get_all_asset_keys() if graph.get(key).group_name == "ml"]
    assert AssetKey(["ml", "predictions"]) in ml and not hourly & set(ml)
    for key in ml:
        assert "Unsynced" in graph.get(key).description and "daily_models" in graph.get(key).description, key
    assert "Unsynced" in defs.resolve_job_def("hourly_sync").description


def test_a_python_built_table_shows_the_types_and_descriptions_dbt_declares_for_it(tmp_path):
    from orchestration.shared import source_columns
    from orchestration.table_metadata import warehouse_tables_metadata

    declared = source_columns("identity", "profile_map")
    assert len(declared) > 3 and all(declared.values())
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema identity")
        con.execute(f"create table identity.profile_map ({', '.join(f'{c} varchar' for c in declared)})")

    found = warehouse_tables_metadata(path, [("identity", "profile_map")])

    columns = found[("identity", "profile_map")]["dagster/column_schema"].schema.columns
    assert [(c.name, c.type, c.description) for c in columns] == [
        (name, "VARCHAR", text) for name, text in declared.items()
    ]
    assert source_columns("identity", "no_such_table") == {}
