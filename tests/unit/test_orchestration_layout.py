"""The shape of orchestration/ and of the warehouse seam, read from the source: standalone defs modules,
thin asset bodies, and one module that opens DuckDB connections."""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEFS = sorted((REPO / "orchestration" / "defs").glob("*.py"))
ASSET_DECORATORS = {"asset", "multi_asset", "dlt_assets", "dbt_assets", "raw_assets"}
MAX_ASSET_BODY_LINES = 15


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _imported_modules(tree: ast.Module) -> set[str]:
    """Every module an import statement names, `from a import b` counted as both a and a.b."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def _decorator_name(decorator: ast.expr) -> str:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")


def _asset_bodies(tree: ast.Module) -> dict[str, int]:
    """name -> lines of the body of every function decorated as an asset (docstring excluded)."""
    bodies = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and any(
            _decorator_name(d) in ASSET_DECORATORS for d in node.decorator_list
        ):
            body = node.body[1:] if ast.get_docstring(node) else node.body
            bodies[node.name] = body[-1].end_lineno - body[0].lineno + 1
    return bodies


def test_the_layout_is_read_from_real_modules():
    names = {path.stem for path in DEFS}
    assert {"ingestion", "warehouse", "ml", "activation", "handoff", "automation"} <= names
    bodies = {name for path in DEFS for name in _asset_bodies(_tree(path))}
    assert {"salesforce_raw", "phase", "crm_sync", "lead_handoffs", "segment_memberships"} <= bodies


@pytest.mark.parametrize("path", DEFS, ids=lambda path: path.stem)
def test_no_defs_module_imports_another(path):
    others = {f"orchestration.defs.{other.stem}" for other in DEFS if other != path} - {
        "orchestration.defs.__init__"
    }
    found = sorted(_imported_modules(_tree(path)) & others)
    assert not found, f"{path.name} imports {found}: shared names belong in orchestration.shared"


@pytest.mark.parametrize("path", DEFS, ids=lambda path: path.stem)
def test_asset_bodies_are_thin(path):
    long = {name: n for name, n in _asset_bodies(_tree(path)).items() if n > MAX_ASSET_BODY_LINES}
    assert not long, f"asset bodies over {MAX_ASSET_BODY_LINES} lines in {path.name}: {long}"


def test_only_the_warehouse_module_opens_duckdb_connections():
    sources = [
        path
        for path in REPO.rglob("*.py")
        if not {".venv", "tests", "dbt_project"} & set(path.relative_to(REPO).parts)
    ]
    assert len(sources) > 100
    opening = sorted(
        str(path.relative_to(REPO))
        for path in sources
        if any(
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "connect"
            and getattr(node.func.value, "id", None) == "duckdb"
            for node in ast.walk(_tree(path))
        )
    )
    assert opening == ["revloop/warehouse.py"]
