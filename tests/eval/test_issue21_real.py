"""The issue-21 families on their real corpora (one test per corpus; skipped without the mirror): the eval split's
examples against SOURCE.md's counts, and gold answers scoring exactly 1.0 through the family's scorer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from biohub.converters.catalog import load_catalog
from biohub.eval.score import compute, judge
from biohub.eval.suite import Entry, headline_for
from biohub.templates.instruct import InstructOptions, make_examples, read_records
from biohub.templates.tasks import DatasetInfo

pytestmark = pytest.mark.real_corpora


def _rows(unified: Path, dataset: str, split: str) -> list[dict[str, Any]]:
    folder = unified / dataset
    info = DatasetInfo.load(folder)
    records = read_records(folder / f"{split}.parquet", info.schema)
    made = make_examples(records, info, InstructOptions(formats=("lines", "json"), max_length=0))
    return [example.to_row() for _, _, example in made]


def _perfect_scores(rows: list[dict[str, Any]], dataset: str, language: str | None = None) -> dict[str, float]:
    (task,) = {row["task"] for row in rows}
    headline = headline_for(load_catalog()[dataset].metric.name, task, dataset)
    judged = [judge(row, row["messages"][-1]["content"]) for row in rows if language in (None, row["language"])]
    assert all(j.parse_ok for j in judged)
    values = compute(Entry(dataset, dataset, "test", (task,), headline, language=language), judged)
    assert values[headline] == 1.0, (headline, values)
    return values


def test_mediqa_rqe_test_pairs_are_entailment_examples(unified) -> None:
    rows = _rows(unified("mediqa_rqe"), "mediqa_rqe", "test")
    assert len(rows) == 230 and {row["task"] for row in rows} == {"entailment"}
    assert sum(json.loads(row["gold"])["value"] == "true" for row in rows) == 115  # SOURCE.md: true 115, false 115
    assert _perfect_scores(rows, "mediqa_rqe") == {"accuracy": 1.0, "micro_f1": 1.0, "macro_f1": 1.0}


def test_paramed_pairs_are_translated_both_ways_and_each_direction_scores_one(unified) -> None:
    rows = _rows(unified("paramed"), "paramed", "test")
    assert len(rows) == 2 * 217 and {row["task"] for row in rows} == {"translation"}  # 217 pairs kept of align.txt
    assert sum(row["language"] == "en" for row in rows) == 217
    for language, target in (("en", "zh"), ("zh", "en")):
        values = _perfect_scores(rows, "paramed", language)
        assert values == {"bleu": 1.0, "chrf": 1.0, f"bleu[{target}]": 1.0, f"chrf[{target}]": 1.0}


def test_meqsum_questions_are_summarised(unified) -> None:
    rows = _rows(unified("meqsum"), "meqsum", "test")
    assert len(rows) == 91 and {row["task"] for row in rows} == {"summarization"}  # the seeded 10% test split
    assert _perfect_scores(rows, "meqsum")["rougeL"] == 1.0


def test_mediqa_qa_test_questions_hold_every_candidate_and_score_one(unified) -> None:
    rows = _rows(unified("mediqa_qa"), "mediqa_qa", "test")
    candidates = [len(json.loads(row["meta"])["answer"]["labels"]) for row in rows]
    correct = [len(json.loads(row["gold"])["value"]) for row in rows]
    # SOURCE.md: 150 questions, 1107 answers, 572 labelled correct; every test question has a correct answer
    assert (len(rows), sum(candidates), sum(correct), min(correct)) == (150, 1107, 572, 1)
    values = _perfect_scores(rows, "mediqa_qa")
    assert all(value == 1.0 for value in values.values()), values


def test_cmedqa_questions_group_their_candidates_and_score_one(unified) -> None:
    rows = _rows(unified("cmedqa_chineseblue"), "cmedqa_chineseblue", "test")
    candidates = [len(json.loads(row["meta"])["answer"]["labels"]) for row in rows]
    correct = [len(json.loads(row["gold"])["value"]) for row in rows]
    # SOURCE.md: 897 distinct questions, 6149 pairs, 1148 labelled 1
    assert (len(rows), sum(candidates), sum(correct)) == (897, 6149, 1148)
    assert _perfect_scores(rows, "cmedqa_chineseblue")["f1_positive"] == 1.0  # ChineseBLUE's official F1 of label 1
