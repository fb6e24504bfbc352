"""BioASQ golden reader: one record per question type from tiny invented batches, defects and rejections with
file, question id and reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biohub.converters.base import ConvertError, Defect, Rejection
from biohub.converters.formats.bioasq import BioASQReader
from biohub.schema import QARecord, validate
from tests.converters.conftest import json_text, read_items, write_text


def snippet(text: str, doc: str = "http://www.ncbi.nlm.nih.gov/pubmed/100") -> dict:
    return {
        "text": text,
        "document": doc,
        "beginSection": "abstract",
        "endSection": "abstract",
        "offsetInBeginSection": 0,
        "offsetInEndSection": len(text),
    }


def question(qid: str, kind: str, body: str = "Is the toy gene expressed in the liver?", **extra) -> dict:
    q = {
        "id": qid,
        "type": kind,
        "body": body,
        "documents": ["http://www.ncbi.nlm.nih.gov/pubmed/100"],
        "snippets": [snippet("Toy gene is expressed in hepatocytes. "), snippet("Expression was low.")],
        "ideal_answer": ["Yes, toy gene is expressed in the liver."],
        "concepts": [],
        "triples": [],
    }
    q.update(extra)
    return q


def write(tmp_path: Path, questions: list, name: str = "6B1_golden.json") -> Path:
    return write_text(tmp_path, name, json_text({"questions": questions}, ascii_only=True))


def read(*paths: Path) -> list:
    return read_items(BioASQReader(), paths, "test")


def test_each_question_type(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [
            question("q1", "yesno", exact_answer="yes"),
            question("q2", "factoid", body="Which enzyme cleaves toy protein?", exact_answer=[["Toyase", "TOY1"]]),
            question("q3", "list", body="Which organs express toy gene?", exact_answer=[["liver"], ["kidney", "renal tissue"]]),
            question("q4", "summary", body="What is toy gene?", ideal_answer=["A gene.", "An invented gene."]),
        ],
    )
    yesno, factoid, listq, summary = read(path)
    assert all(isinstance(r, QARecord) and validate(r) == [] for r in (yesno, factoid, listq, summary))
    assert (yesno.id, yesno.document_id, yesno.type) == ("toy.test.q1", "q1", "yesno")
    assert yesno.choices == ["yes", "no"] and yesno.answer == ["yes"]
    assert yesno.context == "Toy gene is expressed in hepatocytes.\nExpression was low."
    assert (factoid.type, factoid.choices, factoid.answer) == ("factoid", [], ["Toyase", "TOY1"])
    assert json.loads(factoid.meta)["exact_answer"] == [["Toyase", "TOY1"]]
    assert listq.answer == ["liver", "kidney", "renal tissue"]
    assert json.loads(listq.meta)["exact_answer"] == [["liver"], ["kidney", "renal tissue"]]
    assert summary.answer == ["A gene.", "An invented gene."]
    meta = json.loads(yesno.meta)
    assert meta["batch"] == "6B1" and meta["documents"] == ["http://www.ncbi.nlm.nih.gov/pubmed/100"]
    assert meta["ideal_answer"] == ["Yes, toy gene is expressed in the liver."]
    assert meta["snippets"][0]["document"] == "http://www.ncbi.nlm.nih.gov/pubmed/100"
    assert meta["source"] == {"path": "6B1_golden.json", "record": "q1"}


def test_yes_no_case_and_whitespace_are_normalised_as_a_defect(tmp_path: Path) -> None:
    defect, record = read(write(tmp_path, [question("q1", "yesno", exact_answer=" Yes")]))
    assert isinstance(defect, Defect) and (defect.locator, defect.reason) == ("q1", "yes/no answer normalised")
    assert record.answer == ["yes"]


def test_yes_no_answer_outside_the_choices_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, [question("q1", "yesno", exact_answer="perhaps")])
    (rejection,) = read(path)
    assert isinstance(rejection, Rejection)
    assert (rejection.path, rejection.locator, rejection.reason) == (str(path), "q1", "answer not among choices")


def test_synonym_whitespace_and_repeats_are_counted(tmp_path: Path) -> None:
    path = write(tmp_path, [question("q1", "list", exact_answer=[["IAA1 ", "IAA1"], ["IAA2"]])])
    trimmed, repeated, record = read(path)
    assert (trimmed.reason, repeated.reason) == ("answer whitespace trimmed", "duplicate synonym dropped")
    assert record.answer == ["IAA1", "IAA2"]
    assert json.loads(record.meta)["exact_answer"] == [["IAA1", "IAA1"], ["IAA2"]]


def test_duplicate_question_id_across_batches_is_rejected_not_dropped(tmp_path: Path) -> None:
    first = write(tmp_path, [question("q1", "yesno", exact_answer="no")], name="6B1_golden.json")
    second = write(tmp_path, [question("q1", "yesno", exact_answer="no")], name="6B2_golden.json")
    record, rejection = read(first, second)
    assert isinstance(record, QARecord)
    assert (rejection.path, rejection.locator, rejection.reason) == (str(second), "q1", "duplicate question id")
    assert "6B1_golden.json" in rejection.detail


def test_missing_required_field_and_answer(tmp_path: Path) -> None:
    no_body = question("q1", "yesno", exact_answer="yes")
    del no_body["body"]
    no_answer = question("q2", "factoid")
    missing, unanswered = read(write(tmp_path, [no_body, no_answer]))
    assert (missing.locator, missing.reason) == ("q1", "missing field") and "body" in missing.detail
    assert (unanswered.locator, unanswered.reason) == ("q2", "missing answer")


def test_non_string_body_and_wrongly_typed_lists_are_rejected_naming_the_question(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [
            question("q1", "yesno", body=["Is", "it?"], exact_answer="yes"),
            question("q2", "yesno", body=42, exact_answer="yes"),
            question("q3", "yesno", snippets=5, exact_answer="yes"),
            question("q4", "summary", ideal_answer=3),
        ],
    )
    items = read(path)
    assert all(isinstance(item, Rejection) and item.path == str(path) for item in items)
    assert [(item.locator, item.reason) for item in items] == [
        ("q1", "bad field type"),
        ("q2", "bad field type"),
        ("q3", "bad field type"),
        ("q4", "bad field type"),
    ]
    assert items[0].detail == "question q1: body is a list" and items[1].detail == "question q2: body is a int"
    assert "snippets is a int" in items[2].detail and "ideal_answer is a int" in items[3].detail


def test_unknown_type_is_rejected(tmp_path: Path) -> None:
    (rejection,) = read(write(tmp_path, [question("q1", "essay")]))
    assert rejection.reason == "unknown question type"


def test_truncated_json_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "6B1_golden.json"
    path.write_text('{"questions": [\n {"id": "q1",\n', encoding="utf-8")
    with pytest.raises(ConvertError) as err:
        read(path)
    assert f"{path}:3" in str(err.value) and "invalid JSON" in str(err.value)


def test_wrong_top_level_shape_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "6B1_golden.json"
    path.write_text("[]", encoding="utf-8")
    with pytest.raises(ConvertError, match='"questions" list'):
        read(path)


def test_wrong_encoding_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "6B1_golden.json"
    path.write_bytes('{"questions": [\n{"body": "\u00e9"}]}'.encode("latin-1"))
    with pytest.raises(ConvertError) as err:
        read(path)
    assert f"{path}:2" in str(err.value) and "not valid utf-8" in str(err.value)


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConvertError, match="file not found"):
        read(tmp_path / "6B9_golden.json")
