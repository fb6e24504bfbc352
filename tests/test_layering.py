"""Imports point down the pipeline, never up it.

The stages run converters -> templates -> hub, and hub's folders feed training and eval side by side; selfinstruct is
a side tool that only needs a model. Below every stage sit the shared modules: ``errors`` (BiohubError), ``schema``
(records), ``io`` (files, local path or Hub id), ``typed`` (YAML to dataclasses), ``models`` (model and tokenizer
loading, chat template, prompt padding), ``chat_client`` (OpenAI-compatible servers) and ``text`` (CJK rule, Chinese
words, seeded hash choice). Each part may
import the shared modules, the parts listed for it below (all earlier in the pipeline) and itself; nothing imports
training, eval, selfinstruct or cli except cli, the command-line layer over everything (and ``__main__``, which only
runs cli).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "biohub"

# The shared modules, and what each of them may import (only shared modules listed before it).
SHARED: dict[str, set[str]] = {
    "errors": set(),
    "schema": {"errors"},
    "typed": {"errors"},
    "text": set(),
    "io": {"errors", "typed"},  # load_yaml: the one safe YAML loader
    "models": {"errors", "io"},
    "outputs": {"errors", "io"},
    "chat_client": {"errors"},  # OpenAI-compatible servers: eval's openai backend, the self-instruct generator
}

# The stages: the stages each may import, besides itself and the shared modules.
STAGES: dict[str, set[str]] = {
    "converters": set(),
    "templates": set(),
    "hub": {"converters", "templates"},
    "training": {"templates"},
    "eval": {"converters", "templates"},  # the catalog (official metrics); the templates' answer parsers
    "selfinstruct": set(),  # a model writes Alpaca JSON: models and text are all it needs
    "cli": {"converters", "templates", "hub", "training", "eval", "selfinstruct"},
    "__main__": {"cli"},  # `python -m biohub`: the command line, nothing else
}


def _part(module: str) -> str:
    """The part of biohub a module name belongs to (``biohub.eval.run`` -> ``eval``; ``biohub`` -> ``""``)."""
    return module.split(".")[1] if module.count(".") else ""


def _imports(path: Path) -> set[str]:
    """Every absolute ``biohub...`` module a file imports, at the top or inside a function."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return {name for name in found if name.startswith("biohub.")}


def allowed(part: str) -> set[str]:
    """The parts ``part`` may import."""
    if part in SHARED:
        return {part} | SHARED[part]
    return {part} | set(SHARED) | STAGES[part]


def violations(part: str, modules: set[str]) -> list[str]:
    """The modules among ``modules`` that ``part`` may not import."""
    return sorted(module for module in modules if _part(module) not in allowed(part) | {""})


def test_every_part_of_biohub_is_in_the_table() -> None:
    parts = {path.relative_to(PACKAGE).parts[0].removesuffix(".py") for path in PACKAGE.rglob("*.py")} - {"__init__"}
    assert parts == set(SHARED) | set(STAGES)


def test_imports_follow_the_pipeline() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        part = relative.parts[0].removesuffix(".py")
        if part == "__init__":
            continue
        found += [f"{relative} imports {module}" for module in violations(part, _imports(path))]
    assert not found, "\n".join(found)


def test_an_import_up_the_pipeline_is_a_violation() -> None:
    assert violations("eval", {"biohub.training.models"}) == ["biohub.training.models"]
    assert violations("selfinstruct", {"biohub.eval.metrics", "biohub.models"}) == ["biohub.eval.metrics"]
    assert violations("models", {"biohub.templates.length"}) == ["biohub.templates.length"]
    assert violations("text", {"biohub.io"}) == ["biohub.io"]
    assert violations("hub", {"biohub.models", "biohub.text", "biohub.converters.catalog"}) == []
