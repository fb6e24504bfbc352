"""The one YAML loader (``biohub.typed.load_yaml``): safe, and a key given twice is an error naming file and line,
in every kind of YAML file biohub reads (training and build recipes, catalog entries, template families, suites)."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from biohub.converters.catalog import catalog_dir, load_entry
from biohub.errors import BiohubError
from biohub.eval.suite import SUITES, load_suite
from biohub.hub.recipe import load_recipe
from biohub.templates.library import data_dir, load_family
from biohub.training.recipe import load_train_recipe
from biohub.typed import DuplicateKeyError, load_yaml

ROOT = Path(__file__).resolve().parents[1]


def test_a_key_given_twice_is_refused_with_file_and_line() -> None:
    with pytest.raises(DuplicateKeyError, match=r"^recipe\.yaml:3: duplicate key 'seed' \(first given at line 1\)"):
        load_yaml("seed: 0\nname: x\nseed: 1\n", "recipe.yaml")
    with pytest.raises(DuplicateKeyError, match=r"f\.yaml:2: duplicate key 'k'"):
        load_yaml("a:\n  - {k: 1, k: 2}\n", "f.yaml")
    assert issubclass(DuplicateKeyError, BiohubError) and issubclass(DuplicateKeyError, yaml.YAMLError)


def test_the_loader_stays_safe_and_reads_plain_yaml() -> None:
    assert load_yaml("a: 1\nb: [x, {c: 2.5}]\n", "f") == {"a": 1, "b": ["x", {"c": 2.5}]}
    assert load_yaml("base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  y: 3\n", "f")["d"] == {"x": 1, "y": 3}  # a merge may override
    with pytest.raises(yaml.YAMLError, match="could not determine a constructor"):
        load_yaml("!!python/object/apply:os.system [echo]", "f")
    with pytest.raises(yaml.YAMLError, match='in "bad.yaml", line 1'):  # syntax errors name the source too
        load_yaml("a: [1, 2", "bad.yaml")


def _with_duplicate(original: Path, tmp_path: Path, key: str) -> Path:
    """A copy of ``original`` whose first line is ``key`` again, appended at the end (a top-level duplicate)."""
    lines = original.read_text(encoding="utf-8").splitlines()
    first = next(line for line in lines if line.startswith(f"{key}:"))
    copy = tmp_path / original.name
    copy.write_text("\n".join([*lines, first]) + "\n", encoding="utf-8")
    return copy


READERS: dict[str, tuple[Path, str, Callable[[Path], Any]]] = {
    "training recipe": (ROOT / "recipes" / "two_stage_demo.yaml", "name", load_train_recipe),
    "build recipe": (ROOT / "recipes" / "demo.yaml", "seed", load_recipe),
    "catalog entry": (catalog_dir() / "cmeee.yaml", "name", load_entry),
    "template family": (data_dir() / "families" / "ner.yaml", "version", load_family),
    "eval suite": (SUITES / "taiyi_style.yaml", "name", lambda path: load_suite(str(path))),
}


@pytest.mark.parametrize("kind", sorted(READERS))
def test_every_yaml_reader_refuses_a_duplicate_key(kind: str, tmp_path: Path) -> None:
    original, key, read = READERS[kind]
    read(original)  # the shipped file reads
    copy = _with_duplicate(original, tmp_path, key)
    with pytest.raises(BiohubError, match=rf"{copy}:\d+: duplicate key '{key}'"):
        read(copy)


def test_no_module_calls_yaml_load_directly() -> None:
    """Every YAML document is read by ``load_yaml`` (``yaml.safe_load``/``yaml.load`` would accept duplicate keys)."""
    calls = []
    for path in sorted([*(ROOT / "biohub").rglob("*.py"), *(ROOT / "benchmarks").rglob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "yaml":
                if node.attr in {"safe_load", "load", "safe_load_all", "load_all", "full_load", "unsafe_load"}:
                    calls.append(f"{path.relative_to(ROOT)}:{node.lineno}: yaml.{node.attr}")
    assert not calls
