"""Entailment, summarisation and translation examples (issue 21): which records yield them, the prompt language of each
translation direction, and targets that parse back to the gold.

Records are tiny invented ones; ``DatasetInfo`` is built directly (no corpora)."""

from __future__ import annotations

import json

import pytest

from biohub.schema import PairsRecord, T2TRecord
from biohub.templates.answers import parse
from biohub.templates.builder import build_example
from biohub.templates.check import check_instance
from biohub.templates.instruct import InstructOptions, build_split
from biohub.templates.library import families
from biohub.templates.tasks import DatasetInfo, instances, translation_languages

COMMON = {"dataset": "toy", "split": "test"}


def info(schema: str, tasks: tuple[str, ...], classes: tuple[str, ...] = ()) -> DatasetInfo:
    return DatasetInfo("toy", schema, tasks, (), (), classes, False)


def pair(label: str = "true") -> PairsRecord:
    return PairsRecord(id="p1", document_id="p1", language="en", text_1="Can I take aspirin with ibuprofen?",
                       text_2="What are the interactions of aspirin?", label=label, **COMMON)


def bitext(**names: str) -> T2TRecord:
    return T2TRecord(id="b1", document_id="b1", language="en", text_1="fever and cough .", text_2="发热 和 咳嗽 。",
                     **names, **COMMON)


def test_entailment_pairs_are_their_own_family_and_other_pairs_stay_pair_classification() -> None:
    (entail,) = instances(pair(), info("pairs", ("entailment",), ("true", "false")))
    assert entail.family == "entailment" and entail.target == "true" and entail.spec.kind == "label"
    assert entail.fields["labels"] == "true, false"
    (plain,) = instances(pair(), info("pairs", ("pair_classification",), ("true", "false")))
    assert plain.family == "pair_classification"


def test_entailment_example_round_trips_in_both_formats() -> None:
    dataset = info("pairs", ("entailment",), ("true", "false"))
    examples, _, _ = build_split([pair("false")], dataset, InstructOptions(max_length=0, formats=("json",)), None)
    (example,) = examples
    spec, answer_format, _ = example.answer_spec()
    assert example.target == '{"answer": "false"}' and parse(spec, example.target, "json", strict=True).value == "false"
    assert example.template_id.startswith("entailment.en.") and families()["entailment"].hub.stage == 1


def test_summarization_records_make_one_text_example() -> None:
    record = T2TRecord(id="s1", document_id="s1", language="en", text_1="SUBJECT: pregnancy\nMESSAGE: a long story.",
                       text_2="How can I get pregnant after tubal ligation?", text_1_name="question", text_2_name="summary",
                       **COMMON)
    (instance,) = instances(record, info("t2t", ("summarization",)))
    assert instance.family == "summarization" and instance.fields == {"text": record.text_1}
    example = build_example(record, instance, seed=0, formats=("json",))
    assert example.target == record.text_2 and example.language == "en"  # free text: plain, whatever the formats
    assert check_instance(record, instance) is None and families()["summarization"].hub.stage == 2


def test_a_translation_pair_makes_one_example_per_direction_prompted_in_its_source_language() -> None:
    record = bitext(text_1_name="en", text_2_name="zh")
    forward, backward = instances(record, info("t2t", ("translation",)))
    assert (forward.suffix, forward.language, forward.fields["text"], forward.target) == (
        ".en-zh", "en", "fever and cough .", "发热 和 咳嗽 。"
    )
    assert (backward.suffix, backward.language, backward.fields["text"], backward.target) == (
        ".zh-en", "zh", "发热 和 咳嗽 。", "fever and cough ."
    )
    examples = [build_example(record, instance, seed=3, formats=("lines",)) for instance in (forward, backward)]
    assert [e.id for e in examples] == ["b1:translation.en-zh", "b1:translation.zh-en"]
    assert [e.language for e in examples] == ["en", "zh"]
    assert examples[0].template_id.startswith("translation.en.") and examples[1].template_id.startswith("translation.zh.")
    assert "Chinese" in examples[0].messages[0].content and "英文" in examples[1].messages[0].content
    assert [json.loads(e.gold) for e in examples] == [
        {"value": "发热 和 咳嗽 。", "target_language": "zh"},
        {"value": "fever and cough .", "target_language": "en"},
    ]
    assert [json.loads(e.meta)["answer"]["language"] for e in examples] == ["en", "zh"]
    assert all(check_instance(record, instance) is None for instance in (forward, backward))


@pytest.mark.parametrize(
    ("names", "language", "expected"),
    [
        ({"text_1_name": "zh", "text_2_name": "en"}, "en", ("zh", "en")),  # the names win over the record's language
        ({"text_1_name": "source", "text_2_name": "target"}, "en", ("en", "zh")),
        ({}, "zh", ("zh", "en")),
        ({"text_1_name": "en", "text_2_name": "en"}, "zh", ("zh", "en")),
    ],
)
def test_translation_languages(names: dict[str, str], language: str, expected: tuple[str, str]) -> None:
    record = T2TRecord(id="t", document_id="t", language=language, text_1="a", text_2="b", **names, **COMMON)
    assert translation_languages(record) == expected


def test_t2t_records_of_other_tasks_and_unlabelled_ones_make_nothing() -> None:
    assert instances(bitext(), info("t2t", ())) == []
    unlabelled = T2TRecord(id="u", document_id="u", language="en", labeled=False, text_1="a", text_2="", **COMMON)
    assert instances(unlabelled, info("t2t", ("translation",))) == []
