"""The biohub command line: catalog table, formats table, and converting an uncatalogued corpus with no code."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from biohub.cli import _option_default, app
from tests.synthetic import write_hub

runner = CliRunner()


def test_datasets_prints_the_catalog() -> None:
    result = runner.invoke(app, ["datasets"], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): line for line in result.output.splitlines() if line.count("│") > 3}
    assert "CC BY 4.0" in rows["bc2gm"]
    assert "non-commercial" in rows["ddi"] and "train, test, test_ner" in rows["ddi"]
    assert "train, test" in rows["gad"]


def test_formats_lists_readers_with_options() -> None:
    result = runner.invoke(app, ["formats"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "conll" in result.output and "default_type" in result.output
    assert "Catalog vocabularies" in result.output and "OUT/<dataset>/vocabularies/<name>.parquet" in result.output


def test_format_options_show_defaults_factories_and_required_fields() -> None:
    @dataclasses.dataclass
    class Options:
        needed: str
        tag: str = "O"
        types: list[str] = dataclasses.field(default_factory=lambda: ["Gene"])

    shown = [_option_default(f) for f in dataclasses.fields(Options)]
    assert shown == ["needed=(required)", "tag='O'", "types=(['Gene'])"]


def test_a_new_bio_tsv_corpus_converts_with_no_code(tmp_path: Path) -> None:
    (tmp_path / "mycorpus_train.tsv").write_text("Imatinib\tB-Drug\nblocks\tO\nBCR-ABL\tB-Gene\n\n", encoding="utf-8")
    (tmp_path / "mycorpus_test.tsv").write_text("Gefitinib\tB-Drug\n\n", encoding="utf-8")
    out = tmp_path / "out"
    args = ["convert", "--format", "conll", "--name", "mycorpus", "--lang", "en", "--out", str(out)]
    args += ["--input", str(tmp_path / "mycorpus_train.tsv"), "--input", str(tmp_path / "mycorpus_test.tsv")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    ledger = json.loads((out / "ledger.json").read_text())
    assert {split: counts["converted"] for split, counts in ledger["mycorpus"].items()} == {"test": 1, "train": 1}
    rows = pq.read_table(out / "mycorpus" / "train.parquet").to_pylist()
    assert [(e["type"], e["text"]) for e in rows[0]["entities"]] == [("Drug", ["Imatinib"]), ("Gene", ["BCR-ABL"])]
    info = json.loads((out / "mycorpus" / "info.json").read_text())
    assert info["labels"]["entity_types"] == ["Drug", "Gene"]


def test_strict_turns_rejections_into_a_failing_exit(tmp_path: Path) -> None:
    (tmp_path / "train.tsv").write_text("a\tO\n\nx\tO\ny\tI-Drug\n\n", encoding="utf-8")  # one good, one rejected
    args = [
        "convert", "--format", "conll", "--input", str(tmp_path / "train.tsv"), "--name", "bad", "--lang", "en",
        "--out", str(tmp_path / "o"),
    ]
    assert runner.invoke(app, args).exit_code == 0
    strict = runner.invoke(app, [*args, "--strict"])
    assert strict.exit_code == 2 and "1 record(s) rejected" in strict.output


def test_bad_invocations_exit_2_with_a_reason(tmp_path: Path) -> None:
    result = runner.invoke(app, ["convert", "--out", str(tmp_path), "--format", "conll"])
    assert result.exit_code == 2 and "--format needs --input, --name and --lang" in result.output
    result = runner.invoke(app, ["convert", "--out", str(tmp_path), "--mirror", str(tmp_path), "--datasets", "nope"])
    assert result.exit_code == 2 and "unknown dataset(s) nope" in result.output
    result = runner.invoke(
        app, ["convert", "--format", "conl", "--input", "x.tsv", "--name", "n", "--lang", "en", "--out", str(tmp_path)]
    )
    assert result.exit_code == 2 and "Did you mean conll" in result.output


def test_a_biohub_error_is_one_line_and_its_traceback_only_with_debug(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    args = ["convert", "--format", "conl", "--input", "x.tsv", "--name", "n", "--lang", "en", "--out", str(tmp_path)]
    plain = runner.invoke(app, args)
    assert plain.exit_code == 2 and "Traceback" not in plain.output
    lines = [line for line in plain.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:")
    debug = runner.invoke(app, ["--debug", *args])
    assert debug.exit_code == 2 and "Traceback" in debug.stderr and "UnknownNameError" in debug.stderr
    assert debug.stderr.rstrip().splitlines()[-1] == plain.stderr.rstrip().splitlines()[-1]  # the same message last

    def bug(*_: object, **__: object) -> None:
        raise ZeroDivisionError("a bug, not bad input")

    monkeypatch.setattr("biohub.converters.api.convert_files", bug)
    crashed = runner.invoke(app, ["convert", "--format", "conll", *args[3:]])
    assert isinstance(crashed.exception, ZeroDivisionError), "only biohub errors are turned into a message"


REQUIRED_FORMATS = [
    "conll", "pubtator", "bioc", "brat", "ddi-xml", "cblue-ner", "cblue-re", "cblue-cls", "cblue-pairs", "pubmedqa",
    "bioasq", "squad", "mcqa-jsonl", "hoc", "biosses-docx", "csv", "dialogue-json", "alpaca", "promptcblue",
    "taiyi-jsonl",
]


def test_every_format_the_issue_names_is_registered_with_documented_options() -> None:
    from dataclasses import fields

    from biohub.converters.registry import all_readers

    readers = all_readers()
    assert set(REQUIRED_FORMATS) <= set(readers), set(REQUIRED_FORMATS) - set(readers)
    for name, reader in readers.items():
        assert reader.description and reader.schema, name
        if fields(reader.Options):
            assert reader.Options.__doc__ and "Options(" not in reader.Options.__doc__, f"{name}: options are undocumented"


# --------------------------------------------------------------------------------------------- one-line errors (issue 23)
ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "mirror"
SMALL_RECIPE = """name: small
instructions: {max_length: 0}
datasets:
  ncbi_disease: {train: [train], eval: [test]}
  gad: {train: [train], eval: [test]}
"""


def one_line_error(result, *fragments: str) -> str:
    """Exit code 2, no traceback, and one line ``error: ...`` holding every fragment (CliRunner's Rich width is 80)."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip() and "warn" not in line.lower()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def test_a_reader_option_its_own_check_refuses_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "x.conll").write_text("a O\n", encoding="utf-8")
    args = ["convert", "--format", "conll", "--input", str(tmp_path / "x.conll"), "--split", "train", "--name", "x"]
    result = runner.invoke(app, [*args, "--lang", "en", "--option", "columns=1", "--out", str(tmp_path / "out")])
    one_line_error(result, "columns: expected 0 (any >= 2) or a count >= 2, got 1")


def small_recipe(tmp_path: Path, text: str = SMALL_RECIPE) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_build_refuses_a_folder_as_recipe_and_a_file_as_out(tmp_path: Path) -> None:
    result = runner.invoke(app, ["build", str(tmp_path), "--mirror", str(EXAMPLES), "--out", str(tmp_path / "hub")])
    one_line_error(result, f"{tmp_path}: is a folder; give the recipe file")
    (tmp_path / "taken").write_text("not a folder\n", encoding="utf-8")
    build = ["build", str(small_recipe(tmp_path)), "--mirror", str(EXAMPLES), "--no-verify"]
    for out in (tmp_path / "taken", tmp_path / "taken" / "hub"):
        one_line_error(runner.invoke(app, [*build, "--out", str(out)]), f"{tmp_path / 'taken'}: is a file")
    assert (tmp_path / "taken").read_text(encoding="utf-8") == "not a folder\n"


def test_build_never_replaces_a_folder_it_did_not_write(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me\n", encoding="utf-8")
    build = ["build", str(small_recipe(tmp_path)), "--mirror", str(EXAMPLES), "--no-verify", "--out", str(mine)]
    one_line_error(runner.invoke(app, build), "not written by `biohub build`")
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]


def test_build_errors_cross_the_worker_pool_as_themselves(tmp_path: Path) -> None:
    """A missing mirror, a mirror without the corpus and a sha256 mismatch: the same one-line error with one worker
    and with two (a worker's ConvertError used to break the pool: BrokenProcessPool)."""
    recipe = str(small_recipe(tmp_path))
    (tmp_path / "empty").mkdir()
    cases = [(tmp_path / "absent", "no such folder"), (tmp_path / "empty", "missing source file"), (EXAMPLES, "sha256 mismatch")]
    for mirror, reason in cases:
        lines = []
        for workers in ("1", "2"):
            build = ["build", recipe, "--mirror", str(mirror), "--workers", workers, "--out", str(tmp_path / "hub")]
            lines.append(one_line_error(runner.invoke(app, build), reason))
        assert lines[0] == lines[1]
        assert not (tmp_path / "hub").exists()


def test_missing_local_tokenizer_or_model_says_no_such_folder(tmp_path: Path) -> None:
    recipe = small_recipe(tmp_path, SMALL_RECIPE.replace("{max_length: 0}", "{max_length: 512}") + "tokenizer: ./nope/tok\n")
    result = runner.invoke(app, ["build", str(recipe), "--mirror", str(EXAMPLES), "--no-verify", "--out", str(tmp_path / "hub")])
    one_line_error(result, "no such folder ./nope/tok")
    instruct = ["instruct", "--unified", str(tmp_path), "--out", str(tmp_path / "i"), "--tokenizer", "./nope/tok"]
    one_line_error(runner.invoke(app, instruct), "no such folder ./nope/tok")
    hub = write_hub(tmp_path / "hub")
    train = ["train", str(ROOT / "recipes" / "two_stage_demo.yaml"), "--data", str(hub), "--max-steps", "1"]
    result = runner.invoke(app, [*train, "--out", str(tmp_path / "run1"), "--set", f"model={tmp_path / 'no_model'}"])
    one_line_error(result, f"no such folder {tmp_path / 'no_model'}")
    result = runner.invoke(app, [*train, "--out", str(tmp_path / "run2"), "--set", "model=./nope/model.gguf"])
    one_line_error(result, "no such file ./nope/model.gguf")
    evaluate = ["eval", "--model", "default", "--suite", "all", "--data", str(hub), "--out", str(tmp_path / "ev")]
    one_line_error(runner.invoke(app, [*evaluate, "--adapter", "./runs/stage2"]), "no such folder ./runs/stage2")


def test_offline_hub_model_not_in_the_cache_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    hub = write_hub(tmp_path / "hub")
    args = ["train", str(ROOT / "recipes" / "two_stage_demo.yaml"), "--data", str(hub), "--out", str(tmp_path / "run")]
    result = runner.invoke(app, [*args, "--set", "model=HuggingFaceTB/SmolLM2-135M"])
    one_line_error(result, "HuggingFaceTB/SmolLM2-135M is not in the local Hugging Face cache and HF_HUB_OFFLINE=1")


def test_a_mistyped_data_folder_is_an_error_not_a_hub_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a Hub request for {args}")

    monkeypatch.setattr("biohub.io.load_dataset", no_network)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", no_network)
    monkeypatch.chdir(tmp_path)
    hub = write_hub(tmp_path / "hub")
    (hub / "build_info.json").unlink()  # no build_info.json: the `all` suite used to ask the Hub for one
    train = ["train", str(ROOT / "recipes" / "two_stage_demo.yaml"), "--out", str(tmp_path / "run")]
    for typo in ("hub/typo", "./hub2", str(tmp_path / "typo")):  # hub/ exists here: a path, not the Hub id hub/typo
        one_line_error(runner.invoke(app, [*train, "--data", typo]), f"no such folder {typo}")
    evaluate = ["eval", "--model", "default", "--out", str(tmp_path / "ev")]
    for suite in ("all", "taiyi_style"):
        one_line_error(runner.invoke(app, [*evaluate, "--suite", suite, "--data", "../hub_typo"]), "no such folder ../hub_typo")
    one_line_error(runner.invoke(app, [*evaluate, "--suite", "all", "--data", str(hub)]), f"{hub}: not a complete output")
    selfinstruct = ["selfinstruct", "--generator", "local:default", "--target", "1", "--out", str(tmp_path / "gen")]
    one_line_error(runner.invoke(app, [*selfinstruct, "--seeds", "seeds_typo.jsonl"]), "no such file seeds_typo.jsonl (--seeds)")
    score = ["score", "--predictions", str(tmp_path / "p.jsonl"), "--data", "~/no/such/hub", "--out", str(tmp_path / "s")]
    one_line_error(runner.invoke(app, score), "no such folder ~/no/such/hub")


def _results(folder: Path, value: float) -> Path:
    entry = {"name": "BC5CDR-Chem", "group": "NER", "headline": "f1", "value": value, "n": 2, "parse_failure_rate": 0.0}
    entry["reference"] = "BC5CDR-Chem"  # the row of the published table
    folder.mkdir(parents=True)
    (folder / "results.json").write_text(json.dumps({"suite": "taiyi_style", "entries": [entry]}), encoding="utf-8")
    return folder


def test_report_reference_columns_only_from_an_explicit_file(tmp_path: Path) -> None:
    run = str(_results(tmp_path / "base", 0.5))
    result = runner.invoke(app, ["report", run, "--out", str(tmp_path / "plain")])
    assert result.exit_code == 0, result.output
    assert "Taiyi (Qwen-7B)" not in (tmp_path / "plain" / "report.md").read_text(encoding="utf-8")
    csv_path = tmp_path / "published.csv"
    csv_path.write_text("task,dataset,metric,taiyi1_qwen7b,chatgpt35\nNER,BC5CDR-Chem,micro_f1,12.3,45.6\n", encoding="utf-8")
    result = runner.invoke(app, ["report", run, "--out", str(tmp_path / "ref"), "--reference", str(csv_path)])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "ref" / "report.md").read_text(encoding="utf-8")
    assert "| Taiyi (Qwen-7B) | ChatGPT-3.5 |" in text and "| 50.0 | – | 0.0 | – | 12.3 | 45.6 |" in text  # no strict fields: "–"
    missing = runner.invoke(app, ["report", run, "--out", str(tmp_path / "r2"), "--reference", str(tmp_path / "absent.csv")])
    one_line_error(missing, f"{tmp_path / 'absent.csv'}: no such reference results file")
    csv_path.write_text("dataset,taiyi1_qwen7b,chatgpt35\nBC5CDR-Chem,12.3,45.6\nHoC,n/a,1\n", encoding="utf-8")
    bad = runner.invoke(app, ["report", run, "--out", str(tmp_path / "r3"), "--reference", str(csv_path)])
    one_line_error(bad, f"{csv_path}:3: taiyi1_qwen7b is not a number")
