"""Build recipes refuse values outside their domain at load, naming the file and the key (issue 25 item 10): settings
that would turn decontamination off, an unknown task family or answer format, a negative token limit."""

from __future__ import annotations

from pathlib import Path

import pytest

from biohub.hub.recipe import RecipeError, load_recipe

ROOT = Path(__file__).resolve().parents[2]
PLAN = "datasets: {ncbi_disease: {train: [train], eval: [test]}}\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("decontamination: {ngram: 0, threshold: 7}\n", r"decontamination.ngram: must be at least 1 \(got 0\); "
         r"decontamination.threshold: must be a fraction in \(0, 1\] \(got 7.0\)"),
        ("decontamination: {ngram_zh: -2}\n", r"decontamination.ngram_zh: must be at least 1"),
        ("decontamination: {threshold: 0}\n", r"decontamination.threshold: must be a fraction"),
        ("decontamination: {min_contained: 0}\n", r"decontamination.min_contained: must be at least 1"),
        ("instructions: {max_length: -1}\n", r"instructions.max_length: must be at least 1, or 0 for no limit \(got -1\)"),
        ("instructions: {formats: [lines, yaml]}\n", r"instructions.formats: unknown answer format 'yaml'"),
        ("instructions: {formats: []}\n", r"instructions.formats: name at least one"),
        ("mixing: {temperature: .nan}\n", r"mixing.temperature: must be positive and finite"),
        ("mixing: {stage1: [ner, clasification]}\n", r"mixing.stage1: unknown task family 'clasification'; did you mean"),
        ("seed: -1\n", r"seed: must be >= 0"),
    ],
)
def test_values_outside_their_domain_are_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("name: x\n" + text + PLAN, encoding="utf-8")
    with pytest.raises(RecipeError, match=rf"^{path}: {message}"):
        load_recipe(path)


def test_an_unknown_family_is_named_with_its_dataset(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("name: x\ndatasets: {ncbi_disease: {train: [train], families: [nerr]}}\n", encoding="utf-8")
    with pytest.raises(RecipeError, match=r"datasets.ncbi_disease.families: unknown task family 'nerr'; did you mean 'ner'"):
        load_recipe(path)


def test_zero_max_length_is_the_documented_no_limit_and_shipped_recipes_load(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("name: x\ninstructions: {max_length: 0}\n" + PLAN, encoding="utf-8")
    assert load_recipe(path).instructions.max_length == 0
    for path in sorted((ROOT / "recipes").glob("*.yaml")):
        if "stages" not in path.read_text(encoding="utf-8"):  # build recipes (training ones have stages)
            load_recipe(path)
