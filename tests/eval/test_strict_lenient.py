"""Strict and lenient parsing both scored (issue 22, point 4): hand-built rows whose outputs parse leniently but not
strictly (prose around a label, a JSON answer in a code fence, a full-width colon in an English events answer); the
strict headline, both parse-failure counts, Meditron's parsed-only accuracy and the report's side-by-side columns."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from biohub.eval.report import write_report
from biohub.eval.run import score_outputs, write_results
from biohub.eval.score import EntryResult, as_strict, compute, compute_strict, judge, parsed_only
from biohub.eval.suite import Entry
from biohub.templates.answers import AnswerSpec, render
from biohub.templates.example import spec_meta
from biohub.templates.library import punctuation

EN = punctuation()["en"]
LABEL = AnswerSpec("label", EN, ("pos", "neg"), {"pos": "positive", "neg": "negative"}, EN.result)
YESNO = AnswerSpec("label", EN, ("yes", "no"), {}, EN.answer)
CHOICES = AnswerSpec("choices", EN, (), {}, EN.answer)
EVENTS = AnswerSpec("events", EN, ("Gene_expression", "Positive_regulation"), {}, "")
GOLD_EVENTS = [
    ["Gene_expression", "expression", [["Theme", "IL-2"]]],
    ["Positive_regulation", "induces", [["Theme", 1], ["Cause", "TRAF2"]]],
]

ENTRIES = [
    Entry("toy-label", "toy", "test", ("classification",), "accuracy", "TC"),
    Entry("toy-yesno", "toy", "test", ("qa_yesno",), "accuracy", "QA"),
    Entry("toy-choices", "toy", "test", ("qa_multiple_choice",), "accuracy", "QA"),
    Entry("toy-events", "toy", "test", ("events",), "f1_event", "EE"),
]


def _row(
    key: str, task: str, spec: AnswerSpec, gold: Any, answer_format: str = "lines", choices: list[str] | None = None
) -> dict[str, Any]:
    """An example row as `instruct` writes it (its answer spec in meta, the gold rendered as the assistant's turn)."""
    meta = {"answer": spec_meta(spec, answer_format, "en", choices)}
    target = render(spec, gold, answer_format)
    messages = [{"role": "user", "content": f"question {key}"}, {"role": "assistant", "content": target}]
    return {
        "id": key, "source_id": key, "task": task, "language": "en", "messages": messages,
        "gold": json.dumps({"value": gold}), "meta": json.dumps(meta),
    }  # fmt: skip


OPTIONS = ["aspirin", "ibuprofen", "paracetamol", "morphine"]
ROWS = {
    "toy-label": [_row(f"l{i}", "classification", LABEL, "pos") for i in range(5)],
    "toy-yesno": [_row(f"y{i}", "qa_yesno", YESNO, "yes") for i in range(2)],
    "toy-choices": [_row(f"c{i}", "qa_multiple_choice", CHOICES, ["B"], "json", OPTIONS) for i in range(2)],
    "toy-events": [_row("e0", "events", EVENTS, GOLD_EVENTS)],
}
OUTPUTS = {
    "l0": "Result: positive",  # right under both parsings
    "l1": "The answer is positive.",  # prose around the label: right leniently, a strict failure
    "l2": "Result: negative",  # wrong under both
    "l3": "I cannot tell.",  # a failure under both
    # l4: no output (missing: wrong, never a parse failure)
    "y0": "Maybe.",  # nothing parses: no parsed-only accuracy
    "y1": "Perhaps, perhaps not.",
    "c0": '```json\n{"answer": ["B"]}\n```',  # JSON in a code fence: right leniently, a strict failure
    "c1": '{"answer": ["B"]}',  # the rendered JSON: right under both
    # a full-width colon after E1 in an English answer: every event right leniently, a strict failure
    "e0": render(EVENTS, GOLD_EVENTS).replace("E1:", "E1："),
}


def _scored() -> dict[str, EntryResult]:
    results, _, _ = score_outputs(ENTRIES, ROWS, OUTPUTS, "unused", resamples=0)  # no NER row: the hub folder is never read
    return {result.name: result for result in results}


def test_judge_parses_leniently_and_strictly() -> None:
    label = [judge(row, OUTPUTS.get(row["id"])) for row in ROWS["toy-label"]]
    both = [(j.parse_ok, j.strict_ok) for j in label]
    assert both == [(True, True), (True, False), (True, True), (False, False), (False, False)]
    assert [j.parsed for j in label] == ["pos", "pos", "neg", None, None]
    assert [j.strict_parsed for j in label] == ["pos", None, "neg", None, None]
    fenced = judge(ROWS["toy-choices"][0], OUTPUTS["c0"])
    assert (fenced.parsed, fenced.parse_ok, fenced.strict_parsed, fenced.strict_ok) == (["B"], True, None, False)
    events = judge(ROWS["toy-events"][0], OUTPUTS["e0"])
    assert (events.parsed, events.parse_ok, events.strict_ok) == (GOLD_EVENTS, True, False)


def test_strict_headline_failure_counts_and_parsed_only_accuracy() -> None:
    scored = _scored()
    label = scored["toy-label"]
    # 5 examples: l0 and l1 right leniently (2/5), only l0 strictly (1/5); parse failures l3 (lenient), l1 and l3
    # (strict); l4 missing in neither count; parsed leniently l0, l1, l2 of which 2 right: 2/3
    assert (label.value, label.strict_value) == (pytest.approx(0.4), pytest.approx(0.2))
    assert label.value_parsed_only == pytest.approx(2 / 3)
    assert (label.n, label.missing, label.parse_failures, label.strict_parse_failures) == (5, 1, 1, 2)
    assert (label.parse_failure_rate, label.strict_parse_failure_rate) == (pytest.approx(0.2), pytest.approx(0.4))
    yesno = scored["toy-yesno"]
    assert (yesno.value, yesno.strict_value, yesno.value_parsed_only, yesno.strict_parse_failures) == (0.0, 0.0, None, 2)
    choices = scored["toy-choices"]
    assert (choices.value, choices.strict_value, choices.value_parsed_only) == (1.0, 0.5, 1.0)
    assert (choices.parse_failures, choices.strict_parse_failures) == (0, 1)
    events = scored["toy-events"]  # f1_event is not a share of examples: no parsed-only value
    assert (events.value, events.strict_value, events.value_parsed_only) == (1.0, 0.0, None)
    assert (events.parse_failures, events.strict_parse_failures) == (0, 1)


def test_strict_metrics_are_the_scorer_over_the_strict_parses() -> None:
    entry, rows = ENTRIES[0], ROWS["toy-label"]
    judged = [judge(row, OUTPUTS.get(row["id"])) for row in rows]
    lenient = compute(entry, judged)
    strict = compute_strict(entry, judged, None, lenient)
    assert strict == compute(entry, as_strict(judged)) and strict["accuracy"] == pytest.approx(0.2)
    # every example parsing the same both ways: the lenient values, computed once
    same = [judge(row, "Result: negative") for row in rows]
    assert compute_strict(entry, same, None, {"accuracy": 0.5}) == {"accuracy": 0.5}
    assert parsed_only(entry, same) == 0.0 and parsed_only(ENTRIES[3], [judge(ROWS["toy-events"][0], OUTPUTS["e0"])]) is None


def test_results_generations_and_report_show_both_parsings(tmp_path: Path) -> None:
    results, generations, _ = score_outputs(ENTRIES, ROWS, OUTPUTS, "unused", resamples=0)  # the values alone
    new = tmp_path / "new"
    document = write_results(new, results, generations, {"name": "new", "suite": "toy"})
    label = document["entries"][0]
    assert (label["strict_value"], label["strict_parse_failures"], label["strict_parse_failure_rate"]) == (0.2, 2, 0.4)
    assert label["value_parsed_only"] == pytest.approx(2 / 3) and document["entries"][1]["value_parsed_only"] is None
    written = [json.loads(line) for line in (new / "generations.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(g["id"], g["parse_ok"], g["strict_ok"]) for g in written[:2]] == [("l0", True, True), ("l1", True, False)]
    old = tmp_path / "old"  # the same run as an older biohub wrote it: no strict fields
    old.mkdir()
    strict_fields = ("strict_value", "strict_parse_failures", "strict_parse_failure_rate", "value_parsed_only")
    older = [{k: v for k, v in entry.items() if k not in strict_fields} for entry in document["entries"]]
    (old / "results.json").write_text(json.dumps({"suite": "toy", "entries": older}), encoding="utf-8")
    data = write_report([new, old], tmp_path / "report")
    rows = {row["name"]: row for row in data["rows"]}
    assert rows["toy-label"]["strict"] == [pytest.approx(20.0), None]
    assert rows["toy-label"]["fail_strict"] == [pytest.approx(40.0), None]
    text = (tmp_path / "report" / "report.md").read_text(encoding="utf-8")
    assert "| lenient new | strict new | fail% lenient new | fail% strict new | lenient old | strict old |" in text
    # lenient, strict, fail% lenient, fail% strict of each run, then Δ of the lenient headline, then n/missing/parse fail
    line = "| TC | toy-label | accuracy | 40.0 | 20.0 | 20.0 | 40.0 | 40.0 | – | 20.0 | – | +0.0 | 5 | 1 | 1 | 5 | 1 | 1 |"
    assert line in text
    assert "| EE | toy-events | f1_event | 100.0 | 0.0 | 0.0 | 100.0 | 100.0 | – | 0.0 | – | +0.0 |" in text
    assert "Average of new under strict parsing over its 4 rows: 17.5" in text  # (20 + 0 + 50 + 0) / 4
    assert "Average of old under strict parsing" not in text
    page = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    assert "<th>strict new</th><th>fail% lenient new</th><th>fail% strict new</th>" in page
    assert "<td>40.0</td><td>20.0</td><td>20.0</td><td>40.0</td><td>40.0</td><td>–</td><td>20.0</td><td>–</td>" in page
