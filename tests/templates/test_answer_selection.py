"""Answer selection (issue 21): a question's candidate records make one example, its candidates numbered, the answer
the correct ones best first (kind ``ranking``); long questions are split into windows of whole candidates.

Records are tiny invented ones; ``DatasetInfo`` is built directly (no corpora)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest

from biohub.schema import PairsRecord
from biohub.templates.answers import AnswerSpec, parse, render
from biohub.templates.builder import layout_example
from biohub.templates.example import InstructionExample, Message
from biohub.templates.instruct import InstructOptions, build_split
from biohub.templates.length import TokenCounter
from biohub.templates.library import punctuation
from biohub.templates.tasks import DatasetInfo, answer_selection, record_units, unit_instances

INFO = DatasetInfo("toy_qa", "pairs", ("answer_selection",), (), (), ("1", "0"), False)


def candidate(question: str, number: int, label: str, text: str = "", language: str = "en", **meta: Any) -> PairsRecord:
    return PairsRecord(
        id=f"{question}-a{number}",
        document_id=question,
        dataset="toy_qa",
        split="test",
        language=language,
        meta=json.dumps(meta),
        text_1=f"What about {question}?",
        text_2=text or f"Answer {number} about {question}.",
        label=label,
    )


def question(name: str, labels: str, **ranks: list[int]) -> list[PairsRecord]:
    """One question's candidates; ``labels`` like "101" (1 = correct); optional system/reference ranks per candidate."""
    return [
        candidate(name, number, label, **{key: values[number - 1] for key, values in ranks.items()})
        for number, label in enumerate(labels, start=1)
    ]


def spec(count: int, language: str = "en") -> AnswerSpec:
    p = punctuation()[language]
    return AnswerSpec("ranking", p, tuple(str(n) for n in range(1, count + 1)), {}, p.answer)


# ------------------------------------------------------------------------------------------ units and instances
def test_candidates_of_one_question_make_one_unit_in_first_seen_order() -> None:
    q1, q2 = question("q1", "10"), question("q2", "01")
    records = [q1[0], q2[0], q1[1], q2[1]]
    assert record_units(records, INFO) == [q1, q2]
    other = DatasetInfo("toy", "pairs", ("pair_classification",), (), (), ("1", "0"), False)
    assert record_units(records, other) == [[record] for record in records]  # other datasets: a record alone


def test_candidates_follow_the_system_rank_and_the_gold_the_reference_rank() -> None:
    records = question("q", "1011", system_rank=[2, 1, 4, 3], reference_rank=[3, 4, 2, 1])
    (instance,) = unit_instances(records, INFO)
    # shown in system order: a2 (0), a1 (1), a4 (1), a3 (1) -> numbers 1..4; correct: 2 (ref 3), 3 (ref 1), 4 (ref 2)
    assert instance.fields["options"].split("\n\n") == [
        "[1] Answer 2 about q.", "[2] Answer 1 about q.", "[3] Answer 4 about q.", "[4] Answer 3 about q."
    ]
    assert instance.target == [3, 4, 2] and instance.spec.labels == ("1", "2", "3", "4")
    assert instance.fields["question"] == "What about q?" and instance.family == "answer_selection"


def test_without_ranks_the_candidates_keep_their_order_and_a_question_without_correct_ones_answers_none() -> None:
    (instance,) = unit_instances(question("q", "0110"), INFO)
    assert instance.target == [2, 3]
    (none,) = unit_instances(question("n", "000"), INFO)
    assert none.target == [] and render(none.spec, none.target) == "Answer: None"


def test_a_question_with_an_unlabelled_candidate_makes_nothing_and_mixed_questions_are_refused() -> None:
    unlabelled = [candidate("q", 1, "1"), PairsRecord(id="x", document_id="q", dataset="toy_qa", split="test", language="en",
                                          labeled=False, text_1="What about q?", text_2="?")]
    assert unit_instances(unlabelled, INFO) == []
    with pytest.raises(ValueError, match="one question"):
        answer_selection([candidate("q", 1, "1"), candidate("other", 2, "0")], INFO)
    with pytest.raises(ValueError, match="marks a correct candidate"):
        answer_selection(question("q", "10"), DatasetInfo("toy", "pairs", ("answer_selection",), (), (), ("a", "b"), False))


def test_window_renumbers_its_candidates_and_keeps_its_own_gold() -> None:
    records = question("q", "01101", reference_rank=[5, 2, 1, 4, 3])
    window = answer_selection(records, INFO, (1, 4), index=2)
    assert window.suffix == ".w2" and window.spec.labels == ("1", "2", "3")
    assert window.fields["options"].startswith("[1] Answer 2 about q.") and window.target == [2, 1]


# ------------------------------------------------------------------------------------------ the ranking kind
@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("value", [[3, 1, 5], [2], []])
@pytest.mark.parametrize("answer_format", ["lines", "json"])
def test_ranking_round_trips_strict_and_lenient(language: str, value: list[int], answer_format: str) -> None:
    text = render(spec(5, language), value, answer_format)
    for strict in (True, False):
        result = parse(spec(5, language), text, answer_format, strict=strict)
        assert result.ok and result.value == value, (text, result.error)


def test_ranking_rendering() -> None:
    assert render(spec(5), [3, 1, 5]) == "Answer: 3, 1, 5"
    assert render(spec(5, "zh"), [3, 1, 5]) == "答案：3，1，5"
    assert render(spec(5, "zh"), []) == "答案：无"
    assert render(spec(5), [3, 3, 1], "json") == '{"answer": [3, 1]}'  # canonical: each candidate once, order kept


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Answer: [3] > [1] (2 is off-topic)", [3, 1]),
        ("The correct candidates are 3 and 1.", [3, 1]),
        ("**Answer:** #4, #2", [4, 2]),
        ("answer: 3 1", [3, 1]),
        ("Answer: candidate 5, then candidate 2. Candidate 1 is wrong.", [5, 2]),
        ("答案：第3条、第1条", [3, 1]),
        ("答案：３，１", [3, 1]),
        ("None of them.", []),
        ("答案：无", []),
        ("Answer: 9, 2", [2]),  # a number that names no candidate is dropped (with a warning)
        ("Answer: 2, 2, 4", [2, 4]),
    ],
)
def test_ranking_lenient_reads_what_models_write(text: str, expected: list[int]) -> None:
    result = parse(spec(5), text, "lines")
    assert result.ok and result.value == expected, result.error


@pytest.mark.parametrize("text", ["I am not sure.", "Answer: 12345", "Answer: 7", ""])
def test_ranking_lenient_fails_on_text_naming_no_candidate(text: str) -> None:
    assert not parse(spec(5), text, "lines").ok


@pytest.mark.parametrize("text", ["Answer: 3,1", "Answer: 6", "answer: 3", "Answer: 03", "3, 1", "Answer: none", "Answer: 3, 3"])
def test_ranking_strict_accepts_only_the_rendered_layout(text: str) -> None:
    assert not parse(spec(5), text, "lines", strict=True).ok
    assert parse(spec(5), "Answer: 3, 1\n", "lines", strict=True).value == [3, 1]  # the trailing newline, as elsewhere


def test_ranking_json_strict_and_lenient() -> None:
    assert not parse(spec(5), '{"answer": ["3"]}', "json", strict=True).ok
    assert not parse(spec(5), '{"answer": [6]}', "json", strict=True).ok
    assert not parse(spec(5), '{"answer": [true]}', "json", strict=True).ok
    lenient = parse(spec(5), 'Here: ```json\n{"answer": ["3", 1, "[4]"]}\n```', "json")
    assert lenient.ok and lenient.value == [3, 1, 4]
    assert parse(spec(5), '{"answer": "Answer: 2, 5"}', "json").value == [2, 5]
    assert parse(spec(5), '{"answer": null}', "json").value == []
    assert not parse(spec(5), '{"answer": ["nothing"]}', "json").ok


def test_format_hint_shows_the_ranking_layout() -> None:
    assert layout_example(spec(4), "lines", "en") == "Answer: 2, 1"
    assert layout_example(spec(1, "zh"), "json", "zh") == '{"answer": [1]}'


# ------------------------------------------------------------------------------------------ examples and windows
class CharCounter(TokenCounter):
    """A fake token counter: one token per character of every message."""

    def __init__(self) -> None:
        super().__init__(tokenizer=None)

    def __call__(self, conversations: Sequence[list[Message]]) -> list[int]:
        return [sum(len(m.content) for m in messages) for messages in conversations]


def _gold(example: InstructionExample) -> list[int]:
    return json.loads(example.gold)["value"]


def test_a_split_makes_one_example_per_question() -> None:
    records = question("q1", "100") + question("q2", "011")
    examples, stats, _ = build_split(records, INFO, InstructOptions(max_length=0, formats=("lines", "json")), None)
    assert [e.id for e in examples] == ["q1-a1:answer_selection", "q2-a1:answer_selection"]
    assert [e.source_id for e in examples] == ["q1-a1", "q2-a1"] and [_gold(e) for e in examples] == [[1], [2, 3]]
    assert stats.records == 6 and dict(stats.examples) == {"answer_selection": 2}
    for example in examples:
        spec_, answer_format, _ = example.answer_spec()
        assert parse(spec_, example.target, answer_format, strict=True).value == _gold(example)


def test_a_long_question_is_split_into_windows_of_whole_candidates() -> None:
    texts = ["short one", "x" * 300, "short two", "short three", "y" * 5000, "short four"]
    records = [candidate("q", n, label, text) for n, (label, text) in enumerate(zip("110101", texts), start=1)]
    options = InstructOptions(max_length=1200, formats=("lines", "json"))
    examples, stats, lengths = build_split(records, INFO, options, CharCounter())
    assert all(length <= 1200 for _, length in lengths)
    windows = [json.loads(e.meta)["window"] for e in examples]
    assert windows[0][0] == 0 and windows[-1][1] == 6 and [4, 5] not in windows  # candidate 5 never fits
    assert all(start < end for start, end in windows) and all(a[1] <= b[0] for a, b in zip(windows, windows[1:]))
    covered = [index for start, end in windows for index in range(start, end)]
    assert covered == [0, 1, 2, 3, 5]  # every other candidate, once, in order
    assert dict(stats.dropped) == {("candidate_too_long", "answer_selection"): 1}
    assert stats.windowed_records["answer_selection"] == 1
    assert [e.id.rsplit(".", 1)[1] for e in examples] == [f"w{i}" for i in range(len(examples))]
    for example in examples:  # each window's gold: its own correct candidates, renumbered
        start, end = json.loads(example.meta)["window"]
        expected = [n - start for n in range(start + 1, end + 1) if "110101"[n - 1] == "1"]
        assert _gold(example) == expected
        spec_, answer_format, _ = example.answer_spec()
        assert spec_.labels == tuple(str(n) for n in range(1, end - start + 1))
        for strict in (True, False):
            assert parse(spec_, example.target, answer_format, strict=strict).value == expected


def test_a_question_that_fits_is_not_windowed() -> None:
    examples, stats, _ = build_split(question("q", "10"), INFO, InstructOptions(max_length=5000), CharCounter())
    assert len(examples) == 1 and "window" not in json.loads(examples[0].meta) and not stats.windowed_records
