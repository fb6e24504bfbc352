"""The metrics of the issue-21 families, each by hand and against its library: BLEU and chrF (sacreBLEU) for
translation, ROUGE (rouge-score) for summarisation, per-candidate accuracy / macro-F1 / F1 (scikit-learn) and the MEDIQA
2019 QA rank measures for answer selection; gold answers score 1.0 through the scorers; ``all``-suite rows per language."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest

from biohub.eval import metrics
from biohub.eval.metrics import UNPARSED
from biohub.eval.metrics_mt import chrf, translation_scores
from biohub.eval.metrics_ranking import candidate_labels, rank_scores, selection_scores
from biohub.eval.run import select
from biohub.eval.score import compute, judge
from biohub.eval.suite import Entry
from biohub.schema import PairsRecord, T2TRecord
from biohub.templates.instruct import InstructOptions, build_split
from biohub.templates.tasks import DatasetInfo
from biohub.text import chinese_words


# ------------------------------------------------------------------------------------------ BLEU and chrF
def test_bleu_by_hand() -> None:
    # hypothesis "the cat sat on a mat" vs "the cat sat on the mat": clipped n-gram precisions 5/6, 3/5, 2/4, 1/3,
    # equal lengths (no brevity penalty): BLEU = (5/6 * 3/5 * 2/4 * 1/3) ** (1/4)
    assert metrics.bleu(["the cat sat on the mat"], ["the cat sat on a mat"], "en")["bleu"] == pytest.approx((1 / 12) ** 0.25)
    # Chinese, character tokens (sacreBLEU's zh tokenizer): 4/6, 3/5, 2/4, 1/3
    assert metrics.bleu(["患者出现发热"], ["患者出现咳嗽"], "zh")["bleu"] == pytest.approx((1 / 15) ** 0.25)


def test_chrf_by_hand() -> None:
    # "abc" vs "abd": character 1-grams P = R = 2/3, 2-grams 1/2, 3-grams 0 (3 orders with n-grams on both sides):
    # mean P = mean R = 7/18, so F = 7/18
    assert chrf(["abd"], ["abc"])["chrf"] == pytest.approx(7 / 18)
    # "ab" vs "abcd": P = 1 and 1, R = 1/2 and 1/3 over the 2 orders the hypothesis has: mean R = 5/12;
    # F-beta with beta 2 = 5 * P * R / (4 * P + R) = 25/53
    assert chrf(["abcd"], ["ab"])["chrf"] == pytest.approx(25 / 53)
    # corpus level: the statistics are summed first: R = 3/5 and 1/3 -> 7/15; F = 35/67
    assert chrf(["abcd", "x"], ["ab", "x"])["chrf"] == pytest.approx(35 / 67)
    assert chrf(["发热 和 咳嗽"], ["发热和咳嗽"])["chrf"] == pytest.approx(1.0)  # whitespace is not compared
    assert chrf(["abc"], [None])["chrf"] == 0.0


CORPORA = {
    "en": (
        ["patients with fever were treated with aspirin .", "the trial enrolled 120 adults", "no adverse events occurred"],
        ["patients with a fever received aspirin .", "the study enrolled 120 adult patients", "no adverse event happened"],
    ),
    "zh": (
        ["发热 患者 接受 阿司匹林 治疗 。", "该 试验 纳入 了 120 名 成人", "未 发生 不良 事件"],
        ["发热患者服用阿司匹林。", "这项研究纳入120名成年人", "没有出现不良事件"],
    ),
}


@pytest.mark.parametrize("language", ["en", "zh"])
def test_bleu_and_chrf_equal_sacrebleu(language: str) -> None:
    import sacrebleu

    references, hypotheses = CORPORA[language]
    values = translation_scores(references, hypotheses, language)
    tokenize = "zh" if language == "zh" else "13a"
    assert values["bleu"] == pytest.approx(sacrebleu.corpus_bleu(hypotheses, [references], tokenize=tokenize).score / 100)
    assert values["chrf"] == pytest.approx(sacrebleu.corpus_chrf(hypotheses, [references]).score / 100)
    assert 0 < values["bleu"] < 1 and 0 < values["chrf"] < 1


# ------------------------------------------------------------------------------------------ ROUGE
def test_rouge_by_hand() -> None:
    # "the cat lay on the mat" vs "the cat sat on the mat": 5 of 6 words, 3 of 5 bigrams, LCS 5 of 6
    values = metrics.rouge_scores(["the cat sat on the mat"], ["the cat lay on the mat"], "en")
    assert values == pytest.approx({"rouge1": 5 / 6, "rouge2": 3 / 5, "rougeL": 5 / 6})
    # Chinese is compared in jieba words: 患者/出现/发热 vs 患者/出现/咳嗽
    assert chinese_words("患者出现发热") == ["患者", "出现", "发热"] and chinese_words("患者出现咳嗽") == ["患者", "出现", "咳嗽"]
    values = metrics.rouge_scores(["患者出现发热"], ["患者出现咳嗽"], "zh")
    assert values == pytest.approx({"rouge1": 2 / 3, "rouge2": 1 / 2, "rougeL": 2 / 3})


@pytest.mark.parametrize("language", ["en", "zh"])
def test_rouge_equals_rouge_score(language: str) -> None:
    from rouge_score import rouge_scorer

    class Words:
        def tokenize(self, text: str) -> list[str]:
            return chinese_words(text)

    references, hypotheses = CORPORA[language]
    if language == "zh":
        references = [reference.replace(" ", "") for reference in references]
    scorer = rouge_scorer.RougeScorer(
        ["rouge1", "rouge2", "rougeL"], use_stemmer=language == "en", tokenizer=Words() if language == "zh" else None
    )
    expected = {key: 0.0 for key in ("rouge1", "rouge2", "rougeL")}
    for reference, hypothesis in zip(references, hypotheses):
        for key, score in scorer.score(reference, hypothesis).items():
            expected[key] += score.fmeasure / len(references)
    assert metrics.rouge_scores(references, hypotheses, language) == pytest.approx(expected)


# ------------------------------------------------------------------------------------------ answer selection
# (candidates, gold ranking, predicted ranking) of three questions
QUESTIONS: list[tuple[int, list[int], list[int] | None]] = [
    (4, [2, 4], [4, 1]),  # labels gold 0101, predicted 1001: 2 of 4 right; first listed (4) correct
    (3, [1], [2, 3, 1]),  # gold 100, predicted 111: 1 of 3 right; first correct at rank 3
    (2, [], []),  # gold 00, predicted 00: 2 of 2 right; no correct candidate: out of the rank measures
]


def test_candidate_labels() -> None:
    assert candidate_labels(4, [4, 1]) == ["1", "0", "0", "1"]
    assert candidate_labels(2, []) == ["0", "0"] and candidate_labels(2, None) == [UNPARSED, UNPARSED]


def test_selection_scores_by_hand() -> None:
    values = selection_scores(QUESTIONS)
    assert values["accuracy"] == pytest.approx(5 / 9)
    # label 1: TP 2 (q1 #4, q2 #1), FP 3 (q1 #1, q2 #2, #3), FN 1 (q1 #2): P 2/5, R 2/3, F1 1/2
    # label 0: TP 3 (q1 #3, q3 #1, #2), FP 1 (q1 #2), FN 3: P 3/4, R 1/2, F1 3/5; macro = (1/2 + 3/5) / 2
    assert values["f1_positive"] == pytest.approx(1 / 2)
    assert values["macro_f1"] == pytest.approx((1 / 2 + 3 / 5) / 2)


def test_rank_scores_by_hand() -> None:
    values = rank_scores([(gold, predicted) for _, gold, predicted in QUESTIONS])
    # the two questions with a correct candidate: first correct listed at rank 1 and rank 3
    assert values["mrr"] == pytest.approx((1 + 1 / 3) / 2)
    assert values["precision_at_1"] == pytest.approx(1 / 2)  # q1's first listed is correct, q2's is not
    # correct among the first 5 listed: q1 1 (#4), q2 1 (#1); possible: min(5, 2) + min(5, 1) = 3
    assert values["precision_at_5"] == pytest.approx(2 / 3) and values["precision_at_10"] == pytest.approx(2 / 3)
    assert rank_scores([([1], None)]) == {"mrr": 0.0, "precision_at_1": 0.0, "precision_at_5": 0.0, "precision_at_10": 0.0}
    assert rank_scores([([], [1])])["mrr"] == 0.0  # no question with a correct candidate: nothing to rank


def test_selection_scores_equal_scikit_learn_and_an_unparsed_answer_is_wrong_everywhere() -> None:
    from sklearn.metrics import accuracy_score, f1_score

    examples = [*QUESTIONS, (3, [3], None)]
    gold = ["0", "1", "0", "1", "1", "0", "0", "0", "0", "0", "0", "1"]
    predicted = ["1", "0", "0", "1", "1", "1", "1", "0", "0", "x", "x", "x"]
    values = selection_scores(examples)
    assert values["accuracy"] == pytest.approx(accuracy_score(gold, predicted)) == pytest.approx(5 / 12)
    assert values["macro_f1"] == pytest.approx(f1_score(gold, predicted, labels=["0", "1"], average="macro"))
    assert values["f1_positive"] == pytest.approx(f1_score(gold, predicted, labels=["1"], average="micro"))


def _official_rank_measures(gold: dict[str, list[str]], submission: list[tuple[str, str, int]]) -> dict[str, float]:
    """The rank measures of the MEDIQA 2019 evaluation script (Eval_Scripts/mediqa2019_evaluator_allTasks_final.py),
    written here from its published logic: ``gold`` = question -> its correct answer ids; ``submission`` = (question,
    answer id, label) lines, a question's label-1 lines in rank order; every question has a correct answer."""
    p1 = p5 = p10 = mrr = 0.0
    size5 = size10 = 0
    for question, correct in gold.items():
        lines = [(answer, label) for q, answer, label in submission if q == question]
        first = True
        for index, (answer, label) in enumerate(lines, start=1):
            if label == 1:
                if first:
                    mrr += 1 / index
                    first = False
                if answer in correct:
                    p1 += index == 1
                    p5 += index <= 5
                    p10 += index <= 10
        size5 += min(5, len(correct))
        size10 += min(10, len(correct))
    return {"mrr": mrr / len(gold), "precision_at_1": p1 / len(gold), "precision_at_5": p5 / size5,
            "precision_at_10": p10 / size10}


def _submission(question: str, count: int, ranking: list[int]) -> list[tuple[str, str, int]]:
    """A MEDIQA submission of one question: the listed candidates (label 1) in order, then the others (label 0)."""
    return [(question, f"{question}_A{n}", 1) for n in ranking] + [
        (question, f"{question}_A{n}", 0) for n in range(1, count + 1) if n not in ranking
    ]


def test_rank_measures_equal_the_official_script() -> None:
    # 12 candidates (past the cutoffs 5 and 10), rankings of every shape; the first listed candidate is correct in
    # every question, where the script's MRR (rank of the first candidate labelled 1) and ours (rank of the first
    # correct one) agree
    cases = [
        (12, [1, 3, 5, 7, 9, 11], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]),
        (6, [2], [2, 1]),
        (8, [1, 2, 3, 4, 5, 6, 7, 8], [8, 7, 6, 5, 4, 3]),
        (3, [3, 1], [3]),
    ]
    gold = {f"q{i}": [f"q{i}_A{n}" for n in correct] for i, (_, correct, _) in enumerate(cases)}
    submission = [line for i, (count, _, ranking) in enumerate(cases) for line in _submission(f"q{i}", count, ranking)]
    ours = rank_scores([(correct, ranking) for _, correct, ranking in cases])
    assert ours == pytest.approx(_official_rank_measures(gold, submission))
    # where the first listed candidate is wrong, the script still counts its rank for MRR; we count the first correct one
    wrong_first = [(4, [2], [1, 2])]
    official = _official_rank_measures({"q": ["q_A2"]}, _submission("q", 4, [1, 2]))
    ours = rank_scores([(correct, ranking) for _, correct, ranking in wrong_first])
    assert official["mrr"] == 1.0 and ours["mrr"] == 0.5
    assert {k: v for k, v in ours.items() if k != "mrr"} == pytest.approx({k: v for k, v in official.items() if k != "mrr"})


# ------------------------------------------------------------------------------------------ through the scorers
def _rows(records: Sequence[Any], dataset: DatasetInfo, formats: tuple[str, ...] = ("lines", "json")) -> list[dict]:
    examples, _, _ = build_split(records, dataset, InstructOptions(max_length=0, formats=formats), None)
    return [example.to_row() for example in examples]


def _scores(rows: list[dict], outputs: dict[str, str | None], task: str, headline: str) -> dict[str, float]:
    judged = [judge(row, outputs.get(row["id"])) for row in rows]
    return compute(Entry("row", "toy", "test", (task,), headline), judged)


def _perfect(rows: list[dict]) -> dict[str, str | None]:
    return {row["id"]: row["messages"][-1]["content"] for row in rows}


SELECTION = DatasetInfo("toy_qa", "pairs", ("answer_selection",), (), (), ("1", "0"), False)


def _selection_records() -> list[PairsRecord]:
    labels = {"q1": "0101", "q2": "100", "q3": "00"}
    return [
        PairsRecord(id=f"{q}-{n}", document_id=q, dataset="toy_qa", split="test", language="en" if q != "q2" else "zh",
                    text_1=f"question {q}", text_2=f"candidate {n}", label=label)
        for q, text in labels.items()
        for n, label in enumerate(text, start=1)
    ]


def test_answer_selection_scorer_gives_one_on_gold_answers_and_the_hand_values_on_others() -> None:
    rows = _rows(_selection_records(), SELECTION, ("lines",))
    perfect = _scores(rows, _perfect(rows), "answer_selection", "accuracy")
    assert perfect == {"accuracy": 1.0, "micro_f1": 1.0, "macro_f1": 1.0, "f1_positive": 1.0, "mrr": 1.0,
                       "precision_at_1": 1.0, "precision_at_5": 1.0, "precision_at_10": 1.0}
    outputs = {rows[0]["id"]: "Answer: 4, 1", rows[1]["id"]: "答案：2，3，1", rows[2]["id"]: "Answer: None"}
    assert _scores(rows, outputs, "answer_selection", "accuracy") == pytest.approx(
        selection_scores(QUESTIONS) | rank_scores([(gold, predicted) for _, gold, predicted in QUESTIONS])
    )
    missing = _scores(rows, {}, "answer_selection", "accuracy")  # no output: every candidate wrong
    assert missing["accuracy"] == 0.0 and missing["mrr"] == 0.0


def test_entailment_scorer() -> None:
    dataset = DatasetInfo("toy", "pairs", ("entailment",), (), (), ("true", "false"), False)
    records = [
        PairsRecord(id=f"p{i}", document_id=f"p{i}", dataset="toy", split="test", language="en", text_1="a?", text_2="b?",
                    label=label)
        for i, label in enumerate(["true", "false", "false", "true"])
    ]
    rows = _rows(records, dataset, ("lines",))
    assert _scores(rows, _perfect(rows), "entailment", "accuracy") == {"accuracy": 1.0, "micro_f1": 1.0, "macro_f1": 1.0}
    outputs = {row["id"]: "Result: true" for row in rows}
    assert _scores(rows, outputs, "entailment", "accuracy")["accuracy"] == 0.5


def _bitexts() -> list[T2TRecord]:
    pairs = [("fever and cough were common .", "发热 和 咳嗽 很 常见 。"), ("the drug was tolerated .", "该 药 耐受 良好 。")]
    return [
        T2TRecord(id=f"b{i}", document_id=f"b{i}", dataset="toy_mt", split="test", language="en", text_1=en, text_2=zh,
                  text_1_name="en", text_2_name="zh")
        for i, (en, zh) in enumerate(pairs)
    ]


def test_translation_scorer_scores_each_target_language_apart() -> None:
    rows = _rows(_bitexts(), DatasetInfo("toy_mt", "t2t", ("translation",), (), (), (), False))
    perfect = _scores(rows, _perfect(rows), "translation", "bleu")
    assert perfect == {"bleu": 1.0, "chrf": 1.0, "bleu[en]": 1.0, "chrf[en]": 1.0, "bleu[zh]": 1.0, "chrf[zh]": 1.0}
    into_chinese = [row for row in rows if row["language"] == "en"]
    assert {json.loads(row["gold"])["target_language"] for row in into_chinese} == {"zh"}
    outputs = {row["id"]: "发热和咳嗽很常见。" if row["id"] == "b0:translation.en-zh" else "该药耐受良好" for row in into_chinese}
    values = _scores(into_chinese, outputs, "translation", "bleu")
    references = [json.loads(row["gold"])["value"] for row in into_chinese]
    expected = translation_scores(references, [outputs[row["id"]] for row in into_chinese], "zh")
    assert values == pytest.approx({**expected, "bleu[zh]": expected["bleu"], "chrf[zh]": expected["chrf"]})
    assert 0 < values["bleu"] < 1


def test_summarization_scorer_gives_one_on_gold_answers() -> None:
    records = [
        T2TRecord(id="s1", document_id="s1", dataset="toy", split="test", language="en", text_1="A long message about a rash.",
                  text_2="What causes a rash?", text_1_name="question", text_2_name="summary")
    ]
    rows = _rows(records, DatasetInfo("toy", "t2t", ("summarization",), (), (), (), False))
    assert _scores(rows, _perfect(rows), "summarization", "rougeL") == {"rouge1": 1.0, "rouge2": 1.0, "rougeL": 1.0, "bleu": 1.0}


def test_a_row_of_one_language_selects_only_its_examples(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = _rows(_bitexts(), DatasetInfo("toy_mt", "t2t", ("translation",), (), (), (), False))

    class Split:
        def to_list(self) -> list[dict]:
            return rows

    monkeypatch.setattr("biohub.eval.run.read_hub_split", lambda data, config, split: Split())
    entries = [Entry(f"toy_mt/test/{language}", "toy_mt", "test", ("translation",), "bleu", language=language)
               for language in ("en", "zh")]
    chosen = select("hub", [*entries, Entry("toy_mt/test", "toy_mt", "test", ("translation",), "bleu")], None, 0)
    assert {row["language"] for row in chosen["toy_mt/test/en"]} == {"en"} and len(chosen["toy_mt/test/zh"]) == 2
    assert len(chosen["toy_mt/test"]) == 4
