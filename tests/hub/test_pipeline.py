"""One pipeline path: ``biohub build`` runs the stage functions of ``biohub convert`` and ``biohub instruct``.

Both read a dataset's info from one dict (``conversion_info``, written as ``info.json``) through one constructor
(``DatasetInfo.from_info``), take one options type (``InstructOptions``, the recipe's ``instructions`` section with the
recipe's seed) and therefore make the same examples of the same records. The example corpora (examples/mirror)
are converted here; nothing of the real corpora is used.
"""

from __future__ import annotations

import dataclasses
import glob
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from biohub.converters.api import convert_catalogued, convert_files, infer_labels
from biohub.converters.catalog import load_catalog
from biohub.converters.convert import conversion_info, convert_entry, observed_labels, write_result
from biohub.hub.build import build
from biohub.hub.recipe import RecipeError, load_recipe
from biohub.schema import LabelSet
from biohub.templates.instruct import InstructOptions, instruct
from biohub.templates.tasks import DatasetInfo

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "mirror"


@pytest.mark.parametrize("name", ["ncbi_disease", "hoc", "kuake_qqr", "bioasq"])
def test_build_and_instruct_see_one_dataset_info(name: str, tmp_path: Path) -> None:
    """The info ``build`` takes from its conversion is the info ``instruct`` reads back from ``info.json``."""
    result = convert_entry(load_catalog()[name], EXAMPLES, verify=False, progress=False)
    write_result(result, tmp_path, EXAMPLES)
    info = DatasetInfo.from_info(conversion_info(result))
    assert DatasetInfo.load(tmp_path / name) == info
    used = observed_labels(result)
    assert (info.entity_types, info.relation_types) == (tuple(used["entity_types"]), tuple(used["relation_types"]))
    assert info.classes == (result.labels.classes or tuple(used["classes"]))  # declared classes, else the used ones


def test_uncatalogued_labels_are_the_labels_in_use_sorted(tmp_path: Path) -> None:
    """``convert --format`` infers a corpus' label set from the one "labels in use" function (sorted)."""
    (tmp_path / "c_train.tsv").write_text("BCR-ABL\tB-Gene\nImatinib\tB-Drug\n\n", encoding="utf-8")
    result = convert_files("conll", [tmp_path / "c_train.tsv"], "c", "en", tmp_path / "out", progress=False)
    undeclared = dataclasses.replace(result, labels=LabelSet())
    assert observed_labels(undeclared)["entity_types"] == ["Gene", "Drug"]  # declared order (none), then first seen
    assert result.labels == infer_labels(undeclared) == LabelSet(entity_types=("Drug", "Gene"))
    assert DatasetInfo.load(tmp_path / "out" / "c").entity_types == ("Drug", "Gene")


def _recipe(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "r.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_recipe_instructions_are_instruct_options_with_the_recipe_seed(tmp_path: Path) -> None:
    text = "name: x\nseed: 5\ninstructions: {formats: [lines, json], decompose: true, max_length: 0}\n"
    recipe = load_recipe(_recipe(tmp_path, text + "datasets: {a: {train: [train]}}\n"))
    assert recipe.instructions == InstructOptions(seed=5, formats=("lines", "json"), decompose=True, max_length=0)
    assert dataclasses.replace(recipe, seed=6).instructions.seed == 6
    assert recipe.to_json()["instructions"] == {"formats": ("lines", "json"), "decompose": True, "max_length": 0}
    assert recipe.to_json()["seed"] == 5


def test_a_seed_inside_the_instructions_section_is_refused(tmp_path: Path) -> None:
    text = "name: x\nseed: 5\ninstructions: {seed: 3}\ndatasets: {a: {train: [train]}}\n"
    with pytest.raises(RecipeError, match=r"instructions: unknown key\(s\) seed; allowed: formats, decompose, max_length"):
        load_recipe(_recipe(tmp_path, text))


def _rows(paths: list[str]) -> list[dict]:
    return [row for path in sorted(paths) for row in pq.read_table(path).to_pylist()]


def test_build_makes_the_examples_convert_and_instruct_make(tmp_path: Path) -> None:
    """Without a cap or a length limit, a dataset's ``_instructions`` config holds exactly the examples that
    ``biohub convert`` + ``biohub instruct`` make of the same split with the recipe's options."""
    text = "name: x\nseed: 3\ninstructions: {formats: [lines, json], decompose: true, max_length: 0}\n"
    recipe = load_recipe(_recipe(tmp_path, text + "datasets: {bc5cdr: {train: [train], eval: [test]}}\n"))
    build(recipe, EXAMPLES, tmp_path / "hub", verify=False, progress=False, workers=1)
    convert_catalogued(EXAMPLES, tmp_path / "unified", ["bc5cdr"], verify=False, progress=False)
    instruct(tmp_path / "unified", tmp_path / "train", recipe.instructions, progress=False)
    instruct(tmp_path / "unified", tmp_path / "eval", dataclasses.replace(recipe.instructions, decompose=False), progress=False)
    built = tmp_path / "hub" / "data" / "bc5cdr_instructions"
    assert _rows(glob.glob(str(built / "test-*.parquet"))) == _rows([str(tmp_path / "eval" / "bc5cdr" / "test.parquet")])
    trained = _rows(glob.glob(str(built / "train-*.parquet")))
    assert trained and trained == _rows([str(tmp_path / "train" / "bc5cdr" / "train.parquet")])
