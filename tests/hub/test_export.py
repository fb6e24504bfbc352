"""``biohub.hub.export``: each format checked against its consumer's documented schema, on a small Hub folder
built from the shipped example corpora (convert -> instruct -> data/<config>/<split>-00000-of-00001.parquet)."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from biohub.hub.export import FORMATS, check_messages, export
from biohub.hub.lm_eval_export import lm_eval_doc, loglik_doc
from biohub.io import InputError, write_parquet
from biohub.templates.example import EXAMPLE_FEATURES

ROOT = Path(__file__).resolve().parents[2]
DATASETS = ["medqa_usmle", "pubmedqa", "ncbi_disease", "gad", "cmexam", "taiyi_examples"]
MULTI_TURN = {
    "id": "handmade.train.1:dialogue",
    "source_id": "handmade.train.1",
    "dataset": "handmade",
    "split": "train",
    "task": "dialogue",
    "language": "en",
    "template_id": "dialogue.en.01",
    "messages": [
        {"role": "system", "content": "You are a careful clinician."},
        {"role": "user", "content": "I have had a cough for two weeks."},
        {"role": "assistant", "content": "Do you have a fever?"},
        {"role": "user", "content": "No fever, but some night sweats."},
        {"role": "assistant", "content": "Please see a doctor for a chest X-ray."},
    ],
    "gold": json.dumps({"value": "Please see a doctor for a chest X-ray."}),
    "meta": json.dumps(
        {
            "answer": {
                "kind": "text",
                "format": "lines",
                "language": "en",
                "labels": [],
                "display": {},
                "prefix": "",
                "choices": [],
            }
        }
    ),
}


# --------------------------------------------------------------------------------------------- fixture Hub folder
def _card(configs: dict[str, list[str]]) -> str:
    entries = [
        {"config_name": name, "data_files": [{"split": split, "path": f"data/{name}/{split}-*"} for split in splits]}
        for name, splits in configs.items()
    ]
    return "---\n" + yaml.safe_dump({"configs": entries}, sort_keys=False) + "---\n\n# test hub\n"


def _handmade(hub: Path, configs: dict[str, list[str]]) -> None:
    """A hand-made hub folder's card and ``build_info.json`` (the completion record `export` asks for)."""
    (hub / "README.md").write_text(_card(configs), encoding="utf-8")
    _built(hub)


def _built(hub: Path) -> None:
    (hub / "build_info.json").write_text(json.dumps({"configs": {}, "recipe_sha256": "0" * 64}), encoding="utf-8")


def make_hub(root: Path, datasets: list[str] = DATASETS) -> Path:
    """A Hub folder: <dataset>_instructions for example corpora, mix_stage1/2, one *_unified config and build_info.json."""
    from biohub.converters.api import convert_catalogued
    from biohub.templates.instruct import InstructOptions, instruct

    unified, instructions, hub = root / "unified", root / "instructions", root / "hub"
    convert_catalogued(ROOT / "examples" / "mirror", unified, datasets, verify=False, progress=False)
    instruct(unified, instructions, InstructOptions(max_length=0), progress=False)
    configs: dict[str, list[str]] = {}
    counts: dict[str, dict[str, int]] = {}
    train_rows: list[dict] = []
    for dataset in datasets:
        name = f"{dataset}_instructions"
        for path in sorted((instructions / dataset).glob("*.parquet")):
            target = hub / "data" / name / f"{path.stem}-00000-of-00001.parquet"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            configs.setdefault(name, []).append(path.stem)
            counts.setdefault(name, {})[path.stem] = pq.read_metadata(path).num_rows
            if path.stem == "train":
                train_rows += pq.read_table(path).to_pylist()
    random.Random(0).shuffle(train_rows)
    half = len(train_rows) // 2
    for name, rows in (("mix_stage1", train_rows[:half]), ("mix_stage2", [*train_rows[half:], MULTI_TURN])):
        write_parquet(hub / "data" / name / "train-00000-of-00001.parquet", rows, EXAMPLE_FEATURES)
        configs[name] = ["train"]
        counts[name] = {"train": len(rows)}
    unified_test = hub / "data" / "pubmedqa_unified" / "test-00000-of-00001.parquet"
    unified_test.parent.mkdir(parents=True)
    shutil.copyfile(unified / "pubmedqa" / "test.parquet", unified_test)
    configs["pubmedqa_unified"] = ["test"]
    (hub / "README.md").write_text(_card(configs), encoding="utf-8")
    # build_info.json: the split counts `biohub score --suite all` reads, and the completion record consumers ask for
    (hub / "build_info.json").write_text(json.dumps({"configs": counts, "recipe_sha256": "0" * 64}), encoding="utf-8")
    return hub


@pytest.fixture(scope="module")
def exported(hub: Path, tmp_path_factory: pytest.TempPathFactory):
    """``exported(fmt)``: the export of the fixture Hub in ``fmt`` (once per format) and its summary."""
    done: dict[str, tuple[Path, dict]] = {}

    def get(fmt: str) -> tuple[Path, dict]:
        if fmt not in done:
            out = tmp_path_factory.mktemp("out") / fmt
            done[fmt] = (out, export(hub, fmt, out))
        return done[fmt]

    return get


def hub_rows(hub: Path, config: str, split: str) -> list[dict]:
    return pq.read_table(hub / "data" / config / f"{split}-00000-of-00001.parquet").to_pylist()


def expected_files(hub: Path) -> dict[str, int]:
    """Exported file (without extension) -> rows, for the default configs' non-empty splits: training splits at
    ``<config>/train``, eval splits under ``eval/<config>/<split>``."""
    out = {}
    for folder in sorted((hub / "data").iterdir()):
        if folder.name.endswith("_instructions") or folder.name.startswith("mix_stage"):
            for path in sorted(folder.glob("*.parquet")):
                rows, split = pq.read_metadata(path).num_rows, path.name.split("-")[0]
                if rows:
                    out[f"{folder.name}/{split}" if split == "train" else f"eval/{folder.name}/{split}"] = rows
    return out


# --------------------------------------------------------------------------------------------- alpaca / sharegpt
ALPACA_KEYS = {"instruction": str, "input": str, "output": str, "system": str, "history": list}
# LLaMA-Factory's documented dataset_info.json schema (data/README.md; DatasetAttr in src/llamafactory/data/parser.py):
# the keys an entry may have, the column keys per formatting, the sharegpt tag keys.
LLAMAFACTORY_ENTRY_KEYS = {
    "hf_hub_url", "ms_hub_url", "script_url", "cloud_file_name", "file_name", "formatting", "ranking", "subset", "split",
    "folder", "num_samples", "columns", "tags",
}  # fmt: skip
LLAMAFACTORY_COLUMNS = {
    "alpaca": {"prompt", "query", "response", "history", "system", "tools", "images", "videos", "audios", "chosen", "rejected",
               "kto_tag"},
    "sharegpt": {"messages", "system", "tools", "images", "videos", "audios", "chosen", "rejected", "kto_tag"},
}  # fmt: skip
LLAMAFACTORY_TAGS = {"role_tag", "content_tag", "user_tag", "assistant_tag", "observation_tag", "function_tag", "system_tag"}


@pytest.mark.parametrize("fmt", ["alpaca", "sharegpt"])
def test_dataset_info_registers_training_files_only(exported, hub: Path, fmt: str) -> None:
    out, summary = exported(fmt)
    info = json.loads((out / "dataset_info.json").read_text(encoding="utf-8"))
    train = {name: rows for name, rows in expected_files(hub).items() if not name.startswith("eval/")}
    assert {entry["file_name"] for entry in info.values()} == {f"{name}.json" for name in train}
    assert set(info) == {name.replace("/", "_") for name in train} == set(summary["registered"])
    assert not [entry for entry in info.values() if "eval" in Path(entry["file_name"]).parts or "test" in entry["file_name"]]
    assert summary["files"] == {f"{name}.json": rows for name, rows in expected_files(hub).items()}
    assert summary["configs"][:2] == ["mix_stage1", "mix_stage2"] and "pubmedqa_unified" not in summary["configs"]


@pytest.mark.parametrize("fmt", ["alpaca", "sharegpt"])
def test_dataset_info_entries_follow_llamafactory_schema(exported, fmt: str) -> None:
    """Field by field against LLaMA-Factory's documented schema (its own loader reads the files in
    test_llamafactory_own_loader_reads_every_registered_dataset)."""
    out, _ = exported(fmt)
    info = json.loads((out / "dataset_info.json").read_text(encoding="utf-8"))
    assert info
    for name, entry in info.items():
        assert set(entry) <= LLAMAFACTORY_ENTRY_KEYS, name
        assert set(entry["columns"]) <= LLAMAFACTORY_COLUMNS[fmt] and set(entry.get("tags", {})) <= LLAMAFACTORY_TAGS
        assert entry.get("split", "train") == "train" and not entry.get("ranking", False)
        rows = json.loads((out / entry["file_name"]).read_text(encoding="utf-8"))
        for row in rows:  # every column the entry names exists in every row (LLaMA-Factory indexes them directly)
            assert set(entry["columns"].values()) <= set(row), name
        if fmt == "alpaca":
            assert entry == {
                "file_name": entry["file_name"],
                "formatting": "alpaca",
                "columns": {
                    "prompt": "instruction",
                    "query": "input",
                    "response": "output",
                    "system": "system",
                    "history": "history",
                },
            }
        else:
            assert entry == {
                "file_name": entry["file_name"],
                "formatting": "sharegpt",
                "columns": {"messages": "conversations", "system": "system"},
                "tags": {"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt"},
            }
            for row in rows:  # documented: human (user) at odd positions, gpt (assistant) at even ones, 1-based
                tags = [turn[entry["tags"]["role_tag"]] for turn in row[entry["columns"]["messages"]]]
                assert tags == ["human", "gpt"] * (len(tags) // 2) and len(tags) % 2 == 0


@pytest.mark.parametrize("fmt", ["alpaca", "sharegpt", "messages"])
def test_eval_splits_are_apart_with_their_own_manifest(exported, hub: Path, fmt: str) -> None:
    out, _ = exported(fmt)
    extension = "jsonl" if fmt == "messages" else "json"
    manifest = json.loads((out / "eval" / "manifest.json").read_text(encoding="utf-8"))
    evals = {name: rows for name, rows in expected_files(hub).items() if name.startswith("eval/")}
    assert evals and {f"eval/{entry['file_name']}" for entry in manifest.values()} == {f"{name}.{extension}" for name in evals}
    for key, entry in manifest.items():
        assert key == f"{entry['config']}_{entry['split']}" and entry["split"] != "train"
        assert entry["rows"] == evals[f"eval/{entry['config']}/{entry['split']}"]
    assert not (out / "eval" / "dataset_info.json").exists()
    outside = [path for path in out.glob(f"*/*.{extension}") if path.parent.name != "eval"]
    assert outside and all(path.stem == "train" for path in outside)  # nothing but training data outside eval/
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert "eval/manifest.json" in readme and "do not train on them" in readme


def test_alpaca_rows_have_the_documented_keys_and_types(exported, hub: Path) -> None:
    out, _ = exported("alpaca")
    for relative, count in expected_files(hub).items():
        rows = json.loads((out / f"{relative}.json").read_text(encoding="utf-8"))
        assert isinstance(rows, list) and len(rows) == count
        for row in rows:
            assert set(row) == set(ALPACA_KEYS)
            assert all(isinstance(row[key], kind) for key, kind in ALPACA_KEYS.items())
            assert row["input"] == "" and row["instruction"] and row["output"]
            assert all(
                isinstance(pair, list) and len(pair) == 2 and all(isinstance(t, str) for t in pair) for pair in row["history"]
            )
    source = hub_rows(hub, "medqa_usmle_instructions", "test")[0]["messages"]
    first = json.loads((out / "eval/medqa_usmle_instructions/test.json").read_text(encoding="utf-8"))[0]
    assert first == {
        "instruction": source[0]["content"],
        "input": "",
        "output": source[1]["content"],
        "system": "",
        "history": [],
    }


def test_alpaca_multi_turn_row_keeps_system_and_history(exported) -> None:
    out, _ = exported("alpaca")
    rows = json.loads((out / "mix_stage2/train.json").read_text(encoding="utf-8"))
    assert rows[-1] == {
        "instruction": "No fever, but some night sweats.",
        "input": "",
        "output": "Please see a doctor for a chest X-ray.",
        "system": "You are a careful clinician.",
        "history": [["I have had a cough for two weeks.", "Do you have a fever?"]],
    }
    dialogue = json.loads((out / "taiyi_examples_instructions/train.json").read_text(encoding="utf-8"))
    assert all(row["system"] for row in dialogue)  # dialogue rows start with a system message


def test_sharegpt_rows_have_the_documented_keys_and_roles(exported, hub: Path) -> None:
    out, _ = exported("sharegpt")
    for relative, count in expected_files(hub).items():
        rows = json.loads((out / f"{relative}.json").read_text(encoding="utf-8"))
        assert len(rows) == count
        for row in rows:
            assert set(row) == {"conversations", "system"} and isinstance(row["system"], str)
            turns = row["conversations"]
            assert turns and len(turns) % 2 == 0
            for index, turn in enumerate(turns):  # human at odd positions, gpt at even ones (1-based)
                assert set(turn) == {"from", "value"} and isinstance(turn["value"], str)
                assert turn["from"] == ("human" if index % 2 == 0 else "gpt")
    last = json.loads((out / "mix_stage2/train.json").read_text(encoding="utf-8"))[-1]
    assert last["system"] == "You are a careful clinician."
    assert [t["value"] for t in last["conversations"]] == [m["content"] for m in MULTI_TURN["messages"][1:]]


@pytest.mark.parametrize("fmt", ["alpaca", "sharegpt"])
def test_llamafactory_files_load_with_datasets_json(exported, fmt: str, tmp_path: Path) -> None:
    """LLaMA-Factory reads local files with the ``datasets`` json builder."""
    from datasets import load_dataset

    out, _ = exported(fmt)
    info = json.loads((out / "dataset_info.json").read_text(encoding="utf-8"))
    for entry in info.values():
        data = load_dataset("json", data_files=str(out / entry["file_name"]), split="train", cache_dir=str(tmp_path))
        assert set(data.column_names) == ({"conversations", "system"} if fmt == "sharegpt" else set(ALPACA_KEYS))


def _import_llamafactory_loader(monkeypatch: pytest.MonkeyPatch):
    """LLaMA-Factory's own data loader (``make setup`` installs llamafactory with ``--no-deps``: its pins would replace
    biohub's torch/transformers/datasets). Its multimodal plugin imports torchaudio and av at module level; neither is
    installed here and neither is used by text data, so they stand as empty modules for this import only."""
    import importlib.machinery
    import importlib.util
    import sys
    import types

    if importlib.util.find_spec("llamafactory") is None:
        pytest.skip("llamafactory is not installed (make setup installs it with --no-deps)")
    for name in ("torchaudio", "av"):
        if importlib.util.find_spec(name) is None:
            module = types.ModuleType(name)
            module.__spec__ = importlib.machinery.ModuleSpec(name, None)
            monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setenv("DISABLE_VERSION_CHECK", "1")
    from llamafactory.data import loader, parser

    return loader, parser


@pytest.mark.parametrize("fmt", ["alpaca", "sharegpt"])
def test_llamafactory_own_loader_reads_every_registered_dataset(
    exported, fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dataset_info.json through LLaMA-Factory's parser (get_dataset_list) and loader (_load_single_dataset, which
    aligns rows to its prompt/response form): every registered dataset loads, no row is dropped or marked broken
    (a broken sharegpt row aligns to an empty prompt and response), and every aligned conversation is the export's."""
    loader, parser = _import_llamafactory_loader(monkeypatch)
    from types import SimpleNamespace

    out, _ = exported(fmt)
    info = json.loads((out / "dataset_info.json").read_text(encoding="utf-8"))
    attrs = parser.get_dataset_list(sorted(info), str(out))
    assert [attr.dataset_name for attr in attrs] == [info[name]["file_name"] for name in sorted(info)]
    data_args = SimpleNamespace(
        dataset_dir=str(out), media_dir=str(out), streaming=False, preprocessing_num_workers=None,
        overwrite_cache=True, max_samples=None,
    )  # fmt: skip
    model_args = SimpleNamespace(cache_dir=str(tmp_path), hf_hub_token=None)
    training_args = SimpleNamespace(local_process_index=0, dataloader_num_workers=0)
    for name, attr in zip(sorted(info), attrs, strict=True):
        assert attr.load_from == "file" and attr.formatting == fmt
        aligned = loader._load_single_dataset(attr, model_args, data_args, training_args)
        rows = json.loads((out / info[name]["file_name"]).read_text(encoding="utf-8"))
        assert len(aligned) == len(rows), name
        for row, got in zip(rows, aligned, strict=True):
            assert got["_prompt"] and got["_response"], (name, row)
            assert got["_system"] == row["system"]
            if fmt == "alpaca":
                turns = [text for pair in row["history"] for text in pair]
                query = row["instruction"] + ("\n" + row["input"] if row["input"] else "")
                assert [m["content"] for m in got["_prompt"]] == [*turns, query]
                assert [m["content"] for m in got["_response"]] == [row["output"]]
            else:
                conversation = [turn["value"] for turn in row["conversations"]]
                assert [m["content"] for m in got["_prompt"]] == conversation[:-1]
                assert [m["content"] for m in got["_response"]] == conversation[-1:]
            roles = [m["role"] for m in got["_prompt"]]
            assert roles == ["user", "assistant"] * (len(roles) // 2) + ["user"]


# --------------------------------------------------------------------------------------------- messages
def _message_lines(path: Path) -> list[dict]:
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def test_messages_lines_are_chat_conversations(exported, hub: Path) -> None:
    out, summary = exported("messages")
    assert summary["files"] == {f"{name}.jsonl": rows for name, rows in expected_files(hub).items()}
    for relative, count in expected_files(hub).items():
        lines = _message_lines(out / f"{relative}.jsonl")
        assert len(lines) == count
        for line in lines:
            assert set(line) == {"messages"}
            roles = [m["role"] for m in line["messages"]]
            assert all(set(m) == {"role", "content"} and isinstance(m["content"], str) for m in line["messages"])
            assert set(roles) <= {"system", "user", "assistant"}
            turns = roles[1:] if roles[0] == "system" else roles
            assert turns == ["user", "assistant"] * (len(turns) // 2) and turns[-1] == "assistant"
    assert _message_lines(out / "mix_stage2/train.jsonl")[-1] == {"messages": MULTI_TURN["messages"]}


def test_messages_are_trl_conversational(exported, tmp_path: Path) -> None:
    data_utils = pytest.importorskip("trl.data_utils", reason="TRL is not importable", exc_type=ImportError)
    from datasets import load_dataset

    out, summary = exported("messages")
    for relative in summary["files"]:
        data = load_dataset("json", data_files=str(out / relative), split="train", cache_dir=str(tmp_path))
        assert data.column_names == ["messages"]
        assert all(data_utils.is_conversational(example) for example in data)


def test_messages_export_ships_the_training_chat_template(exported) -> None:
    from biohub.hub.chat_template import TRAINING_CHAT_TEMPLATE

    out, _ = exported("messages")
    assert (out / "chat_template.jinja").read_text(encoding="utf-8") == TRAINING_CHAT_TEMPLATE
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert "assistant_only_loss=True" in readme and "chat_template_path=" in readme and "chat_template.jinja" in readme


def test_empty_splits_are_reported_not_written(exported, hub: Path) -> None:
    out, summary = exported("messages")
    empty = [
        f"{folder.name}/{path.name.split('-')[0]}" for folder in (hub / "data").iterdir() for path in folder.glob("*.parquet")
    ]
    written = {name.removeprefix("eval/") for name in expected_files(hub)}
    empty = sorted(name for name in empty if not name.startswith("pubmedqa_unified") and name not in written)
    assert sorted(summary["empty"]) == empty
    assert not any((out / f"{name}.jsonl").exists() or (out / f"eval/{name}.jsonl").exists() for name in empty)


# --------------------------------------------------------------------------------------------- lm-eval (layout)
class _FunctionLoader(yaml.SafeLoader):
    """Reads lm-eval YAMLs: ``!function NAME`` becomes the string ``!function NAME``."""


_FunctionLoader.add_constructor("!function", lambda loader, node: f"!function {loader.construct_scalar(node)}")


def read_task_yaml(path: Path) -> dict:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_FunctionLoader)  # a SafeLoader subclass


def test_lm_eval_tasks_data_and_yaml(exported, hub: Path) -> None:
    out, summary = exported("lm-eval")
    tasks = summary["tasks"]
    assert set(tasks) == {
        "biohub_medqa_usmle",
        "biohub_medqa_usmle_validation",
        "biohub_pubmedqa",
        "biohub_gad",
        "biohub_cmexam",
        "biohub_cmexam_validation",
        "biohub_ncbi_disease",
        "biohub_ncbi_disease_validation",
    }
    assert summary["group"] == {
        "biohub": ["biohub_cmexam", "biohub_gad", "biohub_medqa_usmle", "biohub_ncbi_disease", "biohub_pubmedqa"]
    }
    assert summary["skipped"] == {}
    assert tasks["biohub_medqa_usmle"]["split"] == "test" and tasks["biohub_medqa_usmle_validation"]["split"] == "validation"
    group = read_task_yaml(out / "_biohub.yaml")
    assert group["group"] == "biohub" and group["task"] == summary["group"]["biohub"]
    assert group["aggregate_metric_list"] == [{"metric": "headline", "aggregation": "mean", "weight_by_size": False}]
    assert "from biohub.eval.lm_eval_hooks import BiohubTask" in (out / "utils.py").read_text(encoding="utf-8")
    for name, task in tasks.items():
        config = read_task_yaml(out / f"{name}.yaml")
        data_file = Path(config["dataset_kwargs"]["data_files"][task["split"]])
        assert data_file == out / task["file"] and data_file.is_absolute()
        assert config["task"] == name and config["dataset_path"] == "json" and config["test_split"] == task["split"]
        assert config["class"] == "!function utils.BiohubTask" and config["output_type"] == "generate_until"
        assert (config["doc_to_text"], config["description"], config["doc_to_target"]) == ("prompt", "system", "target")
        assert config["metadata"]["biohub_family"] == task["family"] and config["metadata"]["biohub_config"] == task["config"]
        docs = _message_lines(data_file)
        assert len(docs) == task["docs"]
        rows = {row["id"]: row for row in hub_rows(hub, task["config"], task["split"])}
        assert {doc["id"] for doc in docs} == {i for i, row in rows.items() if row["task"] == task["family"]}
        for doc in docs:
            row = rows[doc["id"]]
            assert (doc["system"], doc["prompt"], doc["target"]) == (
                "",
                row["messages"][0]["content"],
                row["messages"][1]["content"],
            )
            assert (doc["meta"], doc["gold"], doc["task"], doc["dataset"]) == (
                row["meta"],
                row["gold"],
                row["task"],
                row["dataset"],
            )


def test_lm_eval_loads_with_task_manager(exported, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pytest.importorskip("lm_eval", reason="lm-eval is not importable (pip install biohub[export])", exc_type=ImportError)
    import datasets
    from lm_eval.tasks import TaskManager

    from biohub.eval.run import max_new_tokens

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path)
    out, summary = exported("lm-eval")
    manager = TaskManager(include_path=str(out), include_defaults=False)
    for name in [*summary["tasks"], "biohub"]:
        assert name in manager.all_tasks, name
    loaded = manager.load(["biohub", "biohub_medqa_usmle_validation"])
    assert sorted(loaded["group_map"]["biohub"]) == summary["group"]["biohub"]
    assert set(loaded["tasks"]) == set(summary["group"]["biohub"]) | {"biohub_medqa_usmle_validation"}
    for name, task in loaded["tasks"].items():
        docs = list(task.eval_docs)
        assert len(docs) == summary["tasks"][name]["docs"]
        doc = docs[0]
        assert task.doc_to_text(doc) == doc["prompt"] and task.doc_to_target(doc) == doc["target"]
        assert task.config.description == "system" and task.OUTPUT_TYPE == "generate_until"
        budget = max_new_tokens()[summary["tasks"][name]["family"]]  # biohub eval's, per family
        assert task.config.generation_kwargs == {"until": [], "max_gen_toks": budget, "do_sample": False}
        metrics = list(task.aggregation())
        assert (
            metrics[0] == "headline"
            and metrics[-1] == "parse_failure_rate"
            and task.higher_is_better()["parse_failure_rate"] is False
        )
    family_metrics = {name: list(task.aggregation()) for name, task in loaded["tasks"].items()}
    assert family_metrics["biohub_medqa_usmle"] == ["headline", "accuracy", "parse_failure_rate"]
    assert {"accuracy", "f1_positive"} <= set(family_metrics["biohub_gad"])  # re_binary: the positive class's F1 too
    better = loaded["tasks"]["biohub_ncbi_disease"].higher_is_better()
    counts = [name for name in better if name.startswith(("fp_", "fn_"))]
    assert counts and not any(better[name] for name in [*counts, "parse_failure_rate"])
    assert all(better[name] for name in better if name not in counts and name != "parse_failure_rate")


def test_lm_eval_leaves_out_rows_with_a_history_and_counts_them(tmp_path: Path) -> None:
    hub = tmp_path / "hub"
    single = {**MULTI_TURN, "id": "handmade.test.2:dialogue", "split": "test", "messages": MULTI_TURN["messages"][:3]}
    history = {**MULTI_TURN, "split": "test"}
    write_parquet(hub / "data/handmade_instructions/test-00000-of-00001.parquet", [single, history], EXAMPLE_FEATURES)
    _handmade(hub, {"handmade_instructions": ["test"]})
    summary = export(hub, "lm-eval", tmp_path / "out")
    assert summary["skipped"] == {"handmade_instructions/test": {"multi_turn": 1}} and summary["rows"] == 1
    doc = _message_lines(tmp_path / "out" / summary["tasks"]["biohub_handmade"]["file"])[0]
    assert (doc["system"], doc["prompt"], doc["target"]) == tuple(m["content"] for m in MULTI_TURN["messages"][:3])
    assert "multi_turn 1" in (tmp_path / "out" / "README.md").read_text(encoding="utf-8")
    assert lm_eval_doc(history) == (None, "multi_turn")
    # no choice family: no log-likelihood task and no group, and both rows counted as left out
    assert summary["loglik"] == {
        "tasks": {},
        "group": {},
        "skipped": {"handmade_instructions/test": {"other_task": 2}},
        "rows": 0,
    }
    assert not (tmp_path / "out" / "_biohub_loglik.yaml").exists()


def test_lm_eval_without_eval_rows_is_an_error(hub: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no eval rows lm-eval can prompt with in config.*mix_stage1"):
        export(hub, "lm-eval", tmp_path / "out", ["mix_stage1", "taiyi_examples_instructions"])
    assert not (tmp_path / "out").exists() and list(tmp_path.iterdir()) == []  # nothing left behind


# --------------------------------------------------------------------------------------------- lm-eval (log-likelihood)
LOGLIK_TASKS = {
    "biohub_medqa_usmle_loglik": ("biohub_medqa_usmle", "test", "qa_multiple_choice", "Answer:", " ", ["A", "B", "C", "D"]),
    "biohub_medqa_usmle_validation_loglik": (
        "biohub_medqa_usmle_validation", "validation", "qa_multiple_choice", "Answer:", " ", ["A", "B", "C", "D"]
    ),
    "biohub_pubmedqa_loglik": ("biohub_pubmedqa", "test", "qa_yesno", "Answer:", " ", ["yes", "no", "maybe"]),
    "biohub_gad_loglik": ("biohub_gad", "test", "re_binary", "Result:", " ", ["no", "yes"]),  # display names of "0", "1"
    "biohub_cmexam_loglik": ("biohub_cmexam", "test", "qa_multiple_choice", "答案：", "", ["A", "B", "C", "D", "E"]),
    "biohub_cmexam_validation_loglik": (
        "biohub_cmexam_validation", "validation", "qa_multiple_choice", "答案：", "", ["A", "B", "C", "D", "E"]
    ),
}  # fmt: skip


def test_lm_eval_loglik_tasks_sit_beside_the_generate_tasks(exported, hub: Path) -> None:
    out, summary = exported("lm-eval")
    loglik = summary["loglik"]
    assert set(loglik["tasks"]) == set(LOGLIK_TASKS)
    assert loglik["group"] == {"biohub_loglik": sorted(name for name in LOGLIK_TASKS if "validation" not in name)}
    group = read_task_yaml(out / "_biohub_loglik.yaml")
    assert group["group"] == "biohub_loglik" and group["task"] == loglik["group"]["biohub_loglik"]
    assert [m["metric"] for m in group["aggregate_metric_list"]] == ["acc", "acc_norm"]
    assert loglik["skipped"] == {  # multiple-answer questions and the other families' rows, counted per split and reason
        "cmexam_instructions/test": {"several_gold_options": 1},
        "cmexam_instructions/validation": {"several_gold_options": 1},
        "ncbi_disease_instructions/test": {"other_task": 3},
        "ncbi_disease_instructions/validation": {"other_task": 3},
    }
    for name, (generate, split, family, keyword, delimiter, choices) in LOGLIK_TASKS.items():
        task, twin = loglik["tasks"][name], summary["tasks"][generate]
        assert [task["generate_task"], task["split"], task["family"]] == [generate, split, family]
        assert task["target_delimiter"] == delimiter
        assert (task["config"], task["in_group"]) == (twin["config"], twin["in_group"])
        rows = hub_rows(hub, task["config"], split)
        left_out = sum(loglik["skipped"].get(f"{task['config']}/{split}", {}).values())
        assert task["docs"] + left_out == len(rows)  # every row of the split is a doc or counted as left out
        config = read_task_yaml(out / f"{name}.yaml")
        data_file = Path(config["dataset_kwargs"]["data_files"][split])
        assert data_file == out / task["file"] and data_file.is_absolute() and config["test_split"] == split
        assert {key: config[key] for key in ("task", "output_type", "description", "doc_to_text", "gen_prefix")} == {
            "task": name,
            "output_type": "multiple_choice",
            "description": "system",
            "doc_to_text": "prompt",
            "gen_prefix": "keyword",
        }
        assert (config["doc_to_choice"], config["doc_to_target"]) == ("choices", "gold_index")
        assert config["target_delimiter"] == delimiter
        assert [m["metric"] for m in config["metric_list"]] == ["acc", "acc_norm"] and "class" not in config
        assert config["metadata"]["biohub_generate_task"] == generate and config["metadata"]["docs"] == task["docs"]
        docs = _message_lines(data_file)
        assert len(docs) == task["docs"]
        by_id = {row["id"]: row for row in rows}
        for doc in docs:
            row = by_id[doc["id"]]
            gold = json.loads(row["gold"])["value"]
            assert [doc["system"], doc["prompt"], doc["target"]] == ["", *(message["content"] for message in row["messages"])]
            assert (doc["keyword"], doc["choices"], doc["task"], doc["dataset"]) == (keyword, choices, family, row["dataset"])
            assert doc["target"] == doc["keyword"] + delimiter + doc["choices"][doc["gold_index"]]
            labels = json.loads(row["meta"])["answer"]["labels"]
            assert labels[doc["gold_index"]] == (gold[0] if family == "qa_multiple_choice" else gold)
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert "--tasks biohub_loglik" in readme and "- cmexam_instructions/test: several_gold_options 1" in readme


def test_lm_eval_loglik_doc_leaves_out_rows_per_reason_and_rejects_wrong_targets(hub: Path) -> None:
    row = next(row for row in hub_rows(hub, "medqa_usmle_instructions", "test") if row["task"] == "qa_multiple_choice")
    meta = json.loads(row["meta"])
    meta["answer"]["format"] = "json"
    assert loglik_doc({**row, "meta": json.dumps(meta)}, "x") == (None, "", "json_answer_format")
    assert loglik_doc({**row, "gold": json.dumps({"value": ["A", "B"]})}, "x") == (None, "", "several_gold_options")
    assert loglik_doc({**MULTI_TURN, "task": "qa_multiple_choice"}, "x") == (None, "", "multi_turn")
    assert loglik_doc(hub_rows(hub, "ncbi_disease_instructions", "test")[0], "x") == (None, "", "other_task")
    wrong = [row["messages"][0], {"role": "assistant", "content": "Answer: Z"}]
    with pytest.raises(ValueError, match=r"f\.parquet: row 3: target 'Answer: Z' is not the rendering of gold"):
        loglik_doc({**row, "messages": wrong}, "f.parquet: row 3")
    system = [{"role": "system", "content": "Be brief."}]
    doc, delimiter, reason = loglik_doc({**row, "messages": system + row["messages"]}, "x")
    assert doc is not None and (doc["system"], doc["prompt"]) == ("Be brief.", row["messages"][0]["content"])
    assert (delimiter, reason) == (" ", "")


def test_lm_eval_loglik_task_with_mixed_keyword_gaps_is_an_error(hub: Path, tmp_path: Path) -> None:
    english, chinese = (
        next(row for row in hub_rows(hub, f"{name}_instructions", "test") if len(json.loads(row["gold"])["value"]) == 1)
        for name in ("medqa_usmle", "cmexam")
    )
    mixed = tmp_path / "hub"
    write_parquet(mixed / "data/mixed_instructions/test-00000-of-00001.parquet", [english, chinese], EXAMPLE_FEATURES)
    _handmade(mixed, {"mixed_instructions": ["test"]})
    with pytest.raises(ValueError, match=r"mixed_instructions/test: qa_multiple_choice answers mix keyword gaps \['', ' '\]"):
        export(mixed, "lm-eval", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_lm_eval_loglik_requests_plain_and_chat(exported, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pytest.importorskip("lm_eval", reason="lm-eval is not importable (pip install biohub[export])", exc_type=ImportError)
    import datasets
    from lm_eval.tasks import TaskManager

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path)
    out, summary = exported("lm-eval")
    manager = TaskManager(include_path=str(out), include_defaults=False)
    loaded = manager.load(["biohub_loglik", "biohub_cmexam_validation_loglik"])
    assert sorted(loaded["group_map"]["biohub_loglik"]) == summary["loglik"]["group"]["biohub_loglik"]
    assert set(loaded["tasks"]) == set(summary["loglik"]["group"]["biohub_loglik"]) | {"biohub_cmexam_validation_loglik"}

    def chat(messages: list[dict[str, str]], add_generation_prompt: bool = True) -> str:
        """A visible chat template: <role>content</role>; an open last turn when it continues the final message."""
        text = "".join(f"<{m['role']}>{m['content']}</{m['role']}>" for m in messages)
        return text + "<assistant>" if add_generation_prompt else text.removesuffix(f"</{messages[-1]['role']}>")

    for name, task in loaded["tasks"].items():
        docs = list(task.eval_docs)
        assert task.OUTPUT_TYPE == "multiple_choice" and len(docs) == summary["loglik"]["tasks"][name]["docs"]
        doc, delimiter = docs[0], summary["loglik"]["tasks"][name]["target_delimiter"]
        assert task.doc_to_choice(doc) == doc["choices"] and task.doc_to_target(doc) == doc["gold_index"]
        task.build_all_requests(limit=1)
        assert [r.arguments for r in task.instances] == [  # lm-eval joins prompt and keyword by the target delimiter
            (doc["prompt"] + delimiter + doc["keyword"], delimiter + choice) for choice in doc["choices"]
        ]
        task.build_all_requests(limit=1, apply_chat_template=True, chat_template=chat)
        context = f"<user>{doc['prompt']}</user><assistant>{doc['keyword']}"  # the assistant turn opened by the keyword
        assert [r.arguments for r in task.instances] == [(context, delimiter + choice) for choice in doc["choices"]]
        assert doc["keyword"] + task.instances[doc["gold_index"]].arguments[1] == doc["target"]  # the trained answer


# --------------------------------------------------------------------------------------------- determinism
@pytest.mark.parametrize("fmt", FORMATS)
def test_exporting_twice_gives_identical_bytes(hub: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / "out"
    first = export(hub, fmt, out)
    files = {path.relative_to(out): path.read_bytes() for path in sorted(out.rglob("*")) if path.is_file()}
    shutil.rmtree(out)
    assert export(hub, fmt, out) == first
    assert {path.relative_to(out): path.read_bytes() for path in sorted(out.rglob("*")) if path.is_file()} == files
    if fmt != "lm-eval":  # relocatable: the same bytes in another folder
        other = tmp_path / "elsewhere"
        export(hub, fmt, other)
        assert {path.relative_to(other): path.read_bytes() for path in sorted(other.rglob("*")) if path.is_file()} == files


# --------------------------------------------------------------------------------------------- selection and errors
def test_configs_pick_and_check_names(hub: Path, tmp_path: Path) -> None:
    summary = export(hub, "messages", tmp_path / "a", ["pubmedqa_instructions"])
    assert summary["configs"] == ["pubmedqa_instructions"]
    assert sorted(summary["files"]) == ["eval/pubmedqa_instructions/test.jsonl", "pubmedqa_instructions/train.jsonl"]
    with pytest.raises(KeyError, match="unknown config.*nope_instructions.*the card lists"):
        export(hub, "messages", tmp_path / "b", ["nope_instructions"])


def test_a_config_of_other_rows_is_an_error_naming_the_file(hub: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"pubmedqa_unified/test-00000-of-00001\.parquet: not instruction examples"):
        export(hub, "alpaca", tmp_path / "out", ["pubmedqa_unified"])


def test_bad_conversation_is_an_error_naming_file_and_row(tmp_path: Path) -> None:
    hub = tmp_path / "hub"
    bad = {**MULTI_TURN, "messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]}
    write_parquet(hub / "data/mix_stage1/train-00000-of-00001.parquet", [MULTI_TURN, bad], EXAMPLE_FEATURES)
    _handmade(hub, {"mix_stage1": ["train"]})
    with pytest.raises(ValueError, match=r"train-00000-of-00001\.parquet: row 1 \(id 'handmade.train.1:dialogue'\): roles"):
        export(hub, "sharegpt", tmp_path / "out")
    with pytest.raises(ValueError, match="ending with assistant"):
        check_messages([{"role": "system", "content": "s"}, {"role": "user", "content": "u"}], "x")


def test_card_problems_are_errors_naming_the_card(tmp_path: Path) -> None:
    _built(tmp_path)
    with pytest.raises(InputError, match="not a complete output of `biohub build`"):  # no card: no build
        export(tmp_path, "alpaca", tmp_path / "out")
    (tmp_path / "README.md").write_text("# no front matter\n", encoding="utf-8")
    with pytest.raises(ValueError, match="README.md: no YAML front matter"):
        export(tmp_path, "alpaca", tmp_path / "out")
    (tmp_path / "README.md").write_text(_card({"mix_stage1": ["train"]}), encoding="utf-8")
    with pytest.raises(
        FileNotFoundError, match=r"README.md: config 'mix_stage1' split 'train': no file matches 'data/mix_stage1/train-\*'"
    ):
        export(tmp_path, "alpaca", tmp_path / "out")


def test_out_must_be_new_or_empty_and_format_known(hub: Path, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "stale.yaml").write_text("x", encoding="utf-8")
    with pytest.raises(FileExistsError, match="exists and is not empty"):
        export(hub, "lm-eval", tmp_path / "out")
    with pytest.raises(ValueError, match="unknown export format 'csv'"):
        export(hub, "csv", tmp_path / "new")
    (tmp_path / "empty").mkdir()
    assert export(hub, "messages", tmp_path / "empty", ["gad_instructions"])["files"] == {
        "eval/gad_instructions/test.jsonl": 3,
        "gad_instructions/train.jsonl": 4,
    }


def test_card_data_files_as_plain_paths_are_a_train_split(tmp_path: Path) -> None:
    hub = tmp_path / "hub"
    write_parquet(hub / "data/mix_stage1/part-0.parquet", [MULTI_TURN], EXAMPLE_FEATURES)
    card = {"configs": [{"config_name": "mix_stage1", "data_files": "data/mix_stage1/*.parquet"}]}
    (hub / "README.md").write_text("---\r\n" + yaml.safe_dump(card).replace("\n", "\r\n") + "---\r\n", encoding="utf-8")
    _built(hub)
    assert export(hub, "messages", tmp_path / "out")["files"] == {"mix_stage1/train.jsonl": 1}
    card["configs"][0]["data_files"] = [{"split": "train", "path": "../elsewhere/*.parquet"}]
    (hub / "README.md").write_text("---\n" + yaml.safe_dump(card) + "---\n", encoding="utf-8")
    with pytest.raises(
        ValueError, match=r"README.md: config 'mix_stage1': path '\.\./elsewhere/\*\.parquet' leaves the Hub folder"
    ):
        export(hub, "messages", tmp_path / "out2")


ISSUE21_FAMILIES = {
    "nen", "dialogue_symptoms", "events", "coref", "entailment", "answer_selection", "decision_tree", "translation",
    "summarization",
}  # fmt: skip


@pytest.mark.parametrize("fmt", ["alpaca", "sharegpt", "messages"])
def test_every_row_of_every_family_of_the_demo_build_is_exported(demo_hub: Path, tmp_path: Path, fmt: str) -> None:
    """The chat exports hold every row of every instruction config and mix of the demo build (all 78 example corpora),
    whatever its family: issue 21's families included (their rows are in the build, training or eval)."""
    info = json.loads((demo_hub / "build_info.json").read_text(encoding="utf-8"))
    families: set[str] = set()
    for path in (demo_hub / "data").glob("*_instructions/*.parquet"):
        families |= set(pq.read_table(path, columns=["task"]).column("task").to_pylist())
    assert ISSUE21_FAMILIES <= families
    files = export(demo_hub, fmt, tmp_path / fmt)["files"]
    expected = {
        (f"{config}/{split}" if split == "train" else f"eval/{config}/{split}"): count
        for config, splits in info["configs"].items()
        if config.endswith("_instructions") or config.startswith("mix_")
        for split, count in splits.items()
        if count
    }
    assert {name.rsplit(".", 1)[0]: count for name, count in files.items()} == expected
