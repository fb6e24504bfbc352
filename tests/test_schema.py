"""The unified schema: features, round trip, and each BigBio invariant failing when broken."""

from __future__ import annotations

import pytest

from biohub.schema import (
    SCHEMAS,
    DialogueRecord,
    Entity,
    KBRecord,
    LabelSet,
    PairsRecord,
    Passage,
    QARecord,
    Relation,
    TextRecord,
    Turn,
    document_text,
    features_for,
    from_row,
    to_row,
    validate,
)

COMMON = {"document_id": "d1", "dataset": "toy", "split": "test", "language": "en"}


def kb(**changes) -> KBRecord:
    fields = {
        "id": "toy.test.d1",
        "passages": [
            Passage("p0", "title", ["Aspirin and asthma."], [(0, 19)]),
            Passage("p1", "abstract", ["Aspirin induced it."], [(20, 39)]),
        ],
        "entities": [
            Entity("e0", "Chemical", ["Aspirin"], [(0, 7)]),
            Entity("e1", "Disease", ["asthma"], [(12, 18)]),
            Entity("e2", "Chemical", ["Aspirin", "it"], [(20, 27), (36, 38)]),
        ],
        "relations": [Relation("r0", "CID", "e0", "e1")],
    }
    fields.update(changes)
    return KBRecord(**COMMON, **fields)


def test_document_text_joins_passages_by_their_offsets() -> None:
    assert document_text(kb()) == "Aspirin and asthma. Aspirin induced it."


def test_valid_kb_record_has_no_problems_and_round_trips() -> None:
    record = kb()
    assert validate(record, LabelSet(entity_types=("Chemical", "Disease"), relation_types=("CID",))) == []
    assert from_row("kb", to_row(record)) == record
    assert list(to_row(record)) == list(features_for("kb"))


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"entities": [Entity("e0", "Chemical", ["Aspirin"], [(1, 8)])], "relations": []}, "!= document text"),
        ({"entities": [Entity("e0", "Chemical", ["Aspirin"], [(30, 99)])], "relations": []}, "out of range"),
        ({"relations": [Relation("r0", "CID", "e0", "e9")]}, "is not an entity of this record"),
        ({"entities": [Entity("p0", "Chemical", ["Aspirin"], [(0, 7)])], "relations": []}, "duplicate id p0"),
        ({"entities": [Entity("e0", "Gene", ["Aspirin"], [(0, 7)])], "relations": []}, "not in the declared entity types"),
        ({"passages": [Passage("p0", "title", ["Aspirin"], [(0, 9)])], "entities": [], "relations": []}, "do not span"),
        (
            {
                "passages": [Passage("p0", "t", ["Hello world"], [(0, 11)]), Passage("p1", "a", ["XXXXX"], [(6, 11)])],
                "entities": [],
                "relations": [],
            },
            "overlap",
        ),
    ],
)
def test_kb_invariants_fail(changes: dict, problem: str) -> None:
    problems = validate(kb(**changes), LabelSet(entity_types=("Chemical", "Disease")))
    assert any(problem in p for p in problems), problems


def test_qa_answer_must_be_a_choice() -> None:
    record = QARecord(id="q", **COMMON, question="Is it?", type="yesno", choices=["yes", "no"], answer=["maybe"])
    assert any("not among the choices" in p for p in validate(record))


def test_unlabeled_records_carry_no_labels() -> None:
    record = TextRecord(id="t", **COMMON, text="x", labels=["a"], labeled=False)
    assert "unlabeled record carries labels" in validate(record)
    assert validate(TextRecord(id="t", **COMMON, text="x", labeled=False)) == []


def test_single_label_needs_exactly_one_label_and_declared_classes() -> None:
    record = TextRecord(id="t", **COMMON, text="x", labels=["a", "b"])
    assert any("has 2 labels" in p for p in validate(record, LabelSet(classes=("a", "b"))))
    assert validate(record, LabelSet(classes=("a", "b"), multi_label=True)) == []
    assert any("not in the declared label set" in p for p in validate(record, LabelSet(classes=("a",), multi_label=True)))


def test_pairs_need_label_or_score() -> None:
    assert validate(PairsRecord(id="p", **COMMON, text_1="a", text_2="b", score=2.5)) == []
    assert any(
        "not a finite number" in p for p in validate(PairsRecord(id="p", **COMMON, text_1="a", text_2="b", score=float("nan")))
    )
    assert "labeled pair has neither a label nor a score" in validate(PairsRecord(id="p", **COMMON, text_1="a", text_2="b"))


def test_dialogue_roles_are_closed() -> None:
    record = DialogueRecord(id="d", **COMMON, turns=[Turn("patient", "hi"), Turn("assistant", "hello")])
    assert any("role 'patient'" in p for p in validate(record))


def test_every_schema_has_features_with_the_common_fields_first() -> None:
    for schema in SCHEMAS:
        assert list(features_for(schema))[:7] == ["id", "document_id", "dataset", "split", "language", "labeled", "meta"]
    with pytest.raises(ValueError, match="unknown schema"):
        features_for("nope")
