"""Recipes, caps and mixing, decontamination, and whole builds: on the shipped example corpora (with a planted
cross-corpus duplicate) and on the real mirror (the full taiyi_style recipe)."""

from __future__ import annotations

import dataclasses
import glob
import json
import pickle
import shutil
from pathlib import Path
from unittest import mock

import datasets
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import yaml

from biohub.eval.run import score_file
from biohub.eval.suite import load_suite
from biohub.hub.build import build
from biohub.hub.decontam import TextItem, find_contaminated, input_text, normalize
from biohub.hub.mix import cap, mix, shares
from biohub.hub.recipe import Decontamination, RecipeError, load_recipe, with_cap
from biohub.schema import from_row
from biohub.templates.example import InstructionExample, Message
from tests.eval.test_run import perfect_predictions

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "mirror"


def example(i: int, dataset: str = "d") -> InstructionExample:
    return InstructionExample(
        f"{dataset}.{i}:t", f"{dataset}.{i}", dataset, "train", "t", "en", "t.en.01",
        [Message("user", "u"), Message("assistant", "a")], "{}",
    )


# --------------------------------------------------------------------------------------------- recipes
def _recipe(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "r.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: x\ndatasets: {a: {train: [train]}}\nseeed: 1\n", "unknown key.*seeed"),
        ("name: x\ndatasets: {a: {train: [train], cap: ten}}\n", "cap.*expected"),
        ("name: x\ndatasets: {}\n", "non-empty mapping"),
        ("name: x\ndatasets: {a: {}}\n", "names no train, eval or holdout"),
        ("name: x\ndatasets: {a: {holdout: {split: validation, eval_fraction: 1.5}}}\n", "between 0 and 1"),
        ("name: x\ndatasets: {a: {train: [train]}}\nmixing: {temperature: 0}\n", "must be positive"),
        ("name: [x\n", "invalid YAML"),
    ],
)
def test_recipes_are_validated(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(RecipeError, match=message):
        load_recipe(_recipe(tmp_path, text))


def test_shipped_recipes_cover_their_corpora() -> None:
    from biohub.converters.catalog import load_catalog

    for name in ("taiyi_style", "taiyi_full", "taiyi_full_cpu", "demo"):
        assert set(load_recipe(ROOT / "recipes" / f"{name}.yaml").datasets) == set(load_catalog()), name


def test_taiyi_full_keeps_taiyi_style_corpora_splits_and_caps() -> None:
    """taiyi_full is taiyi_style's corpora, splits, caps, instructions, mixing and decontamination (every task type
    now has its family); a change to one of them must be made to both."""
    style, full = (load_recipe(ROOT / "recipes" / f"{name}.yaml") for name in ("taiyi_style", "taiyi_full"))
    assert dataclasses.replace(full, name=style.name, description=style.description) == style


@pytest.mark.parametrize("full_name, cpu_name", [("taiyi_style", "taiyi_style_cpu"), ("taiyi_full", "taiyi_full_cpu")])
def test_cpu_recipe_is_taiyi_style_with_smaller_caps(full_name: str, cpu_name: str) -> None:
    """taiyi_style_cpu (RESULTS.md's CPU run) keeps taiyi_style's corpora, splits, eval sets, mixing and
    decontamination; only the caps (every training set capped, at most 400) and the NER decomposition differ; the same
    holds for taiyi_full_cpu and taiyi_full."""
    full, cpu = (load_recipe(ROOT / "recipes" / f"{name}.yaml") for name in (full_name, cpu_name))
    strip = lambda r: {n: (p.train, p.eval, p.holdout, p.families) for n, p in r.datasets.items()}  # noqa: E731
    assert strip(cpu) == strip(full)
    assert (cpu.seed, cpu.tokenizer, cpu.mixing, cpu.decontamination) == (
        full.seed, full.tokenizer, full.mixing, full.decontamination,
    )
    assert cpu.instructions == dataclasses.replace(full.instructions, decompose=False)
    assert all(plan.cap is not None and plan.cap <= 400 for plan in cpu.datasets.values() if plan.train or plan.holdout)


# --------------------------------------------------------------------------------------------- caps and mixing
def test_cap_is_a_seeded_sample_in_original_order() -> None:
    rows = [example(i) for i in range(100)]
    first, again, other = cap(rows, 10, 0, "d"), cap(rows, 10, 0, "d"), cap(rows, 10, 1, "d")
    assert len(first) == 10 and first == again and first != other
    assert [r.id for r in first] == sorted((r.id for r in first), key=lambda i: int(i.split(".")[1].split(":")[0]))
    assert cap(rows, None, 0, "d") == rows and cap(rows, 500, 0, "d") == rows


def test_with_cap_lowers_every_training_cap_and_keeps_the_rest() -> None:
    recipe = load_recipe(ROOT / "recipes" / "taiyi_style.yaml")
    small = with_cap(recipe, 50)
    assert {name: plan.cap for name, plan in small.datasets.items()} == dict.fromkeys(recipe.datasets, 50)
    assert {name: plan.cap for name, plan in with_cap(recipe, 20000).datasets.items()} == {
        name: 20000 if plan.cap is None else plan.cap for name, plan in recipe.datasets.items()
    }
    strip = lambda r: {n: (p.train, p.eval, p.holdout, p.families) for n, p in r.datasets.items()}  # noqa: E731
    assert strip(small) == strip(recipe) and small.mixing == recipe.mixing and small.sha256() != recipe.sha256()
    assert small.description.startswith(recipe.description.strip()) and small.description.endswith(
        "at most 50 training examples per corpus."
    )
    with pytest.raises(RecipeError, match="cap: must be positive"):
        with_cap(recipe, 0)


def test_temperature_shares() -> None:
    assert shares({"a": 900, "b": 100}, 1.0) == {"a": 900, "b": 100}
    flat = shares({"a": 900, "b": 100}, 1000.0)
    assert sum(flat.values()) == 1000 and abs(flat["a"] - flat["b"]) <= 2
    mid = shares({"a": 900, "b": 100}, 2.0)  # weights 30 : 10
    assert mid == {"a": 750, "b": 250}


def test_mix_upsamples_with_distinct_ids_and_is_deterministic() -> None:
    groups = {"big": [example(i, "big") for i in range(90)], "small": [example(i, "small") for i in range(10)]}
    mixed = mix(groups, 2.0, 0, "m")
    assert len(mixed) == 100 and len({e.id for e in mixed}) == 100
    assert sum(e.dataset == "small" for e in mixed) == 25  # 10 ** 0.5 / (90 ** 0.5 + 10 ** 0.5) of 100
    assert [e.id for e in mixed] == [e.id for e in mix(groups, 2.0, 0, "m")]
    assert [e.id for e in mixed] != [e.id for e in mix(groups, 2.0, 1, "m")]


# --------------------------------------------------------------------------------------------- decontamination
def _item(i: str, dataset: str, text: str) -> TextItem:
    return TextItem(i, dataset, "x", normalize(text))


def test_exact_and_overlap_contamination_across_datasets() -> None:
    settings = Decontamination(ngram=5, ngram_zh=4, threshold=0.5)
    abstract = "Aspirin reduced the risk of stroke in a large randomised trial of older adults with hypertension."
    evals = [_item("e1", "A", abstract), _item("e2", "A", "糖尿病患者的血糖控制与并发症风险密切相关。")]
    train = [
        _item("t1", "B", abstract.upper()),  # exact after normalisation
        _item("t2", "B", "Background. " + abstract + " Methods were standard."),  # contains the eval text
        _item("t3", "B", "Aspirin reduced pain after dental surgery in a small trial."),  # some words, no 5-gram run
        _item("t4", "C", "研究表明，糖尿病患者的血糖控制与并发症风险密切相关。"),
    ]
    found = {c["train_id"]: c for c in find_contaminated(train, evals, settings)}
    assert set(found) == {"t1", "t2", "t4"}
    assert found["t1"]["reason"] == "exact" and found["t2"]["reason"] == "ngram" and found["t4"]["eval_id"] == "e2"


def test_short_texts_contained_in_the_other_side_are_contaminated() -> None:
    """Texts too short for one n-gram (20 Chinese characters, 13 English words) are caught when contained whole."""
    evals = [
        _item("e1", "A", "年龄18-65岁，性别不限。"),  # 10 characters after normalisation: no 20-gram
        _item("e2", "A", "Patients older than 65 years"),  # 5 words: no 13-gram
        _item("e3", "A", "咽炎"),  # a single term: below min_contained_zh
        _item("e4", "A", "患者签署知情同意书并愿意配合随访的研究对象"),
    ]
    train = [
        _item("t1", "B", "1. 年龄18～65岁，性别不限；体重指数正常"),  # contains e1 (full-width tilde normalised)
        _item("t2", "B", "All patients older than 65 years were enrolled."),  # contains e2 at word boundaries
        _item("t3", "B", "Inpatients older than 65 yearsly"),  # same letters, not the same words
        _item("t4", "B", "慢性咽炎怎么治疗"),  # contains only the single term e3
        _item("t5", "B", "签署知情同意书"),  # a short training text inside the eval text e4
        _item("t6", "B", "年龄 18 65岁 性别不限"),  # equal to e1 but for spaces
        _item("t7", "C", "签署知情同意书。"),  # a second training text equal to t5
    ]
    found = {c["train_id"]: c for c in find_contaminated(train, evals, Decontamination())}
    assert set(found) == {"t1", "t2", "t5", "t6", "t7"}
    assert [found[t]["eval_id"] for t in ("t1", "t2", "t5", "t6", "t7")] == ["e1", "e2", "e4", "e1", "e4"]
    assert found["t1"]["reason"] == "eval_text_contained" and found["t5"]["reason"] == "train_text_contained"
    lower = Decontamination(min_contained_zh=2)
    assert "t4" in {c["train_id"] for c in find_contaminated(train, evals, lower)}


# --------------------------------------------------------------------------------------------- builds
def _front_matter(repo: Path) -> dict:
    return yaml.safe_load((repo / "README.md").read_text(encoding="utf-8").split("---")[1])


def _c_safe_load(stream: str) -> object:
    return yaml.load(stream, Loader=yaml.CSafeLoader)


def _load_all_configs(repo: Path, cache: Path, only: set[str] | None = None) -> int:
    """Load every config of the card (or those named in ``only``) through ``datasets`` and compare each split with
    the parquet files written; the number of configs loaded."""
    datasets.disable_progress_bars()
    configs = [config for config in _front_matter(repo)["configs"] if only is None or config["config_name"] in only]
    for config in configs:
        name = config["config_name"]
        # datasets parses the card's front matter (every config's features) again for each config it loads, with
        # huggingface_hub's yaml.safe_load: PyYAML's pure-Python parser, 0.3 s a load here, 70 s of this loop; the
        # same safe loader through libyaml gives the same data (when PyYAML has it, as the wheels do)
        with mock.patch.object(yaml, "safe_load", _c_safe_load if hasattr(yaml, "CSafeLoader") else yaml.safe_load):
            loaded = datasets.load_dataset(str(repo), name, cache_dir=str(cache))
        assert sorted(loaded) == sorted(f["split"] for f in config["data_files"])
        for split in loaded:
            files = sorted(glob.glob(str(repo / "data" / name / f"{split}-*.parquet")))
            written = pa.concat_tables([pq.read_table(f) for f in files])
            # the same rows and values as written (Arrow's equality: types and every value, column by column)
            assert loaded[split].data.table.equals(written), (name, split)
    return len(configs)


def _remaining_leaks(repo: Path) -> list[dict]:
    """Re-check the built repo: texts of final training examples vs every eval record's text."""
    instructions = sorted((repo / "data").glob("*_instructions/*.parquet"))
    rows = {path: pq.read_table(path, columns=["source_id", "dataset", "split"]).to_pylist() for path in instructions}
    used = pa.array(sorted({row["source_id"] for file_rows in rows.values() for row in file_rows}))
    unified: dict[str, str] = {}
    for path in (repo / "data").glob("*_unified/*.parquet"):  # (the *_source configs hold the same records verbatim)
        table = pq.read_table(path)
        for row in table.filter(pc.is_in(table["id"], value_set=used)).to_pylist():  # only the records instructed
            record = from_row(_schema_of(row), row)
            unified[record.id] = normalize(input_text(record))
    train, evals = [], []
    for path, file_rows in rows.items():
        for row in file_rows:
            item = TextItem(row["source_id"], row["dataset"], row["split"], unified[row["source_id"]])
            (train if path.name.startswith("train-") else evals).append(item)
    return find_contaminated(train, evals, Decontamination())


def _schema_of(row: dict) -> str:
    for schema, column in (
        ("kb", "passages"), ("qa", "question"), ("text", "labels"), ("pairs", "text_1"), ("dialogue", "turns"),
        ("instruction", "instruction"),
    ):
        if column in row:
            return schema
    raise AssertionError(row.keys())


PLANTED_RECIPE = """name: planted
seed: 0
tokenizer: default
instructions: {formats: [lines], decompose: true, max_length: 1024}
datasets:
  ncbi_disease: {train: [train], eval: [test]}
  bc5cdr: {train: [train], eval: [test]}
"""


@pytest.fixture(scope="module")
def planted_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo recipe's NCBI-disease and BC5CDR entries on a copy of their example corpora, with one NCBI test
    abstract planted into BC5CDR train (the whole demo build is the session fixture ``demo_hub``)."""
    root = tmp_path_factory.mktemp("planted")
    mirror = root / "mirror"
    for name in ("ncbi_disease", "bc5cdr"):
        shutil.copytree(EXAMPLES / name, mirror / name)
    ncbi_test = (mirror / "ncbi_disease/original-data/test/NCBItestset_corpus.txt").read_text(encoding="utf-8")
    title, abstract = (line.split("|", 2)[2] for line in ncbi_test.splitlines()[:2])
    bc5cdr_train = mirror / "bc5cdr/original-data/CDR_TrainingSet.PubTator.txt"
    bc5cdr_train.write_text(
        bc5cdr_train.read_text(encoding="utf-8").rstrip("\n") + f"\n\n99999999|t|{title}\n99999999|a|{abstract}\n\n",
        encoding="utf-8",
    )
    build(load_recipe(_recipe(root, PLANTED_RECIPE)), mirror, root / "repo", verify=False, progress=False)
    return root / "repo"


def test_planted_cross_corpus_duplicate_is_dropped_and_listed(planted_build: Path) -> None:
    report = json.loads((planted_build / "decontamination.json").read_text())
    planted = [c for c in report["contaminated"] if c["train_id"] == "bc5cdr.train.99999999"]
    assert planted and planted[0]["eval_dataset"] == "ncbi_disease" and planted[0]["reason"] == "exact"
    train = pq.read_table(planted_build / "data" / "bc5cdr_instructions" / "train-00000-of-00001.parquet").to_pylist()
    assert train and not [row for row in train if row["source_id"] == "bc5cdr.train.99999999"]
    assert _remaining_leaks(planted_build) == []


def test_configs_of_every_schema_load_and_equal_what_was_written(demo_hub: Path, tmp_path: Path) -> None:
    # the mixes and, for the first corpus of each schema, its source, unified and instructions configs (the mirror
    # test below loads every config of a build over every corpus: about 0.15 s a config through `datasets`)
    info = json.loads((demo_hub / "build_info.json").read_text())
    assert len(info["configs"]) >= 3 * 27 + 2
    first: dict[str, str] = {}
    for path in sorted((demo_hub / "data").glob("*_unified/*.parquet")):
        first.setdefault(_schema_of(pq.read_table(path).slice(0, 1).to_pylist()[0]), path.parent.name.removesuffix("_unified"))
    assert set(first) == {"kb", "qa", "text", "pairs", "dialogue", "instruction"}
    kinds = ("source", "unified", "instructions")
    chosen = {"mix_stage1", "mix_stage2"} | {f"{name}_{kind}" for name in first.values() for kind in kinds}
    assert _load_all_configs(demo_hub, tmp_path / "cache", chosen) == len(chosen & set(info["configs"])) >= 14
    assert _remaining_leaks(demo_hub) == []


def test_card_metadata_and_body(demo_hub: Path) -> None:
    repo = demo_hub
    meta = _front_matter(repo)
    assert meta["language"] == ["en", "zh"] and meta["license"] == "other" and meta["pretty_name"] == "biohub demo"
    assert [c["config_name"] for c in meta["configs"] if c.get("default")] == ["mix_stage2"]
    assert {"token-classification", "multiple-choice", "text-generation"} <= set(meta["task_categories"])
    assert meta["size_categories"] == ["1K<n<10K"]  # the example corpora of issue 20 took the demo past 1000 rows
    body = (repo / "README.md").read_text(encoding="utf-8")
    assert "| `ddi` | CC BY-NC 4.0 | **no (non-commercial / research only)** |" in body
    assert "@article" in body and "length_histogram.png" in body and "recipe_sha256" not in body
    assert (repo / "length_histogram.png").read_bytes().startswith(b"\x89PNG")
    info = json.loads((repo / "build_info.json").read_text())
    assert info["recipe_sha256"] in body and info["datasets"]["ncbi_disease"]["files"]["test"][0]["sha256"] in body


def test_builds_are_byte_identical_whatever_the_worker_count(demo_hub: Path, tmp_path: Path) -> None:
    build(load_recipe(ROOT / "recipes" / "demo.yaml"), EXAMPLES, tmp_path / "repo", verify=False, progress=False, workers=2)

    def files(folder: Path) -> dict[str, bytes]:
        return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}

    assert files(demo_hub) == files(tmp_path / "repo")  # demo_hub: one worker


def test_source_configs_hold_every_unified_record_verbatim(demo_hub: Path) -> None:
    repo = demo_hub
    for unified in sorted((repo / "data").glob("*_unified/*.parquet")):
        source = repo / "data" / unified.parent.name.replace("_unified", "_source") / unified.name
        rows = pq.read_table(source).to_pylist()
        assert [r["id"] for r in rows] == pq.read_table(unified, columns=["id"]).column("id").to_pylist()
        assert all(r["raw"].strip() and r["source_file"] for r in rows), source
    conll = pq.read_table(repo / "data/bc2gm_source/train-00000-of-00001.parquet").to_pylist()[0]
    mirror_file = (EXAMPLES / "bc2gm/BC2GM-IOB/train.tsv").read_text(encoding="utf-8")
    assert conll["source_file"] == "train.tsv" and mirror_file.startswith(conll["raw"])


def test_stage1_mix_holds_only_stage1_families(demo_hub: Path) -> None:
    repo = demo_hub
    stage1 = {row["task"] for row in pq.read_table(repo / "data/mix_stage1/train-00000-of-00001.parquet").to_pylist()}
    stage2 = {row["task"] for row in pq.read_table(repo / "data/mix_stage2/train-00000-of-00001.parquet").to_pylist()}
    assert stage1 and stage1 <= set(load_recipe(ROOT / "recipes" / "demo.yaml").mixing.stage1)
    assert stage1 < stage2 and {"dialogue", "instruction", "qa_yesno"} <= stage2


@pytest.mark.real_corpora
@pytest.mark.slow
def test_full_taiyi_style_build_on_the_mirror(mirror: Path, tmp_path: Path) -> None:
    # every corpus of the catalog at a training cap of 300 (the recipe's 10k made this one test 9 minutes of CI)
    recipe = with_cap(load_recipe(ROOT / "recipes" / "taiyi_style.yaml"), 300)
    info = build(recipe, mirror, tmp_path / "repo", progress=False)
    repo = tmp_path / "repo"
    from biohub.converters.catalog import load_catalog
    from tests.templates.coverage import untemplated

    templated = [name for name, entry in load_catalog().items() if name in info["datasets"] and not untemplated(entry)]
    # source + unified configs per corpus, instructions for those a template family serves, the two mixes
    assert _load_all_configs(repo, tmp_path / "cache") == len(info["configs"]) == 2 * len(info["datasets"]) + len(templated) + 2
    assert sorted(c.removesuffix("_instructions") for c in info["configs"] if c.endswith("_instructions")) == sorted(templated)
    assert _remaining_leaks(repo) == []
    report = json.loads((repo / "decontamination.json").read_text())
    assert report["contaminated_train_records"] > 0  # real leaks exist (e.g. CHIP-CTC train vs dev) and were removed
    for suite in ("taiyi_style", "all"):  # every row of both eval suites scores exactly 1.0 on gold-rendered answers
        predictions = perfect_predictions(repo, suite, tmp_path / f"{suite}.jsonl", limit=100)
        document = score_file(predictions, load_suite(suite), str(repo), tmp_path / suite, limit=100, resamples=0)  # values only
        assert len(document["entries"]) >= (10 if suite == "taiyi_style" else 30)
        assert [
            (e["name"], e["value"], e["parse_failures"])
            for e in document["entries"]
            if e["value"] != pytest.approx(1.0) or e["parse_failures"]
        ] == []


# --------------------------------------------------------------------------------------------- errors across the pool
def test_a_worker_error_reaches_the_caller_as_itself(tmp_path: Path) -> None:
    """A ConvertError in a worker process used to fail to unpickle in the parent, which saw only BrokenProcessPool."""
    from biohub.converters.base import ConvertError

    error = pickle.loads(pickle.dumps(ConvertError("a/b.txt", "bad header", line=3, record="r1")))
    assert str(error) == "a/b.txt:3 (record r1): bad header"
    assert (error.path, error.reason, error.line, error.record) == ("a/b.txt", "bad header", 3, "r1")
    datasets = "{ncbi_disease: {train: [train]}, gad: {train: [train]}}"
    recipe = _recipe(tmp_path, f"name: x\ninstructions: {{max_length: 0}}\ndatasets: {datasets}\n")
    messages = []
    for workers in (1, 2):
        with pytest.raises(ConvertError, match="sha256 mismatch") as caught:
            build(load_recipe(recipe), EXAMPLES, tmp_path / "hub", workers=workers, progress=False)
        messages.append(str(caught.value))
    assert messages[0] == messages[1] and not (tmp_path / "hub").exists()
