"""Output folders (issue 25, items 1, 2, 3, 5): only absent, empty or same-command folders are written; a failed or
interrupted command leaves the previous output as it was; no name or split writes outside --out; umask modes."""

from __future__ import annotations

import json
import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from biohub.cli import app
from biohub.converters.api import convert_files
from biohub.converters.catalog import load_catalog
from biohub.converters.registry import get_reader
from biohub.errors import ConfigError, OutputExistsError
from biohub.io import InputError, write_json
from biohub.outputs import BUILD, CONVERT, INSTRUCT, REPORT, check_name, claim, inside, replacing, require_complete

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]
CONLL = "Aspirin\tB-Chemical\ncauses\tO\nasthma\tB-Disease\n\n"


def conll_input(tmp_path: Path) -> Path:
    path = tmp_path / "in" / "train.tsv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(CONLL, encoding="utf-8")
    return path


def convert(tmp_path: Path, out: Path, *extra: str) -> object:
    args = ["convert", "--format", "conll", "--input", str(conll_input(tmp_path)), "--lang", "en", "--out", str(out)]
    return runner.invoke(app, [*args, *(extra or ("--name", "toy"))])


def one_line(result: object, code: int, *fragments: str) -> str:
    output = result.output  # type: ignore[attr-defined]  # click's Result
    assert result.exit_code == code, (result.exit_code, output, result.exception)  # type: ignore[attr-defined]
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in output, output
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def fake_build(folder: Path) -> Path:
    folder.mkdir(parents=True)
    write_json(folder / "build_info.json", {"configs": {}, "recipe_sha256": "0" * 64})
    (folder / "README.md").write_text("---\nconfigs: []\n---\n", encoding="utf-8")
    return folder


# --------------------------------------------------------------------------------------------- item 1: the rule
def test_a_foreign_folder_is_refused_and_left_untouched(tmp_path: Path) -> None:
    mine = tmp_path / "project"
    (mine / ".git").mkdir(parents=True)
    (mine / "notes.txt").write_text("keep me\n", encoding="utf-8")
    for kind in (BUILD, CONVERT, INSTRUCT, REPORT):
        with pytest.raises(OutputExistsError, match=f"not written by `biohub {kind.command}`"):
            claim(mine, kind, overwrite=True, reuse=True)
    # convert merged into any folder before: it wrote toy/ and ledger.json beside the user's files
    one_line(convert(tmp_path, mine), 2, "exists and is not empty", "not written by `biohub convert`")
    assert sorted(p.name for p in mine.iterdir()) == [".git", "notes.txt"]
    with pytest.raises(OutputExistsError, match="the output of `biohub build`"):  # another command's output
        claim(fake_build(tmp_path / "hub"), CONVERT, reuse=True)


def test_the_same_commands_folder_is_replaced_only_with_overwrite(tmp_path: Path) -> None:
    hub = fake_build(tmp_path / "hub")
    with pytest.raises(OutputExistsError, match="pass --overwrite"):  # build replaced it silently before
        claim(hub, BUILD)
    claim(hub, BUILD, overwrite=True)
    with replacing(hub, BUILD, overwrite=True) as work:
        (work / "new.txt").write_text("new\n", encoding="utf-8")
    assert [p.name for p in hub.iterdir()] == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["hub"]  # no temporary sibling left


def test_a_failed_or_interrupted_run_leaves_the_previous_output(tmp_path: Path) -> None:
    hub = fake_build(tmp_path / "hub")
    before = {p.name: p.read_bytes() for p in hub.iterdir()}
    for stop in (RuntimeError("failed"), KeyboardInterrupt()):
        with pytest.raises(type(stop)), replacing(hub, BUILD, overwrite=True) as work:
            (work / "half.parquet").write_bytes(b"x")
            raise stop
        assert {p.name: p.read_bytes() for p in hub.iterdir()} == before
        assert [p.name for p in tmp_path.iterdir()] == ["hub"]


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_kill_between_the_two_renames_is_recovered_by_the_next_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hub = fake_build(tmp_path / "hub")
    before = _files(hub)
    real_replace, moved = os.replace, []

    def replace_then_die(source: object, target: object) -> None:
        moved.append(target)
        if len(moved) == 2:  # killed after the old output went aside, before the new one took its place
            raise KeyboardInterrupt
        real_replace(source, target)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", replace_then_die)
    with pytest.raises(KeyboardInterrupt), replacing(hub, BUILD, overwrite=True) as work:
        (work / "new.txt").write_text("new\n", encoding="utf-8")
    monkeypatch.undo()
    assert not hub.exists() and len(list(tmp_path.glob(".hub.*.old"))) == 1  # the previous build, hidden
    foreign = tmp_path / ".hub.mine.old" / "hub"  # the same pattern, not biohub's: never touched
    foreign.mkdir(parents=True)
    (foreign / "notes.txt").write_text("keep me\n", encoding="utf-8")
    with pytest.raises(OutputExistsError, match="pass --overwrite"), replacing(hub, BUILD):  # the next run: put back
        pass
    assert _files(hub) == before and [p.name for p in tmp_path.glob(".hub.*")] == [".hub.mine.old"]
    real_rmtree = shutil.rmtree

    def die_on_old(path: object, *args: object, **kwargs: object) -> None:
        if str(path).endswith(".old"):  # killed after the swap, before the old output was removed
            raise KeyboardInterrupt
        real_rmtree(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(shutil, "rmtree", die_on_old)
    with pytest.raises(KeyboardInterrupt), replacing(hub, BUILD, overwrite=True) as work:
        for name, data in {**before, "new.txt": b"new\n"}.items():  # a complete build
            (work / name).write_bytes(data)
    monkeypatch.undo()
    assert len(list(tmp_path.glob(".hub.*.old"))) == 2
    with replacing(hub, BUILD, overwrite=True) as work:  # the next run removes the superseded one
        (work / "newer.txt").write_text("newer\n", encoding="utf-8")
    assert _files(hub) == {"newer.txt": b"newer\n"} and [p.name for p in tmp_path.glob(".hub.*")] == [".hub.mine.old"]
    assert _files(foreign) == {"notes.txt": b"keep me\n"}


def test_a_file_or_a_link_loop_is_no_output_folder(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")
    for out in (tmp_path / "file", tmp_path / "file" / "sub"):
        with pytest.raises(InputError, match="file: is a file"):
            claim(out, CONVERT)
    (tmp_path / "loop").symlink_to("loop")
    with pytest.raises(InputError, match="symbolic link loop"):
        claim(tmp_path / "loop", CONVERT)


def test_build_refuses_an_earlier_build_without_overwrite(tmp_path: Path) -> None:
    from biohub.hub.build import check_paths
    from biohub.hub.recipe import load_recipe

    recipe_file = tmp_path / "recipe.yaml"
    recipe_file.write_text("name: small\ninstructions: {max_length: 0}\ndatasets:\n  gad: {train: [train], eval: [test]}\n")
    recipe, hub = load_recipe(recipe_file), fake_build(tmp_path / "hub")
    with pytest.raises(OutputExistsError, match="pass --overwrite"):
        check_paths(recipe, tmp_path, hub)
    check_paths(recipe, tmp_path, hub, overwrite=True)


def test_convert_merges_into_its_own_folder(tmp_path: Path) -> None:
    out = tmp_path / "unified"
    assert convert(tmp_path, out, "--name", "one").exit_code == 0
    assert convert(tmp_path, out, "--name", "two").exit_code == 0
    assert sorted(json.loads((out / "ledger.json").read_text())) == ["one", "two"]
    assert sorted(p.name for p in out.iterdir()) == ["ledger.json", "one", "two"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_export_and_report_replace_their_own_output_only_with_overwrite(hub: Path, tmp_path: Path) -> None:
    out = tmp_path / "export"
    args = ["export", str(hub), "--format", "messages", "--configs", "gad_instructions", "--out", str(out)]
    assert runner.invoke(app, args).exit_code == 0
    (out / "stale.jsonl").write_text("{}\n", encoding="utf-8")
    one_line(runner.invoke(app, args), 2, "pass --overwrite")
    assert runner.invoke(app, [*args, "--overwrite"]).exit_code == 0
    assert not (out / "stale.jsonl").exists() and (out / "gad_instructions" / "train.jsonl").is_file()
    report = tmp_path / "report"
    report.mkdir()
    (report / "report.md").write_text("# old\n", encoding="utf-8")
    (report / "report.html").write_text("<p>old</p>\n", encoding="utf-8")
    one_line(runner.invoke(app, ["report", str(tmp_path / "no-run"), "--out", str(report)]), 2, "pass --overwrite")
    one_line(runner.invoke(app, ["report", str(tmp_path / "no-run"), "--out", str(out)]), 2, "the output of `biohub export`")


# --------------------------------------------------------------------------------------------- item 2: names
@pytest.mark.parametrize(
    ("extra", "option"),
    [
        (("--name", "../../escaped"), "--name"),
        (("--name", "/tmp/escaped_abs"), "--name"),
        (("--name", ".hidden"), "--name"),
        (("--name", "toy", "--split", "../../evil"), "--split"),
        (("--name", "toy", "--split", "a/b"), "--split"),
    ],
)
def test_names_and_splits_cannot_leave_the_output(tmp_path: Path, extra: tuple[str, ...], option: str) -> None:
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    one_line(convert(work, work / "out", *extra), 2, option, "not a name")
    assert [p for p in tmp_path.rglob("*") if p.suffix in (".parquet", ".json")] == []
    assert not Path("/tmp/escaped_abs").exists()


def test_every_catalog_name_and_split_is_a_valid_name() -> None:
    for name, entry in load_catalog().items():
        check_name(name, "dataset")
        for split in entry.splits:
            check_name(split, f"{name} split")


def test_a_written_path_must_lie_under_the_output(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "link").symlink_to(tmp_path)
    assert inside(tmp_path / "out", tmp_path / "out" / "x" / "train.parquet")
    for path in (tmp_path / "out" / ".." / "x", tmp_path / "out" / "link" / "x"):
        with pytest.raises(InputError, match="outside the output folder"):
            inside(tmp_path / "out", path)
    with pytest.raises(ConfigError, match="--name"):
        convert_files("conll", [conll_input(tmp_path)], "../x", "en", tmp_path / "out2", progress=False)


# --------------------------------------------------------------------------------------------- item 3: modes
@pytest.fixture(params=[0o022, 0o077])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_outputs_get_the_umasks_modes(tmp_path: Path, umask: int) -> None:
    out = tmp_path / "unified"
    assert convert(tmp_path, out).exit_code == 0
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) == 4 and {mode(p) for p in files} == {0o666 & ~umask}  # 0o600 before, whatever the umask
    assert {mode(p) for p in (out, out / "toy")} == {0o777 & ~umask}
    with replacing(tmp_path / "report", REPORT) as work:
        (work / "report.md").write_text("x", encoding="utf-8")
        (work / "report.html").write_text("x", encoding="utf-8")
    assert mode(tmp_path / "report") == 0o777 & ~umask


# --------------------------------------------------------------------------------------------- item 5: interrupted
def test_an_interrupted_convert_writes_nothing_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reader = get_reader("conll")
    real = reader.read
    calls = {"n": 0}

    def read_then_stop(self: object, paths: list[Path], ctx: object) -> Iterator[object]:
        calls["n"] += 1
        if calls["n"] == 2:  # Ctrl-C while the second file is read, the first dataset converted
            raise KeyboardInterrupt
        yield from real(self, paths, ctx)  # type: ignore[arg-type]

    monkeypatch.setattr(reader, "read", read_then_stop)
    out = tmp_path / "unified"
    train = conll_input(tmp_path)
    test = train.with_name("test.tsv")
    test.write_text(CONLL, encoding="utf-8")
    args = ["convert", "--format", "conll", "--input", str(train), "--input", str(test), "--lang", "en", "--name", "toy"]
    one_line(runner.invoke(app, [*args, "--out", str(out)]), 130, f"interrupted; nothing was written to {out}")
    assert not out.exists() and list(tmp_path.glob(".unified*")) == []


def test_instruct_refuses_a_conversion_without_its_ledger(tmp_path: Path) -> None:
    out = tmp_path / "unified"
    assert convert(tmp_path, out).exit_code == 0
    require_complete(out, CONVERT, "--unified")
    (out / "ledger.json").unlink()  # what an interrupted convert left before: parquet files and no ledger
    result = runner.invoke(app, ["instruct", "--unified", str(out), "--out", str(tmp_path / "ins"), "--max-length", "0"])
    one_line(result, 2, "not a complete output of `biohub convert`", "--unified")
    assert not (tmp_path / "ins").exists()


# --------------------------------------------------------------------------------------------- item 5: consumers
def test_every_consumer_of_a_hub_folder_refuses_one_without_its_build_info(hub: Path, tmp_path: Path) -> None:
    killed = Path(shutil.copytree(hub, tmp_path / "killed"))
    (killed / "build_info.json").unlink()  # what a killed build (or a hand-made folder) leaves: data, a card, no record
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("not a hub\n", encoding="utf-8")
    recipe = str(ROOT / "recipes" / "two_stage_demo.yaml")
    for folder in (str(killed), str(foreign)):
        out = str(tmp_path / "out")
        commands = {  # before: train and eval ran on the killed folder, export exported it
            "train": ["train", recipe, "--data", folder, "--out", out, "--max-steps", "1"],
            "eval": ["eval", "--model", "default", "--suite", "taiyi_style", "--data", folder, "--out", out],
            "score": ["score", "--predictions", str(tmp_path / "p.jsonl"), "--data", folder, "--out", out],
            "export": ["export", folder, "--format", "alpaca", "--out", out],
        }
        for command, args in commands.items():
            line = one_line(runner.invoke(app, args), 2, f"{folder}: not a complete output of `biohub build`")
            assert ("HUBDIR" if command == "export" else "--data") in line
            assert not Path(out).exists(), command
        push = runner.invoke(app, ["push", folder, "--repo-id", "me/data", "--dry-run"])  # refused before any request
        assert push.exit_code == 1 and "missing" in one_line(push, 1) and "Traceback" not in push.output


def test_templates_check_refuses_a_conversion_without_its_ledger(tmp_path: Path) -> None:
    out = tmp_path / "unified"
    assert convert(tmp_path, out).exit_code == 0
    assert runner.invoke(app, ["templates", "check", "--unified", str(out)]).exit_code == 0
    (out / "ledger.json").unlink()  # checked the parquet files of an unfinished conversion as if complete before
    one_line(runner.invoke(app, ["templates", "check", "--unified", str(out)]), 2, "not a complete output of `biohub convert`")


def test_templates_check_shows_progress_per_dataset_on_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 25 item 13: `templates check` ran 178 s in silence on the mirror; a bar over the datasets now names each."""
    import io
    import sys

    from biohub.templates.check import check_unified

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = tmp_path / "unified"
    assert convert(tmp_path, out).exit_code == 0
    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    assert [result.dataset for result in check_unified(out)] == ["toy"]
    assert "templates check" in screen.getvalue() and "toy" in screen.getvalue()
    quiet = Terminal()
    monkeypatch.setattr(sys, "stderr", quiet)
    check_unified(out, progress=False)
    assert quiet.getvalue() == ""
