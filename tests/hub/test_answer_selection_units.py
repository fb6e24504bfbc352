"""A build handles an answer-selection question as one unit (issue 21): a cap visits whole questions, and every
candidate of a used question is checked for contamination under the question's example source id."""

from __future__ import annotations

import json

from biohub.hub.prepare import capped_examples, text_rows
from biohub.hub.recipe import DatasetPlan
from biohub.schema import PairsRecord
from biohub.templates.instruct import InstructOptions
from biohub.templates.tasks import DatasetInfo

INFO = DatasetInfo("toy_qa", "pairs", ("answer_selection",), (), (), ("1", "0"), False)


def records(split: str = "train") -> list[PairsRecord]:
    return [
        PairsRecord(id=f"{q}-{n}", document_id=q, dataset="toy_qa", split=split, language="en", text_1=f"Question {q}?",
                    text_2=f"Candidate answer {n} to question {q}.", label="1" if n == 1 else "0")
        for q in ("q1", "q2", "q3")
        for n in (1, 2, 3)
    ]


def test_a_cap_takes_whole_questions() -> None:
    options = InstructOptions(max_length=0)
    made, used = capped_examples(records(), INFO, options, DatasetPlan(train=("train",), cap=2), seed=0, dataset="toy_qa")
    assert len(made) == 2 and used == 6  # two questions of three candidates each
    assert all(len(json.loads(m[2].meta)["answer"]["labels"]) == 3 for m in made)
    everything, used = capped_examples(records(), INFO, options, DatasetPlan(train=("train",)), seed=0, dataset="toy_qa")
    assert [m[2].id for m in everything] == [f"q{i}-1:answer_selection" for i in (1, 2, 3)] and used == 9


def test_every_candidate_of_a_used_question_is_checked_under_its_source_id() -> None:
    train, evals = records(), {"test": records("test")[:2]}
    rows = text_rows("toy_qa", INFO, train, {"q2-1"}, evals)
    trained = [(row["record_id"], row["text"]) for row in rows if row["role"] == "train"]
    assert [record_id for record_id, _ in trained] == ["q2-1"] * 3  # the question's three candidates, under its id
    assert [text for _, text in trained] == [f"question q2 candidate answer {n} to question q2" for n in (1, 2, 3)]
    assert [row["record_id"] for row in rows if row["role"] == "eval"] == ["q1-1", "q1-2"]
