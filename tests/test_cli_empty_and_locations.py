"""Nothing is not success, and errors say where (issue 25, items 9 and 12).

Empty or fully rejected input is an error (exit 2, one line) unless ``--allow-empty`` asks for empty output; rejections
and errors name the real path (as given, absolute where it was absolute) and the line.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from biohub.cli import app
from biohub.converters.registry import all_readers

runner = CliRunner()
WIDE = {"COLUMNS": "300"}


def _one_line_error(output: str) -> str:
    """The single ``error:`` line of a failed command (and no traceback)."""
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in output, output
    return errors[0]


def _convert(path: Path, out: Path, *extra: str, fmt: str = "conll", lang: str = "en") -> list[str]:
    return ["convert", "--format", fmt, "--input", str(path), "--name", "x", "--lang", lang, "--out", str(out), *extra]


# --- item 9: exit 0 on nothing ---------------------------------------------------------------------------------------
def test_instruct_on_a_missing_folder_is_an_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["instruct", "--unified", str(tmp_path / "nope"), "--out", str(tmp_path / "o")], env=WIDE)
    assert result.exit_code == 2
    assert f"{tmp_path / 'nope'}: no such folder" in _one_line_error(result.output)
    assert not (tmp_path / "o").exists()


def test_an_input_whose_every_record_is_rejected_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "train.tsv").write_text("aspirin\tB-Drug\n\n", encoding="utf-8")
    result = runner.invoke(app, _convert(tmp_path / "train.tsv", tmp_path / "o", lang="fr"), env=WIDE)
    assert result.exit_code == 2
    line = _one_line_error(result.output)
    assert "every record" in line and "--allow-empty" in line and f"{tmp_path / 'train.tsv'}:1" in line
    assert not (tmp_path / "o").exists()
    allowed = runner.invoke(app, _convert(tmp_path / "train.tsv", tmp_path / "o", "--allow-empty", lang="fr"), env=WIDE)
    assert allowed.exit_code == 0, allowed.output
    assert json.loads((tmp_path / "o" / "ledger.json").read_text())["x"]["train"]["rejected"] == 1


def test_instruct_that_makes_no_example_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "train.tsv").write_text("aspirin\tB-Drug\n\n", encoding="utf-8")
    converted = runner.invoke(app, _convert(tmp_path / "train.tsv", tmp_path / "u", "--allow-empty", lang="fr"), env=WIDE)
    assert converted.exit_code == 0, converted.output  # a complete conversion holding no record
    args = ["instruct", "--unified", str(tmp_path / "u"), "--max-length", "0", "--out", str(tmp_path / "i")]
    result = runner.invoke(app, args, env=WIDE)
    assert result.exit_code == 2 and "no instruction example made" in _one_line_error(result.output)
    assert not (tmp_path / "i").exists()  # before: exit 2, but a complete-looking output (parquet + ledger) was left
    assert runner.invoke(app, [*args, "--allow-empty"], env=WIDE).exit_code == 0 and (tmp_path / "i" / "ledger.json").is_file()


# Options a format cannot be run without; the file name a format recognises its inputs by.
NEEDS = {"csv": ["--field", "text=text"], "dialogue-json": ["--option", "turns_field=turns"]}
FILE_NAME = {"chemprot-tsv": "train_abstracts.tsv"}


@pytest.mark.parametrize("fmt", sorted(all_readers()))
def test_an_empty_input_file_is_an_error_in_every_format(tmp_path: Path, fmt: str) -> None:
    empty = tmp_path / FILE_NAME.get(fmt, "train.txt")
    empty.write_bytes(b"")
    result = runner.invoke(app, _convert(empty, tmp_path / "o", "--split", "train", *NEEDS.get(fmt, []), fmt=fmt), env=WIDE)
    assert result.exit_code == 2, result.output
    assert str(tmp_path) in _one_line_error(result.output)  # the file, or its folder (hoc, chemprot read folders)
    assert not (tmp_path / "o" / "x").exists()


def test_selfinstruct_that_accepts_nothing_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("BIOHUB_GENERATOR_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(variable, raising=False)
    args = ["selfinstruct", "--generator", "openai:m@http://127.0.0.1:9/v1", "--target", "2", "--max-requests", "2",
            "--batch", "2", "--concurrency", "1"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "a")], env=WIDE)
    assert result.exit_code == 2, result.output
    assert "no task accepted" in _one_line_error(result.output)
    assert not (tmp_path / "a" / "instructions.json").exists()
    allowed = runner.invoke(app, [*args, "--out", str(tmp_path / "b"), "--allow-empty"], env=WIDE)
    assert allowed.exit_code == 0, allowed.output
    assert json.loads((tmp_path / "b" / "instructions.json").read_text()) == []


# --- item 12: error locations ----------------------------------------------------------------------------------------
def test_a_rejection_names_the_input_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "train.tsv").write_text("aspirin\tB-Drug\n\nEGFR\tB-Gene\n\n", encoding="utf-8")
    absolute = runner.invoke(app, _convert(tmp_path / "sub" / "train.tsv", tmp_path / "a", "--labels", "Drug"), env=WIDE)
    assert absolute.exit_code == 0, absolute.output
    rejections = [json.loads(line) for line in (tmp_path / "a" / "x" / "rejections.jsonl").read_text().splitlines()]
    assert [(r["path"], r["locator"]) for r in rejections] == [(str(tmp_path / "sub" / "train.tsv"), "3")]
    monkeypatch.chdir(tmp_path)
    relative = runner.invoke(app, _convert(Path("sub/train.tsv"), tmp_path / "r", "--labels", "Drug"), env=WIDE)
    assert relative.exit_code == 0, relative.output
    rejections = [json.loads(line) for line in (tmp_path / "r" / "x" / "rejections.jsonl").read_text().splitlines()]
    assert [r["path"] for r in rejections] == ["sub/train.tsv"]
    folder = runner.invoke(app, _convert(tmp_path / "sub", tmp_path / "f", "--labels", "Drug", "--split", "train"), env=WIDE)
    assert folder.exit_code == 0, folder.output
    rejections = [json.loads(line) for line in (tmp_path / "f" / "x" / "rejections.jsonl").read_text().splitlines()]
    assert [r["path"] for r in rejections] == [str(tmp_path / "sub" / "train.tsv")]


def test_a_lone_surrogate_names_the_file_and_line(tmp_path: Path) -> None:
    source = tmp_path / "train.jsonl"
    source.write_text('{"instruction": "ok", "output": "b"}\n{"instruction": "a\\ud800", "output": "b"}\n', encoding="utf-8")
    result = runner.invoke(app, _convert(source, tmp_path / "o", fmt="alpaca"), env=WIDE)
    assert result.exit_code == 2
    assert f"{source}:2: " in _one_line_error(result.output) and "surrogate" in result.output


def test_a_mistyped_input_is_not_a_mirror_problem(tmp_path: Path) -> None:
    result = runner.invoke(app, _convert(tmp_path / "trian.tsv", tmp_path / "o", "--split", "train"), env=WIDE)
    assert result.exit_code == 2
    line = _one_line_error(result.output)
    assert f"{tmp_path / 'trian.tsv'}: file not found" in line and "mirror" not in line


def test_a_corrupt_ledger_names_its_file(tmp_path: Path) -> None:
    (tmp_path / "train.tsv").write_text("aspirin\tB-Drug\n\n", encoding="utf-8")
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "ledger.json").write_text("{broken", encoding="utf-8")
    result = runner.invoke(app, _convert(tmp_path / "train.tsv", tmp_path / "o"), env=WIDE)
    assert result.exit_code == 2
    assert f"{tmp_path / 'o' / 'ledger.json'}:1: invalid JSON" in _one_line_error(result.output)


def test_selfinstruct_claims_its_output_folder_as_every_command_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("BIOHUB_GENERATOR_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(variable, raising=False)
    project = tmp_path / "project"
    project.mkdir()
    (project / "notes.txt").write_text("keep me\n", encoding="utf-8")
    args = ["selfinstruct", "--generator", "openai:m@http://127.0.0.1:9/v1", "--target", "1", "--max-requests", "1",
            "--batch", "1", "--concurrency", "1", "--out", str(project)]
    for extra in ([], ["--resume"]):  # before: --resume wrote state/ into the project folder; without it, offered --resume
        result = runner.invoke(app, [*args, *extra], env=WIDE)
        assert result.exit_code == 2, result.output
        assert "not written by `biohub selfinstruct`" in _one_line_error(result.output)
        assert sorted(p.name for p in project.iterdir()) == ["notes.txt"]
    run = tmp_path / "run"
    assert runner.invoke(app, [*args[:-1], str(run), "--allow-empty"], env=WIDE).exit_code == 0
    again = runner.invoke(app, [*args[:-1], str(run)], env=WIDE)
    assert again.exit_code == 2 and "--resume" in _one_line_error(again.output)
    assert runner.invoke(app, [*args[:-1], str(run), "--resume", "--allow-empty"], env=WIDE).exit_code == 0
