"""CMB-Clin reader: one open QA record per QA pair of invented cases, with history; bad cases named by file,
case id and reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biohub.converters.base import ConvertError, Rejection
from biohub.converters.formats.cmb_clin import CmbClinReader
from biohub.schema import QARecord, validate
from tests.converters.conftest import json_text, read_items, write_text

CASE = {
    "id": "7",
    "title": "案例分析-急性阑尾炎",
    "description": "现病史\n病人，女，25岁，转移性右下腹痛12小时。",
    "QA_pairs": [
        {"question": "简述该病人的诊断。", "answer": "急性阑尾炎。"},
        {"question": "简述治疗原则。", "answer": " 尽早行阑尾切除术。 "},
    ],
}


def write(tmp_path: Path, data, name: str = "CMB-test-qa.json") -> Path:
    return write_text(tmp_path, name, json_text(data))


def read(path: Path) -> list:
    return read_items(CmbClinReader(), path, "test", "zh")


def test_each_qa_pair_becomes_an_open_record_with_history(tmp_path: Path) -> None:
    first, second = read(write(tmp_path, [CASE]))
    assert isinstance(first, QARecord) and isinstance(second, QARecord)
    assert (first.id, first.document_id, first.type) == ("toy.test.7-1", "7", "open")
    assert (first.question, first.answer, first.context) == ("简述该病人的诊断。", ["急性阑尾炎。"], CASE["description"])
    assert json.loads(first.meta) == {
        "title": "案例分析-急性阑尾炎",
        "turn": 1,
        "history": [],
        "source": {"path": "CMB-test-qa.json", "record": "7-1"},
    }
    assert (second.id, second.answer) == ("toy.test.7-2", ["尽早行阑尾切除术。"])
    assert json.loads(second.meta)["history"] == [CASE["QA_pairs"][0]]
    assert validate(first) == [] and validate(second) == []


def test_empty_answer_rejects_only_that_pair(tmp_path: Path) -> None:
    case = {**CASE, "QA_pairs": [{"question": "诊断？", "answer": ""}, {"question": "治疗？", "answer": "手术。"}]}
    path = write(tmp_path, [case])
    rejection, record = read(path)
    assert isinstance(rejection, Rejection)
    assert (rejection.path, rejection.locator, rejection.reason) == (str(path), "7-1", "empty question or answer")
    assert record.id == "toy.test.7-2"


def test_missing_field_and_duplicate_case_id_are_rejected(tmp_path: Path) -> None:
    no_description = {k: v for k, v in CASE.items() if k != "description"}
    items = read(write(tmp_path, [no_description, CASE, CASE]))
    assert [type(i).__name__ for i in items] == ["Rejection", "QARecord", "QARecord", "Rejection"]
    assert (items[0].locator, items[0].reason) == ("7", "missing field") and "description" in items[0].detail
    assert (items[3].locator, items[3].reason) == ("7", "duplicate case id")


def test_truncated_json_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[\n {"id": "1",\n  "title": "x"')
    with pytest.raises(ConvertError) as err:
        read(path)
    assert f"{path}:3" in str(err.value) and "invalid JSON" in str(err.value)


def test_object_instead_of_array_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConvertError, match="JSON array of cases"):
        read(write(tmp_path, CASE))


def test_wrong_encoding_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "CMB-test-qa.json"
    path.write_bytes(json.dumps([CASE], ensure_ascii=False, indent=1).encode("gb18030"))
    with pytest.raises(ConvertError) as err:
        read(path)
    assert f"{path}:4" in str(err.value) and "not valid utf-8" in str(err.value)
    with pytest.raises(ConvertError, match="file not found"):
        read(tmp_path / "absent.json")
