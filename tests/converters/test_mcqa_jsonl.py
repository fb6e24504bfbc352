"""Multiple-choice JSON Lines reader (Apollo exam files): exact records from tiny invented lines, repairs
counted as defects, and each bad line rejected with file, line and reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biohub.converters.base import ConvertError, Defect, Rejection
from biohub.converters.formats.mcqa_jsonl import McqaJsonlReader, McqaOptions
from biohub.schema import QARecord, validate
from tests.converters.conftest import read_items, write_text

OPTIONS = "(A) Aspirin.\n(B) Heparin (unfractionated).\n(C) Warfarin.\n(D) Alteplase."


def line(question: str = "Which drug acts on antithrombin III?", option: str = OPTIONS, anwer: str = "(B)", **extra) -> str:
    return json.dumps({"question": question, "option": option, "anwer": anwer, "source": "toy-exam", **extra}, ensure_ascii=False)


def write(tmp_path: Path, *lines: str, name: str = "toy-exam.jsonl", encoding: str = "utf-8") -> Path:
    return write_text(tmp_path, name, "\n".join(lines) + "\n", encoding)


def read(path: Path, **options) -> list:
    return read_items(McqaJsonlReader(McqaOptions(**options)), path, "test")


def test_line_becomes_a_multiple_choice_record(tmp_path: Path) -> None:
    (record,) = read(write(tmp_path, line()))
    assert isinstance(record, QARecord)
    assert (record.id, record.document_id, record.type) == ("toy.test.toy-exam-1", "toy-exam-1", "multiple_choice")
    assert record.question == "Which drug acts on antithrombin III?"
    assert record.choices == ["Aspirin", "Heparin (unfractionated)", "Warfarin", "Alteplase"]
    assert record.answer == ["Heparin (unfractionated)"]
    assert json.loads(record.meta) == {
        "letters": ["A", "B", "C", "D"],
        "answer_letter": "B",
        "fields": {"source": "toy-exam"},
        "source": {"path": "toy-exam.jsonl", "line": 1},
    }
    assert validate(record) == []


def test_periods_are_kept_when_not_every_option_has_one_or_when_asked(tmp_path: Path) -> None:
    path = write(tmp_path, line(option="(A) 4.6\n(B) 4.61.", anwer="A"))
    (record,) = read(path)
    assert record.choices == ["4.6", "4.61."] and record.answer == ["4.6"]
    (record,) = read(write(tmp_path, line()), strip_added_period=False)
    assert record.choices[0] == "Aspirin."


def test_option_text_with_newline_or_parenthesis_stays_whole(tmp_path: Path) -> None:
    option = "(A) Dose (mg) by weight\nthen halve.\n(B) (b) is not a marker mid-line.\n(C) Fixed dose."
    (record,) = read(write(tmp_path, line(option=option, anwer="(C)")))
    assert record.choices == ["Dose (mg) by weight\nthen halve", "(b) is not a marker mid-line", "Fixed dose"]


def test_multiple_answer_letters(tmp_path: Path) -> None:
    (record,) = read(write(tmp_path, line(anwer="(CA)")))
    assert record.answer == ["Aspirin", "Warfarin"] and json.loads(record.meta)["answer_letter"] == "CA"


def test_stray_quote_and_empty_last_option_are_repaired_as_defects(tmp_path: Path) -> None:
    option = '(A) 肝脏.\n(B) 肾脏.\n(C) 脾脏\n".\n(D) .'
    path = write(tmp_path, line(question="哪个器官合成白蛋白？", option=option, anwer="(A)"))
    stray, empty, record = read(path)
    assert (stray.reason, stray.locator, stray.detail) == ("stray quote line in option", "1", "line 1: option C")
    assert (empty.reason, empty.detail) == ("empty last option dropped", "line 1: option D is empty")
    assert record.choices == ["肝脏", "肾脏", "脾脏"] and json.loads(record.meta)["letters"] == ["A", "B", "C"]
    stray, record = read(write(tmp_path, line(option='(A) Liver.\n(B) Kidney\n".', anwer="(A)"), name="b.jsonl"))
    assert isinstance(stray, Defect) and (stray.reason, stray.locator) == ("stray quote line in option", "1")
    assert record.choices == ["Liver", "Kidney"]


def test_answer_letter_not_among_options_is_rejected_with_line(tmp_path: Path) -> None:
    path = write(tmp_path, line(), line(anwer="(E)"))
    record, rejection = read(path)
    assert isinstance(record, QARecord) and isinstance(rejection, Rejection)
    assert (rejection.path, rejection.locator, rejection.reason) == (str(path), "2", "answer letter not among options")
    assert "line 2" in rejection.detail and "'(E)'" in rejection.detail


def test_duplicate_option_texts_are_rejected(tmp_path: Path) -> None:
    (rejection,) = read(write(tmp_path, line(option="(A) Kyphosis.\n(B) Lordosis.\n(C) Kyphosis.", anwer="(B)")))
    assert (rejection.locator, rejection.reason) == ("1", "duplicate options") and "(A)=(C)" in rejection.detail


@pytest.mark.parametrize(
    ("option", "reason"),
    [
        ("(A) Only one.", "fewer than two options"),
        ("Choose: (A) x\n(B) y", "text before first option"),
        ("(A) x.\n(C) y.", "option letters out of order"),
        ("(A) .\n(B) y.\n(C) z.", "empty option"),
    ],
)
def test_malformed_options_are_rejected(tmp_path: Path, option: str, reason: str) -> None:
    (rejection,) = read(write(tmp_path, line(option=option, anwer="(A)")))
    assert isinstance(rejection, Rejection) and (rejection.locator, rejection.reason) == ("1", reason)


def test_missing_field_and_custom_field_names(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps({"question": "Q?", "option": OPTIONS}))
    (rejection,) = read(path)
    assert (rejection.locator, rejection.reason) == ("1", "missing field") and "anwer" in rejection.detail
    path = write(tmp_path, json.dumps({"q": "Q?", "opts": {"A": "x", "B": "y"}, "answer": "B"}), name="c.jsonl")
    (record,) = read(path, fields={"question": "q", "options": "opts", "answer": "answer"})
    assert record.choices == ["x", "y"] and record.answer == ["y"] and json.loads(record.meta)["fields"] == {}


def test_unknown_field_role_is_an_options_error() -> None:
    with pytest.raises(ValueError, match="unknown role"):
        McqaOptions(fields={"explanation": "exp"})


def test_line_that_is_not_json_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, line(), '{"question": "broken", "option":')
    with pytest.raises(ConvertError) as err:
        read(path)
    assert f"{path}:2" in str(err.value) and "invalid JSON Lines record" in str(err.value)


def test_wrong_encoding_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, line(), line(question="哪个器官？"), encoding="gb18030")
    with pytest.raises(ConvertError) as err:
        read(path)
    assert f"{path}:2" in str(err.value) and "not valid utf-8" in str(err.value)


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConvertError, match="file not found"):
        read(tmp_path / "absent.jsonl")
