"""Shared I/O: a hub folder is read afresh, never from a cache; progress files skip only a torn last line; a local
folder or an explicit Hub id, never a Hub request for a mistyped path; model and tokenizer loaders say what they tried."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from biohub.io import InputError, append_jsonl, is_hub_id, local_or_hub, pretrained_source, read_hub_split, read_jsonl_rows
from biohub.templates.example import EXAMPLE_FEATURES
from tests.synthetic import write_hub


def test_a_rebuilt_or_same_named_folder_is_read_afresh(tmp_path: Path) -> None:
    first, second = write_hub(tmp_path / "a" / "hub", seed=0), write_hub(tmp_path / "b" / "hub", seed=1)
    for folder in (first, second):
        expected = pq.read_table(folder / "data" / "mix_stage1" / "train-00000-of-00001.parquet").to_pylist()
        assert read_hub_split(str(folder), "mix_stage1", "train").to_list() == expected
    shutil.rmtree(first)
    write_hub(first, seed=5)
    expected = pq.read_table(first / "data" / "mix_stage1" / "train-00000-of-00001.parquet").to_pylist()
    rows = read_hub_split(str(first), "mix_stage1", "train")
    assert rows.to_list() == expected and rows.features == EXAMPLE_FEATURES


def test_missing_configs_and_splits_are_named(tmp_path: Path) -> None:
    hub = write_hub(tmp_path / "hub")
    with pytest.raises(ValueError, match="no config 'nope' \\(has: mix_stage1, mix_stage2\\)"):
        read_hub_split(str(hub), "nope", "train")
    with pytest.raises(ValueError, match="has no split 'test'"):
        read_hub_split(str(hub), "mix_stage1", "test")
    with pytest.raises(ValueError, match="no Hub card"):
        read_hub_split(str(tmp_path), "mix_stage1", "train")


# --------------------------------------------------------------------------------------------- progress files
def test_only_a_torn_last_line_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "progress.jsonl"
    path.write_text('{"id": "a"}\n{"id": "b"}\n{"id": "c", "out', encoding="utf-8")  # a crash mid-write
    assert [row["id"] for row in read_jsonl_rows(path)] == ["a", "b"]
    append_jsonl(path, [{"id": "c"}])
    assert path.read_text(encoding="utf-8") == '{"id": "a"}\n{"id": "b"}\n{"id": "c"}\n'
    path.write_text('{"id": "a"}\n{"id": "b"}', encoding="utf-8")  # whole, only its newline missing: kept
    assert [row["id"] for row in read_jsonl_rows(path)] == ["a", "b"]
    append_jsonl(path, [{"id": "c"}])
    assert [row["id"] for row in read_jsonl_rows(path)] == ["a", "b", "c"]


@pytest.mark.parametrize(("text", "message"), [
    ('{"id": "a"}\n{"id": "b", "out\n{"id": "c"}\n', ":2: not a JSON line"),
    ('{"id": "a"}\n[1, 2]\n', ":2: expected a JSON object"),
    ('{"id": "a"}\nnot json\n{"id": "c"}', ":2: not a JSON line"),
])  # fmt: skip
def test_a_bad_line_before_the_last_is_an_error_naming_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "progress.jsonl"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=f"^{re.escape(str(path) + message)}"):
        read_jsonl_rows(path)


def test_unicode_line_separators_inside_a_row_do_not_split_it(tmp_path: Path) -> None:
    path = tmp_path / "progress.jsonl"
    rows = [{"id": "a", "output": "first\u2028second\x85third\x1cfourth"}, {"id": "b", "output": "中文"}]
    append_jsonl(path, rows)
    assert read_jsonl_rows(path) == rows


# --------------------------------------------------------------------------------------------- local folder or Hub id
@pytest.mark.parametrize("name", ["./hub", "../hub", "~/hub", "/abs/hub", "a/b/c", "hub", "a\\b", "org/"])
def test_path_like_names_are_never_hub_ids(name: str) -> None:
    assert not is_hub_id(name)


def test_a_name_under_an_existing_folder_is_a_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert is_hub_id("runs/stage1")
    (tmp_path / "runs").mkdir()
    assert not is_hub_id("runs/stage1")
    with pytest.raises(InputError, match="^no such folder runs/stage1 "):
        local_or_hub("runs/stage1", "model")


def test_read_hub_split_asks_the_hub_only_for_an_explicit_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple] = []
    monkeypatch.setattr("biohub.io.load_dataset", lambda *args, **kwargs: asked.append(args) or "from the Hub")
    for typo in ("./hubb", str(tmp_path / "hubb"), "hubb", "~/hubb/x"):
        with pytest.raises(InputError, match="no such folder"):
            read_hub_split(typo, "mix_stage1", "train")
    (tmp_path / "file.parquet").write_bytes(b"")
    with pytest.raises(InputError, match="is a file, not a hub dataset folder"):
        read_hub_split(str(tmp_path / "file.parquet"), "mix_stage1", "train")
    assert not asked
    assert read_hub_split("ORG/NAME", "mix_stage1", "train") == "from the Hub" and asked == [("ORG/NAME", "mix_stage1")]


def test_offline_hub_ids_come_from_the_local_cache_or_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(InputError, match="^org/tiny is not in the local Hugging Face cache and HF_HUB_OFFLINE=1"):
        pretrained_source("org/tiny", "model")
    snapshot = tmp_path / "cache" / "models--org--tiny" / "snapshots" / "0123abcd"
    snapshot.mkdir(parents=True)
    (snapshot.parents[1] / "refs").mkdir()
    (snapshot.parents[1] / "refs" / "main").write_text("0123abcd", encoding="utf-8")
    assert Path(pretrained_source("org/tiny", "model")) == snapshot
    monkeypatch.delenv("HF_HUB_OFFLINE")
    assert pretrained_source("org/tiny", "model") == "org/tiny"  # online: from_pretrained resolves (and caches) it


def test_model_and_tokenizer_loaders_name_what_they_tried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_model_dir: Path
) -> None:
    from biohub.models import load_model, load_tokenizer

    with pytest.raises(InputError, match=f"^no such folder {re.escape(str(tmp_path / 'tok'))} "):
        load_tokenizer(str(tmp_path / "tok"))
    with pytest.raises(InputError, match="^no such folder ./models/tiny "):
        load_model("./models/tiny")
    with pytest.raises(InputError, match="^no such file tiny.gguf"):
        load_model("tiny.gguf")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=f"^{re.escape(str(tmp_path / 'empty'))}: cannot load a model from"):
        load_model(str(tmp_path / "empty"))
    import huggingface_hub.constants

    snapshot = tmp_path / "cache" / "models--org--tiny" / "snapshots" / "0123abcd"
    shutil.copytree(tiny_model_dir, snapshot)
    (snapshot.parents[1] / "refs").mkdir()
    (snapshot.parents[1] / "refs" / "main").write_text("0123abcd", encoding="utf-8")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model, tokenizer = load_model("org/tiny")  # a Hub id in the cache loads offline
    assert model.config.num_hidden_layers == 2 and tokenizer.chat_template
