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

from biohub.hub.export import FORMATS, check_messages, export, lm_eval_doc
from biohub.io import write_parquet
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


def make_hub(root: Path) -> Path:
    """A Hub folder: <dataset>_instructions for six example corpora, mix_stage1/2 and one *_unified config."""
    from biohub.converters.api import convert_catalogued
    from biohub.templates.instruct import InstructOptions, instruct

    unified, instructions, hub = root / "unified", root / "instructions", root / "hub"
    convert_catalogued(ROOT / "examples" / "mirror", unified, DATASETS, verify=False, progress=False)
    instruct(unified, instructions, InstructOptions(max_length=0), progress=False)
    configs: dict[str, list[str]] = {}
    train_rows: list[dict] = []
    for dataset in DATASETS:
        name = f"{dataset}_instructions"
        for path in sorted((instructions / dataset).glob("*.parquet")):
            target = hub / "data" / name / f"{path.stem}-00000-of-00001.parquet"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            configs.setdefault(name, []).append(path.stem)
            if path.stem == "train":
                train_rows += pq.read_table(path).to_pylist()
    random.Random(0).shuffle(train_rows)
    half = len(train_rows) // 2
    for name, rows in (("mix_stage1", train_rows[:half]), ("mix_stage2", [*train_rows[half:], MULTI_TURN])):
        write_parquet(hub / "data" / name / "train-00000-of-00001.parquet", rows, EXAMPLE_FEATURES)
        configs[name] = ["train"]
    unified_test = hub / "data" / "pubmedqa_unified" / "test-00000-of-00001.parquet"
    unified_test.parent.mkdir(parents=True)
    shutil.copyfile(unified / "pubmedqa" / "test.parquet", unified_test)
    configs["pubmedqa_unified"] = ["test"]
    (hub / "README.md").write_text(_card(configs), encoding="utf-8")
    return hub


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_hub(tmp_path_factory.mktemp("export"))


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
    """config/split -> rows, for the default configs' non-empty splits."""
    out = {}
    for folder in sorted((hub / "data").iterdir()):
        if folder.name.endswith("_instructions") or folder.name.startswith("mix_stage"):
            for path in sorted(folder.glob("*.parquet")):
                rows = pq.read_metadata(path).num_rows
                if rows:
                    out[f"{folder.name}/{path.name.split('-')[0]}"] = rows
    return out


# --------------------------------------------------------------------------------------------- alpaca / sharegpt
ALPACA_KEYS = {"instruction": str, "input": str, "output": str, "system": str, "history": list}


@pytest.mark.parametrize("fmt", ["alpaca", "sharegpt"])
def test_llamafactory_dataset_info_points_at_every_file(exported, hub: Path, fmt: str) -> None:
    out, summary = exported(fmt)
    info = json.loads((out / "dataset_info.json").read_text(encoding="utf-8"))
    assert {key.rsplit("_", 1)[0] + "/" + key.rsplit("_", 1)[1] for key in info} == set(expected_files(hub))
    assert summary["files"] == {f"{name}.json": rows for name, rows in expected_files(hub).items()}
    assert summary["configs"][:2] == ["mix_stage1", "mix_stage2"] and "pubmedqa_unified" not in summary["configs"]
    for name, entry in info.items():
        assert (out / entry["file_name"]).is_file(), name
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
    first = json.loads((out / "medqa_usmle_instructions/test.json").read_text(encoding="utf-8"))[0]
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


def test_empty_splits_are_reported_not_written(exported, hub: Path) -> None:
    out, summary = exported("messages")
    empty = [
        f"{folder.name}/{path.name.split('-')[0]}" for folder in (hub / "data").iterdir() for path in folder.glob("*.parquet")
    ]
    empty = sorted(name for name in empty if not name.startswith("pubmedqa_unified") and name not in expected_files(hub))
    assert sorted(summary["empty"]) == empty
    assert not any((out / f"{name}.jsonl").exists() for name in empty)


# --------------------------------------------------------------------------------------------- lm-eval
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
    }
    assert summary["group"] == {"biohub": ["biohub_cmexam", "biohub_gad", "biohub_medqa_usmle", "biohub_pubmedqa"]}
    assert tasks["biohub_medqa_usmle"]["split"] == "test" and tasks["biohub_medqa_usmle_validation"]["split"] == "validation"
    assert summary["skipped"] == {
        "cmexam_instructions/test": {"several_gold_options": 1},
        "cmexam_instructions/validation": {"several_gold_options": 1},
        "ncbi_disease_instructions/test": {"other_task": 3},
        "ncbi_disease_instructions/validation": {"other_task": 3},
    }
    group = yaml.safe_load((out / "_biohub.yaml").read_text(encoding="utf-8"))
    assert group["group"] == "biohub" and group["task"] == summary["group"]["biohub"]
    for name, task in tasks.items():
        config = yaml.safe_load((out / f"{name}.yaml").read_text(encoding="utf-8"))
        data_file = Path(config["dataset_kwargs"]["data_files"][task["split"]])
        assert data_file == out / task["file"] and data_file.is_absolute()
        assert config["task"] == name and config["dataset_path"] == "json" and config["test_split"] == task["split"]
        assert (
            config["output_type"] == "multiple_choice"
            and config["doc_to_choice"] == "choices"
            and config["doc_to_target"] == "gold"
        )
        assert [m["metric"] for m in config["metric_list"]] == ["acc", "acc_norm"]
        assert config["target_delimiter"] == ("" if "cmexam" in name else " ")
        docs = _message_lines(data_file)
        assert len(docs) == task["docs"]
        rows = {row["id"]: row for row in hub_rows(hub, task["config"], task["split"])}
        for doc in docs:
            row = rows[doc["id"]]
            assert doc["prompt"] == row["messages"][0]["content"]
            assert (
                doc["target"]
                == row["messages"][1]["content"]
                == f"{doc['keyword']}{config['target_delimiter']}{doc['choices'][doc['gold']]}"
            )


def test_lm_eval_choices_are_letters_or_label_names(exported) -> None:
    out, _ = exported("lm-eval")
    medqa = _message_lines(out / "data/medqa_usmle/test.jsonl")[0]
    assert medqa["keyword"] == "Answer:" and medqa["choices"] == ["A", "B", "C", "D"] and medqa["task"] == "qa_multiple_choice"
    gad = _message_lines(out / "data/gad/test.jsonl")[0]
    assert gad["keyword"] == "Result:" and gad["choices"] == ["no", "yes"]  # display names of labels "0", "1"
    cmexam = _message_lines(out / "data/cmexam/test.jsonl")[0]
    assert cmexam["keyword"] == "答案：" and cmexam["choices"] == ["A", "B", "C", "D", "E"]
    pubmedqa = _message_lines(out / "data/pubmedqa/test.jsonl")[0]
    assert pubmedqa["choices"] == ["yes", "no", "maybe"] and pubmedqa["task"] == "qa_yesno"


def test_lm_eval_loads_with_task_manager(exported, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pytest.importorskip("lm_eval", reason="lm-eval is not importable (pip install biohub[export])", exc_type=ImportError)
    import datasets
    from lm_eval.tasks import TaskManager

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path)
    out, summary = exported("lm-eval")
    manager = TaskManager(include_path=str(out))
    for name in [*summary["tasks"], "biohub"]:
        assert name in manager.all_tasks, name
    loaded = manager.load(["biohub", "biohub_medqa_usmle_validation"])
    assert sorted(loaded["group_map"]["biohub"]) == summary["group"]["biohub"]
    assert set(loaded["tasks"]) == set(summary["group"]["biohub"]) | {"biohub_medqa_usmle_validation"}
    for name, task in loaded["tasks"].items():
        docs = list(task.eval_docs)
        assert len(docs) == summary["tasks"][name]["docs"]
        doc = docs[0]
        assert task.doc_to_text(doc) == doc["prompt"] + "\n" + doc["keyword"]
        assert task.doc_to_choice(doc) == doc["choices"]
        assert task.doc_to_target(doc) == doc["gold"]
        assert doc["target"] == doc["keyword"] + task.config.target_delimiter + doc["choices"][doc["gold"]]


def _choice_row(hub: Path, config: str, split: str) -> dict:
    return next(row for row in hub_rows(hub, config, split) if row["task"] in ("qa_multiple_choice", "qa_yesno"))


def test_lm_eval_doc_leaves_out_json_answers_and_rejects_wrong_targets(hub: Path) -> None:
    row = _choice_row(hub, "medqa_usmle_instructions", "test")
    meta = json.loads(row["meta"])
    meta["answer"]["format"] = "json"
    assert lm_eval_doc({**row, "meta": json.dumps(meta)}, "x") == (None, "", "json_answer_format")
    assert lm_eval_doc({**row, "gold": json.dumps({"value": ["A", "B"]})}, "x") == (None, "", "several_gold_options")
    wrong = [row["messages"][0], {"role": "assistant", "content": "Answer: Z"}]
    with pytest.raises(ValueError, match=r"f\.parquet: row 3: target .*is not the rendering of gold"):
        lm_eval_doc({**row, "messages": wrong}, "f.parquet: row 3")
    with pytest.raises(ValueError, match="one user and one assistant"):
        lm_eval_doc({**row, "messages": [{"role": "system", "content": "s"}, *row["messages"]]}, "f.parquet: row 3")


def test_lm_eval_without_choice_rows_is_an_error(hub: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no multiple-choice or yes/no eval rows in config.*ncbi_disease_instructions"):
        export(hub, "lm-eval", tmp_path / "out", ["ncbi_disease_instructions", "mix_stage1"])
    assert not (tmp_path / "out").exists() and list(tmp_path.iterdir()) == []  # nothing left behind


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
    assert sorted(summary["files"]) == ["pubmedqa_instructions/test.jsonl", "pubmedqa_instructions/train.jsonl"]
    with pytest.raises(KeyError, match="unknown config.*nope_instructions.*the card lists"):
        export(hub, "messages", tmp_path / "b", ["nope_instructions"])


def test_a_config_of_other_rows_is_an_error_naming_the_file(hub: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"pubmedqa_unified/test-00000-of-00001\.parquet: not instruction examples"):
        export(hub, "alpaca", tmp_path / "out", ["pubmedqa_unified"])


def test_bad_conversation_is_an_error_naming_file_and_row(tmp_path: Path) -> None:
    hub = tmp_path / "hub"
    bad = {**MULTI_TURN, "messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]}
    write_parquet(hub / "data/mix_stage1/train-00000-of-00001.parquet", [MULTI_TURN, bad], EXAMPLE_FEATURES)
    (hub / "README.md").write_text(_card({"mix_stage1": ["train"]}), encoding="utf-8")
    with pytest.raises(ValueError, match=r"train-00000-of-00001\.parquet: row 1 \(id 'handmade.train.1:dialogue'\): roles"):
        export(hub, "sharegpt", tmp_path / "out")
    with pytest.raises(ValueError, match="ending with assistant"):
        check_messages([{"role": "system", "content": "s"}, {"role": "user", "content": "u"}], "x")


def test_card_problems_are_errors_naming_the_card(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="README.md: no dataset card"):
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
        "gad_instructions/test.jsonl": 3,
        "gad_instructions/train.jsonl": 4,
    }


def test_card_data_files_as_plain_paths_are_a_train_split(tmp_path: Path) -> None:
    hub = tmp_path / "hub"
    write_parquet(hub / "data/mix_stage1/part-0.parquet", [MULTI_TURN], EXAMPLE_FEATURES)
    card = {"configs": [{"config_name": "mix_stage1", "data_files": "data/mix_stage1/*.parquet"}]}
    (hub / "README.md").write_text("---\r\n" + yaml.safe_dump(card).replace("\n", "\r\n") + "---\r\n", encoding="utf-8")
    assert export(hub, "messages", tmp_path / "out")["files"] == {"mix_stage1/train.jsonl": 1}
    card["configs"][0]["data_files"] = [{"split": "train", "path": "../elsewhere/*.parquet"}]
    (hub / "README.md").write_text("---\n" + yaml.safe_dump(card) + "---\n", encoding="utf-8")
    with pytest.raises(
        ValueError, match=r"README.md: config 'mix_stage1': path '\.\./elsewhere/\*\.parquet' leaves the Hub folder"
    ):
        export(hub, "messages", tmp_path / "out2")
