"""MEDIQA 2019 XML readers (RQE pairs, QA candidate answers): exact records from tiny invented files, and each kind
of bad input rejected or refused with its place and reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biohub.converters.base import ConvertError, Defect, Rejection
from biohub.converters.formats.mediqa_xml import MediqaQaReader, MediqaRqeReader
from biohub.schema import LabelSet, PairsRecord, validate
from tests.converters.conftest import read_items, write_text

RQE = """<?xml version="1.0" encoding="UTF-8"?>
<Toy-RQE>
<pair pid="1" type="originalQ-shortQ" value="true"><chq>Can zorbal rash come back after treatment?</chq>
<faq>Can zorbal rash recur ?</faq></pair>
<pair pid="2" value="false"><chq>Can zorbal rash come back after treatment?</chq>
<faq>What causes quilotide deficiency ?</faq></pair>
</Toy-RQE>
"""


def rqe(folder: Path, pairs: str, gold: str | None = None) -> list:
    paths = [write_text(folder, "rqe.xml", f"<Toy-RQE>{pairs}</Toy-RQE>" if not pairs.startswith("<?xml") else pairs)]
    if gold is not None:
        paths.append(write_text(folder, "gold.txt", gold))
    return read_items(MediqaRqeReader(), paths, labels=LabelSet(classes=("true", "false")))


def only(items: list, kind: type) -> list:
    return [item for item in items if isinstance(item, kind)]


def test_rqe_pairs_become_labelled_pairs_records(tmp_path: Path) -> None:
    first, second = rqe(tmp_path, RQE)
    assert isinstance(first, PairsRecord) and isinstance(second, PairsRecord)
    assert (first.id, first.text_1, first.text_2, first.label) == (
        "toy.train.rqe.1",
        "Can zorbal rash come back after treatment?",
        "Can zorbal rash recur ?",
        "true",
    )
    assert json.loads(first.meta) == {
        "pid": "1",
        "label_source": "xml",
        "pair_type": "originalQ-shortQ",
        "source": {"path": "rqe.xml", "record": "1"},
    }
    assert second.label == "false" and validate(second, LabelSet(classes=("true", "false"))) == []


def test_ground_truth_gives_the_label_and_must_agree_with_the_xml(tmp_path: Path) -> None:
    pairs = '<pair pid="7"><chq>Is velmora safe?</chq><faq>What are velmora side effects ?</faq></pair>'
    (record,) = rqe(tmp_path, pairs, "pair_id,label\n7,1\n")
    assert record.label == "true" and json.loads(record.meta)["label_source"] == "ground truth"
    disagreeing = '<pair pid="7" value="false"><chq>Is velmora safe?</chq><faq>Why ?</faq></pair>'
    items = rqe(tmp_path, disagreeing, "pair_id,label\n7,1\n")
    (rejection,) = only(items, Rejection)
    assert (rejection.reason, rejection.locator) == ("label disagrees with ground truth", "7")
    assert "the XML says 'false'" in rejection.detail


def test_pair_without_value_or_ground_truth_is_kept_unlabelled(tmp_path: Path) -> None:
    (record,) = rqe(tmp_path, '<pair pid="3"><chq>Is velmora safe?</chq><faq>What is velmora ?</faq></pair>')
    assert not record.labeled and record.label == "" and validate(record) == []


def test_wrong_label_values_are_rejected_with_their_place(tmp_path: Path) -> None:
    (bad_value,) = rqe(tmp_path, '<pair pid="4" value="maybe"><chq>a?</chq><faq>b ?</faq></pair>')
    assert (bad_value.reason, bad_value.locator) == ("bad label", "4") and "'maybe'" in bad_value.detail
    items = rqe(tmp_path, '<pair pid="5"><chq>a?</chq><faq>b ?</faq></pair>', "pair_id,label\n5,2\n")
    (bad_gold,) = only(items, Rejection)
    assert (bad_gold.reason, bad_gold.path, bad_gold.locator) == ("bad label", str(tmp_path / "gold.txt"), "gold.txt:2")


def test_empty_text_missing_pid_and_repeated_pid_are_rejected(tmp_path: Path) -> None:
    pairs = (
        '<pair pid="1" value="true"><chq>a?</chq><faq>\n  \n</faq></pair>'
        '<pair value="true"><chq>a?</chq><faq>b ?</faq></pair>'
        '<pair pid="2" value="true"><chq>a?</chq><faq>b ?</faq></pair>'
        '<pair pid="2" value="false"><chq>c?</chq><faq>d ?</faq></pair>'
    )
    items = rqe(tmp_path, pairs)
    assert [(r.reason, r.locator) for r in only(items, Rejection)] == [
        ("empty text", "1"),
        ("missing attribute", "pair #1"),
        ("duplicate id", "2"),
    ]
    assert len(only(items, PairsRecord)) == 1


def test_dangling_ground_truth_row_is_a_dropped_defect_naming_its_line(tmp_path: Path) -> None:
    items = rqe(tmp_path, RQE, "pair_id,label\n1,1\n2,0\n99,1\n")
    (defect,) = only(items, Defect)
    assert (defect.reason, defect.locator, defect.dropped) == ("ground-truth row without a record", "4", True)
    assert "99" in defect.detail


def test_ground_truth_row_with_wrong_cell_count_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(ConvertError, match=r"gold.txt:3: ground-truth row has 3 cells, expected 2"):
        rqe(tmp_path, RQE, "pair_id,label\n1,1\n2,0,x\n")


def test_malformed_xml_and_entity_bomb_are_refused_with_the_line(tmp_path: Path) -> None:
    with pytest.raises(ConvertError, match=r"rqe.xml:2: invalid XML"):
        rqe(tmp_path, '<?xml version="1.0"?>\n<Toy-RQE><pair pid="1"><chq>a</faq></pair></Toy-RQE>')
    bomb = (
        '<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>\n'
        '<Toy-RQE><pair pid="1" value="true"><chq>&b;</chq><faq>b</faq></pair></Toy-RQE>'
    )
    with pytest.raises(ConvertError, match="entity declarations are not allowed"):
        rqe(tmp_path, bomb)
    with pytest.raises(ConvertError, match="holds no <pair> elements"):
        rqe(tmp_path, '<?xml version="1.0"?>\n<Toy-RQE><other/></Toy-RQE>')


# --------------------------------------------------------------------------------------------- QA
def question(qid: str, answers: str, text: str = "How long does zorbal rash last?") -> str:
    return f'<Question QID="{qid}"><QuestionText>{text}</QuestionText><AnswerList>{answers}</AnswerList></Question>'


def answer(aid: str, score: str = "4", text: str = "About two weeks.", system: str = "1", reference: str = "1") -> str:
    return (
        f'<Answer AID="{aid}" SystemRank="{system}" ReferenceRank="{reference}" ReferenceScore="{score}">'
        f"<AnswerURL>https://example.org/{aid}</AnswerURL><AnswerText>{text}</AnswerText></Answer>"
    )


def mediqa_qa(folder: Path, questions: str, gold: str | None = None) -> list:
    paths = [write_text(folder, "qa.xml", f"<Toy-QA>{questions}</Toy-QA>")]
    if gold is not None:
        paths.append(write_text(folder, "gold.txt", gold))
    return read_items(MediqaQaReader(), paths, labels=LabelSet(classes=("1", "0")))


def test_each_candidate_answer_is_a_pair_labelled_from_its_reference_score(tmp_path: Path) -> None:
    answers = answer("1_Answer1", "3", system="1", reference="2") + answer("1_Answer2", "2", "A rash.", "2", "1")
    first, second = mediqa_qa(tmp_path, question("1", answers))
    assert (first.id, first.document_id, first.text_1, first.text_2, first.label) == (
        "toy.train.qa.1_Answer1",
        "qa.1",
        "How long does zorbal rash last?",
        "About two weeks.",
        "1",
    )
    assert json.loads(first.meta) == {
        "question_id": "1",
        "answer_id": "1_Answer1",
        "system_rank": 1,
        "reference_rank": 2,
        "reference_score": 3,
        "answer_url": "https://example.org/1_Answer1",
        "label_source": "ReferenceScore",
        "source": {"path": "qa.xml", "record": "1_Answer1"},
    }
    assert second.label == "0" and second.document_id == "qa.1" and validate(second) == []


def test_qa_ground_truth_labels_and_its_checks(tmp_path: Path) -> None:
    answers = answer("2_Answer1", "4") + answer("2_Answer2", "1")
    first, second = mediqa_qa(tmp_path, question("2", answers), "2,2_Answer1,1\n2,2_Answer2,0\n")
    assert (first.label, second.label) == ("1", "0")
    assert json.loads(first.meta)["label_source"] == "ground truth"
    gold = "question_id,answer_id,label\n2,2_Answer1,0\n3,2_Answer2,0\n9,9_Answer1,1\n"
    items = mediqa_qa(tmp_path, question("2", answers), gold)
    assert [(r.reason, r.locator) for r in only(items, Rejection)] == [
        ("label disagrees with ground truth", "2_Answer1"),
        ("label disagrees with ground truth", "2_Answer2"),
    ]
    (defect,) = only(items, Defect)
    assert (defect.reason, defect.locator) == ("ground-truth row without a record", "4")


def test_qa_bad_values_are_rejected_with_the_answer_id(tmp_path: Path) -> None:
    questions = (
        question("1", answer("1_Answer1", "5") + answer("1_Answer2", system="first") + answer("1_Answer3", text=" "))
        + question("2", "")
        + question("3", answer("3_Answer1"), text="")
    )
    items = mediqa_qa(tmp_path, questions)
    assert [(r.reason, r.locator) for r in only(items, Rejection)] == [
        ("bad score", "1_Answer1"),
        ("bad value", "1_Answer2"),
        ("empty text", "1_Answer3"),
        ("missing answer", "2"),
        ("empty text", "3_Answer1"),
    ]
    assert only(items, PairsRecord) == []
