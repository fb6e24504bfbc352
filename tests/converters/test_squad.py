"""SQuAD v1 reader: records per question-context pair from tiny invented files, bad input named by file and
qa id, and the BioBERT BioASQ files agreeing with the golden batches."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biohub.converters.base import ConvertError, Defect, ReadContext, Rejection
from biohub.converters.formats.squad import SquadOptions, SquadReader
from biohub.schema import QARecord, validate
from tests.converters.conftest import json_text, read_items, write_text

CONTEXT = "Toyase cleaves the toy protein in hepatocytes."


def write(tmp_path: Path, paragraphs: list, name: str = "toy-test-1.json") -> Path:
    data = {"version": "toy", "data": [{"title": "toy", "paragraphs": paragraphs}]}
    return write_text(tmp_path, name, json_text(data, ascii_only=True))


def read(*paths: Path, **options) -> list:
    return read_items(SquadReader(SquadOptions(**options)), paths, "test")


def test_pairs_without_answers_are_unlabelled(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [
            {"context": CONTEXT, "qas": [{"id": "q1_000", "question": "Which enzyme cleaves the toy protein? "}]},
            {"context": "Toyase is a protease.", "qas": [{"id": "q1_001", "question": "Which enzyme cleaves the toy protein?"}]},
        ],
    )
    first, second = read(path)
    assert isinstance(first, QARecord) and isinstance(second, QARecord)
    assert (first.id, first.document_id, first.labeled, first.answer) == ("toy.test.q1_000", "q1", False, [])
    assert (first.type, first.question, first.context) == ("factoid", "Which enzyme cleaves the toy protein?", CONTEXT)
    assert json.loads(first.meta) == {"source": {"path": "toy-test-1.json", "record": "q1_000"}}
    assert (second.id, second.document_id) == ("toy.test.q1_001", "q1")
    assert validate(first) == [] and validate(second) == []


def test_answers_label_the_record_and_bad_starts_are_defects(tmp_path: Path) -> None:
    answers = [
        {"text": "Toyase", "answer_start": 0},
        {"text": "Toyase", "answer_start": 0},
        {"text": "hepatocytes", "answer_start": 3},
    ]
    path = write(tmp_path, [{"context": CONTEXT, "qas": [{"id": "a", "question": "Who cleaves it?", "answers": answers}]}])
    defect, record = read(path, group_suffix="")
    assert isinstance(defect, Defect) and (defect.locator, defect.reason) == ("a", "answer start does not match context")
    assert record.labeled and record.answer == ["Toyase", "hepatocytes"] and record.document_id == "a"
    assert json.loads(record.meta)["answer_starts"] == [["Toyase", 0], ["Toyase", 0]]


def test_repeated_qa_id_is_rejected(tmp_path: Path) -> None:
    qa = {"id": "q1_000", "question": "Which enzyme?"}
    path = write(tmp_path, [{"context": CONTEXT, "qas": [qa]}, {"context": "Other text.", "qas": [qa]}])
    record, rejection = read(path)
    assert isinstance(record, QARecord) and isinstance(rejection, Rejection)
    assert (rejection.path, rejection.locator, rejection.reason) == (str(path), "q1_000", "duplicate qa id")
    assert "data[0].paragraphs[0].qas[0]" in rejection.detail


def test_missing_question_or_empty_answers_are_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, [{"context": CONTEXT, "qas": [{"id": "x"}, {"id": "y", "question": "Q?", "answers": []}]}])
    missing, empty = read(path)
    assert (missing.locator, missing.reason) == ("x", "missing field") and "question" in missing.detail
    assert (empty.locator, empty.reason) == ("y", "missing answer")


def test_non_string_question_is_rejected_naming_the_record(tmp_path: Path) -> None:
    qas = [{"id": "x", "question": ["Which", "enzyme?"]}, {"id": "y", "question": 7}]
    path = write(tmp_path, [{"context": CONTEXT, "qas": qas}])
    first, second = read(path)
    assert isinstance(first, Rejection) and (first.path, first.locator, first.reason) == (str(path), "x", "bad field type")
    assert first.detail == "data[0].paragraphs[0].qas[0]: question is a list, expected a string"
    assert (second.locator, second.reason) == ("y", "bad field type") and "question is a int" in second.detail


def test_negative_answer_start_is_rejected(tmp_path: Path) -> None:
    # -12 would slice "hepatocytes." from the end of the context: it must not count as a match.
    qa = {"id": "n", "question": "Where?", "answers": [{"text": "hepatocytes", "answer_start": -12}]}
    path = write(tmp_path, [{"context": CONTEXT, "qas": [qa]}])
    (rejection,) = read(path)
    assert isinstance(rejection, Rejection)
    assert (rejection.path, rejection.locator, rejection.reason) == (str(path), "n", "bad answer start")
    assert "negative answer_start -12" in rejection.detail


def test_truncated_json_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text('{"data": [\n{"paragraphs": [\n', encoding="utf-8")
    with pytest.raises(ConvertError) as err:
        read(path)
    assert f"{path}:3" in str(err.value)


def test_missing_qas_list_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, [{"context": CONTEXT}])
    with pytest.raises(ConvertError, match=r"paragraphs\[0\] has no \"qas\" list"):
        read(path)


def test_wrong_encoding_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_bytes('{"data": [\n{"title": "\u00e9"}]}'.encode("latin-1"))
    with pytest.raises(ConvertError) as err:
        read(path)
    assert f"{path}:2" in str(err.value) and "not valid utf-8" in str(err.value)
    with pytest.raises(ConvertError, match="file not found"):
        read(tmp_path / "absent.json")


@pytest.mark.real_corpora
def test_biobert_pairs_cover_exactly_the_golden_factoid_questions(mirror: Path) -> None:
    """Each BioBERT batch holds pairs of exactly the factoid questions of the matching golden batch, same text."""
    from biohub.converters.formats.bioasq import BioASQReader

    for batch in range(1, 6):
        golden = mirror / "bioasq" / "golden" / f"6B{batch}_golden.json"
        squad = mirror / "bioasq" / "biobert_squad_format" / f"BioASQ-test-factoid-6b-{batch}.json"
        factoids = {
            r.document_id: r
            for r in BioASQReader().read([golden], ReadContext("bioasq", "test", "en"))
            if isinstance(r, QARecord) and r.type == "factoid"
        }
        pairs = [r for r in SquadReader().read([squad], ReadContext("bioasq", "test", "en")) if isinstance(r, QARecord)]
        assert {r.document_id for r in pairs} == set(factoids), batch
        assert all(r.question == factoids[r.document_id].question for r in pairs), batch
