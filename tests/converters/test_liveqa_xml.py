"""TREC 2017 LiveQA Medical XML reader: exact records from tiny invented questions, qrels judgements attached, and
each kind of bad input rejected, dropped or refused with its place and reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biohub.converters.base import ConvertError, Defect, Rejection
from biohub.converters.formats.liveqa_xml import LiveQaOptions, LiveQaReader
from biohub.schema import QARecord, validate
from tests.converters.conftest import read_items, write_text


def question(qid: str, subject: str = "zorbal rash", message: str = "Is it contagious?", answers: str | None = None) -> str:
    if answers is None:
        answers = (
            '<ReferenceAnswer aid="A1"><ANSWER>No, it is\n\t\tnot contagious.</ANSWER>'
            "<AnswerURL> https://example.org </AnswerURL><COMMENT>invented</COMMENT></ReferenceAnswer>"
        )
    return (
        f'<NLM-QUESTION qid="{qid}"><Original-Question qfile="{qid}.txt"><SUBJECT>{subject}</SUBJECT>'
        f"<MESSAGE>{message}</MESSAGE></Original-Question><NIST-PARAPHRASE>Is zorbal rash contagious?</NIST-PARAPHRASE>"
        '<ANNOTATIONS><FOCUS fid="F1" fcategory="Problem">zorbal rash</FOCUS><TYPE tid="T1" hasFocus="F1">SUSCEPTIBILITY</TYPE>'
        f"</ANNOTATIONS><ReferenceAnswers>{answers}</ReferenceAnswers></NLM-QUESTION>"
    )


def read(folder: Path, questions: str, qrels: str | None = None, **options) -> list:
    paths = [write_text(folder, "live.xml", f"<LiveQA>{questions}</LiveQA>")]
    if qrels is not None:
        paths.append(write_text(folder, "qrels.txt", qrels))
    return read_items(LiveQaReader(LiveQaOptions(**options)), paths, split="test")


def only(items: list, kind: type) -> list:
    return [item for item in items if isinstance(item, kind)]


def test_question_becomes_an_open_qa_record_with_annotations_and_judgements(tmp_path: Path) -> None:
    (record,) = read(tmp_path, question("TQ1"), "1 3 It does not spread.\n1 -2 Unrelated text.\n")
    assert isinstance(record, QARecord) and validate(record) == []
    assert (record.id, record.question, record.type, record.answer) == (
        "toy.test.TQ1",
        "zorbal rash\nIs it contagious?",
        "open",
        ["No, it is not contagious."],
    )
    meta = json.loads(record.meta)
    assert meta["foci"] == [{"id": "F1", "category": "Problem", "text": "zorbal rash"}]
    assert meta["types"] == [{"id": "T1", "type": "SUSCEPTIBILITY", "focus_ids": ["F1"], "keyword_ids": []}]
    assert meta["reference_answers"] == [{"aid": "A1", "url": "https://example.org", "comment": "invented"}]
    assert meta["judgements"] == [{"score": 3, "answer": "It does not spread."}, {"score": -2, "answer": "Unrelated text."}]
    assert meta["paraphrase"] == "Is zorbal rash contagious?"


def test_question_from_paraphrase_and_both_answer_element_names(tmp_path: Path) -> None:
    answers = '<ReferenceAnswer aid="A1"><ANSWER>One.</ANSWER></ReferenceAnswer>'
    answers += '<RefAnswer aid="A2"><ANSWER>Two.</ANSWER></RefAnswer>'
    (record,) = read(tmp_path, question("TQ2", answers=answers), question_from="paraphrase")
    assert record.question == "Is zorbal rash contagious?" and record.answer == ["One.", "Two."]


def test_dangling_and_malformed_qrels_lines_are_dropped_defects_naming_their_line(tmp_path: Path) -> None:
    items = read(tmp_path, question("TQ1"), "1 3 Fine.\n7 2 For a question that is not there.\n1 x Bad score.\nshort\n")
    assert [(d.reason, d.locator) for d in only(items, Defect)] == [
        ("bad score", "3"),
        ("malformed annotation line", "4"),
        ("ground-truth row without a record", "2"),
    ]
    assert all(d.dropped and d.path == str(tmp_path / "qrels.txt") for d in only(items, Defect))


def test_bad_questions_are_rejected_and_empty_answers_dropped(tmp_path: Path) -> None:
    empty_answer = '<ReferenceAnswer aid="A9"><ANSWER> </ANSWER></ReferenceAnswer>'
    questions = question("", message="x") + question("TQ1") + question("TQ1") + question("TQ2", "", "")
    questions += question("TQ3", answers=empty_answer)
    items = read(tmp_path, questions)
    assert [(r.reason, r.locator) for r in only(items, Rejection)] == [
        ("missing attribute", "question #0"),
        ("duplicate id", "TQ1"),
        ("empty question", "TQ2"),
    ]
    (defect,) = only(items, Defect)
    assert (defect.reason, defect.locator) == ("empty answer dropped", "A9")
    kept = only(items, QARecord)
    assert [r.id for r in kept] == ["toy.test.TQ1", "toy.test.TQ3"]
    assert not kept[1].labeled and json.loads(kept[1].meta)["dropped_annotations"] == {"answers": 1}


def test_malformed_xml_entities_and_missing_xml_are_refused(tmp_path: Path) -> None:
    write_text(tmp_path, "bad.xml", "<LiveQA>\n<NLM-QUESTION qid='TQ1'>\n</LiveQA>")
    with pytest.raises(ConvertError, match=r"bad.xml:3: invalid XML"):
        read_items(LiveQaReader(), [tmp_path / "bad.xml"])
    write_text(tmp_path, "bomb.xml", '<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY a "a">]>\n<LiveQA>&a;</LiveQA>')
    with pytest.raises(ConvertError, match="entity declarations are not allowed"):
        read_items(LiveQaReader(), [tmp_path / "bomb.xml"])
    with pytest.raises(ConvertError, match="no XML file"):
        read_items(LiveQaReader(), [write_text(tmp_path, "qrels.txt", "1 3 a\n")])
