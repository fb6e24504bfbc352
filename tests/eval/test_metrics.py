"""Metric fixtures computed by hand, and differential checks against seqeval, scikit-learn and numpy."""

from __future__ import annotations

import random

import numpy as np
import pytest
from seqeval.metrics import f1_score as seqeval_f1
from sklearn.metrics import accuracy_score, f1_score

from biohub.eval import metrics


def test_set_prf_by_hand() -> None:
    gold = {("aspirin", "Chemical"), ("asthma", "Disease")}
    predicted = {("aspirin", "Chemical"), ("asthma", "Chemical"), ("gout", "Disease")}
    values = metrics.set_prf([(gold, predicted), (set(), set())])
    assert (values["tp"], values["fp"], values["fn"]) == (1, 2, 1)
    assert (
        values["precision"] == pytest.approx(1 / 3)
        and values["recall"] == pytest.approx(1 / 2)
        and values["f1"] == pytest.approx(0.4)
    )
    assert metrics.set_prf([(set(), set())]) == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "tp": 0, "fp": 0, "fn": 0}


def test_ner_items_restrict_and_collapse_types() -> None:
    value = {"Chemical": ["aspirin ", "aspirin"], "Disease": ["asthma"]}
    assert metrics.ner_items(value) == {("aspirin", "Chemical"), ("asthma", "Disease")}
    assert metrics.ner_items(value, ["Disease"]) == {("asthma", "Disease")}
    assert metrics.ner_items({"A": ["x"], "B": ["x", "y"]}, collapse=True) == {("x", "*"), ("y", "*")}
    assert metrics.ner_items(None) == set()


def test_triples_are_head_relation_tail() -> None:
    assert metrics.triple_items([["CID", "aspirin", " asthma"]]) == {("aspirin", "CID", "asthma")}


def test_projection_and_seqeval_agree_with_set_f1_when_mentions_are_unique() -> None:
    """With each mention string occurring once, the projected seqeval F1 equals the strict set F1."""
    rng = random.Random(0)
    words = [f"w{i}" for i in range(40)]
    gold_tags, pred_tags, pairs = [], [], []
    for _ in range(30):
        tokens = rng.sample(words, 12)
        gold = {(" ".join(tokens[i : i + 2]), rng.choice(["A", "B"])) for i in (0, 4, 8)}
        predicted = {item for item in gold if rng.random() < 0.7} | ({(tokens[3], "A")} if rng.random() < 0.5 else set())
        gold_tags.append(metrics.project_bio(tokens, gold))
        pred_tags.append(metrics.project_bio(tokens, predicted))
        pairs.append((gold, predicted))
    ours = metrics.set_prf(pairs)["f1"]
    assert metrics.seqeval_scores(gold_tags, pred_tags)["seqeval_f1"] == pytest.approx(ours)
    assert seqeval_f1(gold_tags, pred_tags) == pytest.approx(ours)


def test_projection_prefers_longer_mentions_and_never_overlaps() -> None:
    tokens = ["the", "breast", "cancer", "gene", "and", "breast"]
    assert metrics.project_bio(tokens, [("breast", "D"), ("breast cancer", "D")]) == ["O", "B-D", "I-D", "O", "O", "B-D"]


def test_classification_by_hand_and_against_scikit_learn() -> None:
    gold = ["a", "a", "b", "c"]
    predicted = ["a", "b", "b", None]
    values = metrics.classification_scores(gold, predicted, ["a", "b", "c"])
    assert values["accuracy"] == pytest.approx(0.5)
    # per class F1: a: P=1 R=.5 -> 2/3; b: P=.5 R=1 -> 2/3; c: P=0 R=0 -> 0; macro = 4/9
    assert values["macro_f1"] == pytest.approx(4 / 9)
    # micro over the labels: TP 2, FP 1 (b for a), FN 2 -> P 2/3, R 1/2 -> 4/7
    assert values["micro_f1"] == pytest.approx(4 / 7)
    rng = random.Random(1)
    gold = [rng.choice("xyz") for _ in range(200)]
    predicted = [g if rng.random() < 0.6 else rng.choice("xyz") for g in gold]
    values = metrics.classification_scores(gold, predicted, ["x", "y", "z"])
    assert values["accuracy"] == pytest.approx(accuracy_score(gold, predicted))
    assert values["macro_f1"] == pytest.approx(f1_score(gold, predicted, average="macro"))
    assert values["micro_f1"] == pytest.approx(f1_score(gold, predicted, average="micro"))


def test_binary_and_multilabel_by_hand() -> None:
    assert metrics.binary_f1(["1", "1", "0", "0"], ["1", "0", "1", None], "1")["f1_positive"] == pytest.approx(0.5)
    values = metrics.multilabel_scores([["a", "b"], ["c"]], [["a"], None], ["a", "b", "c"])
    # TP 1 (a), FP 0, FN 2 (b, c) -> micro P 1, R 1/3 -> 0.5; macro over a, b, c = (1 + 0 + 0) / 3
    assert (
        values["micro_f1"] == pytest.approx(0.5) and values["macro_f1"] == pytest.approx(1 / 3) and values["exact_match"] == 0.0
    )


def test_pearson_against_numpy_and_the_fill_for_unparsed() -> None:
    gold, predicted = [0.0, 1.0, 2.5, 4.0, 3.0], [0.5, 1.0, 2.0, 3.5, 3.5]
    assert metrics.pearson(gold, predicted, 2.0)["pearson"] == pytest.approx(np.corrcoef(gold, predicted)[0, 1])
    assert metrics.pearson(gold, [0.5, None, 2.0, 3.5, 3.5], 2.0)["pearson"] == pytest.approx(
        np.corrcoef(gold, [0.5, 2.0, 2.0, 3.5, 3.5])[0, 1]
    )


def test_choices_and_factoid_by_hand() -> None:
    assert metrics.choice_accuracy([["B"], ["A", "C"], ["D"]], [["B"], ["C"], None])["accuracy"] == pytest.approx(1 / 3)
    synonyms = [[["BRCA1", "breast cancer 1"]], [["TP53"]], [["EGFR"]]]
    predicted = [["brca1"], ["MDM2", "tp53"], ["KRAS"]]
    values = metrics.factoid_scores(synonyms, predicted)
    assert values == {
        "strict_accuracy": pytest.approx(1 / 3),
        "lenient_accuracy": pytest.approx(2 / 3),
        "mrr": pytest.approx((1 + 0.5) / 3),
    }


def test_rouge_and_bleu() -> None:
    # unigrams: reference "the cat sat", prediction "the cat" -> P 1, R 2/3, F 0.8
    assert metrics.rouge_scores(["the cat sat"], ["the cat"], "en")["rouge1"] == pytest.approx(0.8)
    assert metrics.rouge_scores(["the cat sat"], [None], "en")["rougeL"] == 0.0
    # a reference with no word to score (a punctuation-only reply): 1 for an answer without words too, else 0
    assert metrics.rouge_scores(["？", "。"], ["？", "好的"], "zh") == {"rouge1": 0.5, "rouge2": 0.5, "rougeL": 0.5}
    assert metrics.rouge_scores(["??"], ["??"], "en")["rougeL"] == 1.0
    chinese = metrics.rouge_scores(["患者出现发热和咳嗽"], ["患者出现发热"], "zh")
    assert 0 < chinese["rouge1"] < 1  # the default rouge tokenizer would drop every Chinese character (score 0)
    assert metrics.bleu(["患者出现发热和咳嗽症状"], ["患者出现发热和咳嗽症状"], "zh")["bleu"] == pytest.approx(1.0)
    assert metrics.bleu(["a b c d e"], ["x y z"], "en")["bleu"] == pytest.approx(0.0)
