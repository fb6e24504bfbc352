"""Dependencies point one way: converters -> templates -> hub -> training -> eval (selfinstruct beside eval); nothing imports
training, eval, selfinstruct or cli."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "biohub"

# What each part may import from biohub (besides itself, the top-level package and the shared io, typed and text helpers).
ALLOWED: dict[str, set[str]] = {
    "schema": set(),
    "io": set(),
    "converters": {"schema"},
    "templates": {"schema"},
    "hub": {"schema", "converters", "templates"},
    "training": {"schema", "templates"},
    "eval": {"schema", "templates", "converters", "training"},  # the catalog (official metrics); model loading
    "selfinstruct": {"training", "eval"},  # a side tool: a model (loaded and prompted as in training/eval) writes Alpaca JSON
    "cli": {"schema", "converters", "templates", "hub", "training", "eval", "selfinstruct"},
}


def _part(module: str) -> str:
    return module.split(".")[1] if module.count(".") else ""


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return {name for name in found if name.startswith("biohub.")}


def test_imports_follow_the_pipeline() -> None:
    violations = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        part = relative.parts[0].removesuffix(".py")
        if part == "__init__":
            continue
        for module in _imports(path):
            target = _part(module)
            if target in ("", part, "io", "typed", "text") or target in ALLOWED[part]:
                continue
            violations.append(f"{relative} imports {module}")
    assert not violations, "\n".join(violations)
