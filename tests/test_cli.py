"""The biohub command line: catalog table, formats table, and converting an uncatalogued corpus with no code."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
from typer.testing import CliRunner

from biohub.cli import app

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
    (tmp_path / "train.tsv").write_text("x\tO\ny\tI-Drug\n\n", encoding="utf-8")
    args = ["convert", "--format", "conll", "--input", str(tmp_path / "train.tsv"), "--name", "bad", "--lang", "en", "--out", str(tmp_path / "o")]
    assert runner.invoke(app, args).exit_code == 0
    strict = runner.invoke(app, [*args, "--strict"])
    assert strict.exit_code == 1 and "1 record(s) rejected" in strict.output


def test_bad_invocations_exit_2_with_a_reason(tmp_path: Path) -> None:
    result = runner.invoke(app, ["convert", "--out", str(tmp_path), "--format", "conll"])
    assert result.exit_code == 2 and "--format needs --input, --name and --lang" in result.output
    result = runner.invoke(app, ["convert", "--out", str(tmp_path), "--mirror", str(tmp_path), "--datasets", "nope"])
    assert result.exit_code == 2 and "unknown dataset(s) nope" in result.output
    result = runner.invoke(app, ["convert", "--format", "conl", "--input", "x.tsv", "--name", "n", "--lang", "en", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "Did you mean conll" in result.output


REQUIRED_FORMATS = ["conll", "pubtator", "bioc", "brat", "ddi-xml", "cblue-ner", "cblue-re", "cblue-cls", "cblue-pairs", "pubmedqa", "bioasq", "squad", "mcqa-jsonl", "hoc", "biosses-docx", "csv", "dialogue-json", "alpaca", "promptcblue", "taiyi-jsonl"]


def test_every_format_the_issue_names_is_registered_with_documented_options() -> None:
    from dataclasses import fields

    from biohub.converters.registry import all_readers

    readers = all_readers()
    assert set(REQUIRED_FORMATS) <= set(readers), set(REQUIRED_FORMATS) - set(readers)
    for name, reader in readers.items():
        assert reader.description and reader.schema, name
        if fields(reader.Options):
            assert reader.Options.__doc__ and "Options(" not in reader.Options.__doc__, f"{name}: options are undocumented"
