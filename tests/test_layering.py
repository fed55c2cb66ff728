"""ARCHITECTURE.md §3: api -> orchestrator <- handlers, enforced by reading imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _imports(package: str) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for path in (ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found |= {(str(path.relative_to(ROOT)), alias.name.split(".")[0]) for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add((str(path.relative_to(ROOT)), node.module.split(".")[0]))
    return found


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("orchestrator", {"flask", "werkzeug", "api", "handlers", "flask_smorest"}),
        ("handlers", {"flask", "werkzeug", "api", "sqlalchemy"}),
    ],
)
def test_package_does_not_import(package: str, forbidden: set[str]) -> None:
    """The core stays free of HTTP and of its plug-ins; handlers see only the handler SDK."""
    offenders = sorted(
        f"{file} imports {module}" for file, module in _imports(package) if module in forbidden
    )
    assert offenders == []


def test_handlers_import_only_the_sdk_from_orchestrator() -> None:
    for path in (ROOT / "handlers").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("orchestrator"):
                assert node.module == "orchestrator.handler_sdk", f"{path.name} imports {node.module}"


def test_no_eval_or_exec_in_the_product() -> None:
    """BPMN is code we never execute: no eval/exec/compile calls anywhere in the product."""
    calls = []
    for package in ("orchestrator", "api", "handlers"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id in {"eval", "exec", "compile"}
                ):
                    calls.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert calls == []
