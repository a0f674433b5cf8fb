"""The architecture is written down once, in `.importlinter`, and kept by this suite: each layer
imports only those below it, the faces never import each other, only the WapiKit client sends
HTTP, the product never imports the development tools, and no package's modules import each
other in a circle."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_import_linter_contract_is_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    answer = subprocess.run(
        [str(lint), "--config", str(ROOT / ".importlinter"), "--no-cache"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert answer.returncode == 0, answer.stdout[-4000:] + answer.stderr[-2000:]


def _imports_inside_functions(path: Path) -> list[str]:
    """`import dashboard…` statements inside a function body, except an AppConfig's `ready`
    (where Django wires signals, after every app is loaded)."""
    found = []

    def visit(node: ast.AST, function: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            name = function
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = child.name
            elif function is not None and function != "ready" and isinstance(child, (ast.Import, ast.ImportFrom)):
                modules = [a.name for a in child.names] if isinstance(child, ast.Import) else [child.module or ""]
                if getattr(child, "level", 0) or any(m.startswith(("dashboard", "devtools")) for m in modules):
                    found.append(f"{path.relative_to(ROOT)}:{child.lineno} in {function}()")
            visit(child, name)

    visit(ast.parse(path.read_text()), None)
    return found


def test_no_module_of_the_product_imports_one_of_its_own_inside_a_function():
    hidden = [hit for path in sorted((ROOT / "dashboard").rglob("*.py")) for hit in _imports_inside_functions(path)]
    assert hidden == [], "imports inside functions (a cycle dodged, or a layer crossed out of sight): " + ", ".join(hidden)


def test_no_module_is_over_400_lines_but_migrations_and_seed_data():
    long = {
        str(path.relative_to(ROOT)): lines
        for package in ("dashboard", "devtools")
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts and path.name != "seed.py"
        and (lines := len(path.read_text().splitlines())) > 400
    }
    assert long == {}
