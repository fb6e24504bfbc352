"""The README's Python pipeline block names real functions and calls them with arguments their signatures accept."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _python_block() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("### The same pipeline in Python", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "no python block in the README's pipeline section"
    return match.group(1)


def test_readme_pipeline_block_matches_the_api() -> None:
    tree = ast.parse(_python_block())
    names: dict[str, object] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("biohub"):
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name), f"{node.module} has no {alias.name}"
                names[alias.asname or alias.name] = getattr(module, alias.name)
    called = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in names:
            target = names[node.func.id]
            assert not any(isinstance(a, ast.Starred) for a in node.args) and all(k.arg for k in node.keywords)
            inspect.signature(target).bind(*node.args, **{str(k.arg): k.value for k in node.keywords})  # raises if not
            called.add(node.func.id)
    steps = {"convert_catalogued", "check_unified", "instruct", "build", "export", "train", "evaluate", "write_report", "push"}
    assert steps <= called, f"pipeline steps missing from the README block: {sorted(steps - called)}"


def test_readme_max_steps_override_is_a_recipe_key() -> None:
    from biohub.training.recipe import load_train_recipe

    assert load_train_recipe(ROOT / "recipes" / "two_stage_demo.yaml", ["max_steps=40"]).max_steps == 40


@pytest.mark.real_corpora
def test_readme_strict_convert_example_has_the_outcome_it_states(mirror: Path, tmp_path: Path) -> None:
    """Issue 25: the README's own `convert --strict` example said "exits 1"; on the real mirror it exits 2 (NCBI's
    duplicate PMID). The stated exit code and the reason the text gives must be what the command does."""
    from typer.testing import CliRunner

    from biohub.cli import app

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^biohub (convert --mirror \S+ --datasets (\S+) --out \S+ --strict) +# exits (\d+)", text, re.M)
    assert match, "no `convert ... --strict  # exits N` example in the README"
    args = ["convert", "--mirror", str(mirror), "--datasets", match.group(2), "--out", str(tmp_path / "u"), "--strict"]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "300"})
    assert result.exit_code == int(match.group(3)), result.output
    assert "PMID 8528200" in result.output and "PMID 8528200" in text and not (tmp_path / "u").exists()
