"""Alpaca instruction reader: JSON array and JSON Lines, field mapping, empty outputs rejected, bad input named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biohub.converters.base import ConvertError, Rejection
from biohub.converters.catalog import Source, SourceFile
from biohub.converters.convert import convert_source
from biohub.converters.formats.alpaca import AlpacaOptions, AlpacaReader
from biohub.schema import InstructionRecord, LabelSet, validate
from tests.converters.conftest import json_text, read_items, write_text

ROWS = [
    {"instruction": "小儿发热应如何护理？", "input": "", "output": "注意补充水分，必要时物理降温。"},
    {"instruction": "请解释下列术语。", "input": "高血压", "output": "动脉血压持续升高的慢性疾病。", "source": "toy"},
]


def write(tmp_path: Path, data: list | str, name: str = "data.json", *, lines: bool = True, encoding: str = "utf-8") -> Path:
    return write_text(tmp_path, name, json_text(data, lines=lines), encoding)


def read(path: Path, split: str = "train", **options) -> list:
    return read_items(AlpacaReader(AlpacaOptions(**options)), path, split, "zh")


def test_json_lines_records(tmp_path: Path) -> None:
    first, second = read(write(tmp_path, ROWS))
    assert isinstance(first, InstructionRecord)
    assert (first.id, first.instruction, first.input, first.output, first.labeled) == (
        "toy.train.1", "小儿发热应如何护理？", "", "注意补充水分，必要时物理降温。", True,
    )
    assert (second.id, second.input) == ("toy.train.2", "高血压")
    # meta.source is the location; the file's own "source" field is kept as source_field
    assert json.loads(second.meta) == {"source": {"path": "data.json", "line": 2}, "source_field": "toy"}
    assert validate(first) == [] and validate(second) == []


def test_json_array_records_and_ids(tmp_path: Path) -> None:
    rows = [{**ROWS[0], "id": "q-1", "topic": "儿科"}, {k: v for k, v in ROWS[1].items() if k != "input"}]
    first, second = read(write(tmp_path, rows, lines=False))
    assert (first.id, json.loads(first.meta)) == (
        "toy.train.q-1",
        {"source": {"path": "data.json", "record": 0}, "topic": "儿科"},
    )
    assert (second.id, second.input) == ("toy.train.1", "")


def test_field_mapping(tmp_path: Path) -> None:
    rows = [{"question": "感冒能喝酒吗？", "answer": "不建议饮酒。"}]
    (record,) = read(write(tmp_path, rows), fields={"instruction": "question", "output": "answer"})
    assert (record.instruction, record.input, record.output) == ("感冒能喝酒吗？", "", "不建议饮酒。")
    with pytest.raises(ValueError, match="unknown field name"):
        AlpacaReader.from_mapping({"fields": {"question": "instruction"}})


def test_empty_output_is_rejected_with_a_reason(tmp_path: Path) -> None:
    rows = [ROWS[0], {**ROWS[1], "output": " "}, {"instruction": "无答案"}]
    items = read(write(tmp_path, rows))
    assert [type(i).__name__ for i in items] == ["InstructionRecord", "Rejection", "Rejection"]
    assert [(Path(i.path).name, i.locator, i.reason) for i in items[1:]] == [
        ("data.json", "2", "empty output"),
        ("data.json", "3", "empty output"),
    ]
    assert "data.json:2: 'output' is missing or blank" in items[1].detail


def test_empty_output_in_an_unlabelled_split(tmp_path: Path) -> None:
    (record,) = read(write(tmp_path, [{"instruction": "无答案"}]), split="test", unlabelled_splits=("test",))
    assert record.labeled is False and validate(record) == []


def test_missing_instruction_and_bad_types(tmp_path: Path) -> None:
    rows = [{"input": "", "output": "答"}, {"instruction": "问", "output": 3}, ["x"]]
    items = read(write(tmp_path, rows))
    assert all(isinstance(i, Rejection) for i in items)
    assert [(i.locator, i.reason) for i in items] == [("1", "missing field"), ("2", "bad field type"), ("3", "not a JSON object")]


def test_truncated_json_array_names_file_and_line(tmp_path: Path) -> None:
    text = json.dumps(ROWS, ensure_ascii=False, indent=1)
    path = write(tmp_path, text[:-10])
    with pytest.raises(ConvertError) as err:
        read(path)
    assert f"{path}:" in str(err.value) and err.value.line is not None and "invalid JSON" in str(err.value)


def test_wrong_encoding_and_missing_split_file(tmp_path: Path) -> None:
    path = write(tmp_path, ROWS, encoding="gb18030")
    with pytest.raises(ConvertError) as err:
        read(path)
    assert f"{path}:1" in str(err.value) and "not valid utf-8" in str(err.value)
    source = Source("alpaca", {"train": (SourceFile("absent/llama_data.json"),)})
    with pytest.raises(ConvertError, match="missing source file"):
        convert_source("toy", source, tmp_path, language="zh", labels=LabelSet(), progress=False)


def test_converted_through_the_ledger(tmp_path: Path) -> None:
    write(tmp_path, [*ROWS, {"instruction": "无答案", "output": ""}], "llama_data.json")
    source = Source("alpaca", {"train": (SourceFile("llama_data.json"),)})
    result = convert_source("toy", source, tmp_path, language="zh", labels=LabelSet(), progress=False)
    ledger = result.ledger["train"]
    assert (ledger.read, ledger.converted, dict(ledger.reasons)) == (3, 2, {"empty output": 1})


def test_demo_example_files_convert_cleanly() -> None:
    from biohub.converters.catalog import load_catalog
    from biohub.converters.convert import convert_entry

    examples = Path(__file__).resolve().parents[2] / "examples" / "mirror"
    result = convert_entry(load_catalog()["huatuo_bentsao"], examples, verify=False, progress=False)
    assert result.problems == [] and all(ledger.converted for ledger in result.ledger.values())
