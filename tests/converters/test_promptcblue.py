"""PromptCBLUE reader: exact records from tiny invented JSON Lines, bad input named by file:line and reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biohub.converters.base import ConvertError, Rejection
from biohub.converters.formats.promptcblue import PromptCblueOptions, PromptCblueReader
from biohub.schema import InstructionRecord, validate
from tests.converters.conftest import json_text, read_items, write_text

ROWS = [
    {
        "input": "判断下面句子的意图类别：\n感冒吃什么药\n选项：治疗方案，病因分析", "target": "治疗方案",
        "answer_choices": ["治疗方案", "病因分析"], "task_type": "cls", "task_dataset": "KUAKE-QIC", "sample_id": "train-1",
    },
    {
        "input": "找出句子中的疾病：\n小儿肺炎多见发热。", "target": "疾病：小儿肺炎", "answer_choices": None, "task_type": "ner",
        "task_dataset": "CMeEE-V2", "sample_id": "train-2",
    },
]


def write(tmp_path: Path, rows: list | str, name: str = "train.json", encoding: str = "utf-8") -> Path:
    return write_text(tmp_path, name, json_text(rows, lines=True), encoding)


def read(path: Path, split: str = "train", **options) -> list:
    return read_items(PromptCblueReader(PromptCblueOptions(**options)), path, split, "zh")


def test_prompt_becomes_instruction_target_becomes_output(tmp_path: Path) -> None:
    first, second = read(write(tmp_path, ROWS))
    assert isinstance(first, InstructionRecord)
    assert (first.id, first.document_id, first.instruction, first.input, first.output, first.labeled) == (
        "toy.train.train-1", "train-1", ROWS[0]["input"], "", "治疗方案", True,
    )
    assert json.loads(first.meta) == {
        "answer_choices": ["治疗方案", "病因分析"], "sample_id": "train-1", "source": {"path": "train.json", "line": 1},
        "task_dataset": "KUAKE-QIC", "task_type": "cls",
    }
    assert json.loads(second.meta)["answer_choices"] is None
    assert validate(first) == [] and validate(second) == []


def test_empty_test_targets_are_unlabelled(tmp_path: Path) -> None:
    rows = [{**ROWS[0], "target": "", "sample_id": "test-1"}]
    (record,) = read(write(tmp_path, rows, "test.json"), split="test")
    assert (record.id, record.labeled, record.output) == ("toy.test.test-1", False, "")
    assert validate(record) == []


def test_empty_target_outside_the_test_split_is_rejected(tmp_path: Path) -> None:
    rows = [ROWS[0], {**ROWS[1], "target": "  "}]
    _record, rejection = read(write(tmp_path, rows))
    assert isinstance(rejection, Rejection)
    assert (Path(rejection.path).name, rejection.locator, rejection.reason) == ("train.json", "2", "empty target")
    assert "train.json:2: empty 'target' in split 'train'" in rejection.detail


def test_missing_input_and_bad_target_are_rejected(tmp_path: Path) -> None:
    rows = [{k: v for k, v in ROWS[0].items() if k != "input"}, {**ROWS[1], "target": ["疾病"]}]
    first, second = read(write(tmp_path, rows))
    assert (first.locator, first.reason) == ("1", "missing field") and "no 'input' field" in first.detail
    assert (second.locator, second.reason) == ("2", "bad field type")


def test_without_sample_id_the_line_number_is_the_key(tmp_path: Path) -> None:
    rows = [{k: v for k, v in ROWS[0].items() if k != "sample_id"}]
    (record,) = read(write(tmp_path, rows))
    assert record.id == "toy.train.1"


def test_truncated_line_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps(ROWS[0], ensure_ascii=False) + "\n" + '{"input": "找出')
    with pytest.raises(ConvertError) as err:
        read(path)
    assert f"{path}:2" in str(err.value)


def test_wrong_encoding_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, ROWS, encoding="gbk")
    with pytest.raises(ConvertError) as err:
        read(path)
    assert f"{path}:1" in str(err.value) and "not valid utf-8" in str(err.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConvertError, match="file not found"):
        read(tmp_path / "dev.json")


@pytest.mark.real_corpora
def test_test_predictions_file_is_only_the_test_records_again(mirror: Path) -> None:
    """Why test_predictions.json is not read: the same sample ids and prompts as test.json, targets empty."""
    folder = mirror / "promptcblue" / "toy_examples"

    def load(name: str) -> list[dict]:
        return [json.loads(x) for x in (folder / name).read_text(encoding="utf-8").splitlines() if x.strip()]

    test, predictions = load("test.json"), load("test_predictions.json")
    assert [(r["sample_id"], r["input"]) for r in test] == [(r["sample_id"], r["input"]) for r in predictions]
    assert not any(r["target"] for r in predictions)
    records = [r for r in read(folder / "test.json", split="test")]
    assert len(records) == 80 and not any(r.labeled for r in records)


def test_demo_example_files_convert_cleanly() -> None:
    from biohub.converters.catalog import load_catalog
    from biohub.converters.convert import convert_entry

    examples = Path(__file__).resolve().parents[2] / "examples" / "mirror"
    result = convert_entry(load_catalog()["promptcblue"], examples, verify=False, progress=False)
    assert result.problems == [] and all(ledger.converted for ledger in result.ledger.values())
