"""Normalisation and coreference metrics: hand-computed fixtures, differential tests against their libraries
(scikit-learn for the micro P/R/F1, scorch for MUC / B³ / CEAF-e), the corpus-level (micro) aggregation of
coreference scores, and perfect predictions scoring exactly 1.0 through the scorers."""

from __future__ import annotations

import random

import pytest
from scorch import scores
from sklearn.metrics import precision_recall_fscore_support
from sklearn.preprocessing import MultiLabelBinarizer

from biohub.eval.metrics_coref import coref_scores, partition
from biohub.eval.metrics_norm import concept_set_prf, mention_concept_prf
from biohub.eval.score import compute, judge
from biohub.eval.suite import Entry, headline_for
from biohub.templates.instruct import InstructOptions, make_examples
from biohub.templates.library import families
from tests.templates import norm_records

# ------------------------------------------------------------------------------------------ normalisation
GOLD = [[["IL-2", ["G:1"]], ["HLA", ["G:2", "H:3"]]], [["胃癌", ["胃恶性肿瘤"]]], [["x", ["Z:1"]]]]
PRED = [[["IL-2", ["G:1"]], ["HLA", ["G:2"]], [" TNF ", ["G:9"]]], [["胃 癌", ["胃恶性肿瘤"]]], None]


def test_mention_concept_pairs_hand_computed() -> None:
    # example 1: gold (IL-2, G:1) (HLA, G:2) (HLA, H:3), predicted (IL-2, G:1) (HLA, G:2) (TNF, G:9): tp 2, fp 1, fn 1
    # example 2: another spelling of the mention: fp 1, fn 1; example 3: unparsed: fn 1
    values = mention_concept_prf(zip(GOLD, PRED))
    assert (values["tp"], values["fp"], values["fn"]) == (2, 2, 3)
    assert values["precision"] == pytest.approx(2 / 4) and values["recall"] == pytest.approx(2 / 5)
    assert values["f1"] == pytest.approx(2 * 0.5 * 0.4 / 0.9)


def test_concept_sets_hand_computed() -> None:
    # example 1: {G:1, G:2, H:3} vs {G:1, G:2, G:9}: tp 2, fp 1, fn 1; example 2: tp 1; example 3: fn 1
    values = concept_set_prf(zip(GOLD, PRED))
    assert (values["tp"], values["fp"], values["fn"]) == (3, 1, 2)
    assert values["precision"] == pytest.approx(3 / 4) and values["recall"] == pytest.approx(3 / 5)


def _sklearn_micro(golds: list[set], preds: list[set]) -> tuple[float, float, float]:
    classes = sorted(set().union(*golds, *preds)) + ["\x00"]  # a class nobody names: never an empty label space
    binarizer = MultiLabelBinarizer(classes=classes).fit([])
    precision, recall, f1, _ = precision_recall_fscore_support(
        binarizer.transform(golds), binarizer.transform(preds), average="micro", zero_division=0
    )
    return precision, recall, f1


def test_normalisation_metrics_agree_with_scikit_learn_on_random_answers() -> None:
    rng = random.Random(21)
    mentions, concepts = ["a", "b", "c", "d"], ["X:1", "X:2", "Y:1", "Y:2", "Z:9"]

    def answer() -> list:
        return [[m, rng.sample(concepts, rng.randint(1, 3))] for m in rng.sample(mentions, rng.randint(0, 4))]

    for _ in range(50):
        golds, preds = [answer() for _ in range(6)], [answer() for _ in range(6)]
        pairs = mention_concept_prf(zip(golds, preds))
        gold_sets = [{f"{m}\t{c}" for m, cs in g for c in cs} for g in golds]
        pred_sets = [{f"{m}\t{c}" for m, cs in p for c in cs} for p in preds]
        assert (pairs["precision"], pairs["recall"], pairs["f1"]) == pytest.approx(_sklearn_micro(gold_sets, pred_sets))
        sets = concept_set_prf(zip(golds, preds))
        gold_sets = [{c for _, cs in g for c in cs} for g in golds]
        pred_sets = [{c for _, cs in p for c in cs} for p in preds]
        assert (sets["precision"], sets["recall"], sets["f1"]) == pytest.approx(_sklearn_micro(gold_sets, pred_sets))


# ------------------------------------------------------------------------------------------ coreference
def clusters(*groups: str) -> list:
    """``"a b c"`` -> one cluster of first occurrences; ``"x#2"`` is the second occurrence of x."""
    out = []
    for group in groups:
        out.append([[word.split("#")[0], int(word.split("#")[1]) if "#" in word else 1] for word in group.split()])
    return out


def test_one_document_hand_computed() -> None:
    # key {a,b,c} {d,e}; response {a,b} {c,d,e}
    # MUC: R = ((3-2) + (2-1)) / (2 + 1) = 2/3, P = ((2-1) + (3-2)) / (1 + 2) = 2/3
    # B³: R = ((4 + 1)/3 + 4/2) / 5 = 11/15, P = (4/2 + (1 + 4)/3) / 5 = 11/15
    # CEAF-e: φ(k1,r1) = 4/5, φ(k2,r2) = 4/5 (the best alignment), R = P = 1.6 / 2 = 0.8
    values = coref_scores([(clusters("a b c", "d e"), clusters("a b", "c d e"))])
    assert values["muc_recall"] == pytest.approx(2 / 3) and values["muc_precision"] == pytest.approx(2 / 3)
    assert values["b3_recall"] == pytest.approx(11 / 15) and values["b3_f1"] == pytest.approx(11 / 15)
    assert values["ceafe_recall"] == pytest.approx(0.8) and values["ceafe_precision"] == pytest.approx(0.8)
    assert values["conll_f1"] == pytest.approx((2 / 3 + 11 / 15 + 0.8) / 3)


def test_two_documents_are_one_corpus_hand_computed() -> None:
    # doc 1: key {a,b}, response {a,b}; doc 2: key {x,y,z}, response {x,w} (w is no gold mention)
    # MUC: R = (1 + 0) / (1 + 2) = 1/3, P = (1 + 0) / (1 + 1) = 1/2, F = 0.4
    # B³: R = (4/2 + 1/3) / 5 = 7/15, P = (4/2 + 1/2) / 4 = 5/8
    # CEAF-e: φ = 1 (doc 1) + 2/5 (doc 2); R = P = 1.4 / 2 = 0.7
    values = coref_scores([(clusters("a b"), clusters("a b")), (clusters("x y z"), clusters("x w"))])
    assert (values["muc_recall"], values["muc_precision"], values["muc_f1"]) == pytest.approx((1 / 3, 1 / 2, 0.4))
    assert (values["b3_recall"], values["b3_precision"]) == pytest.approx((7 / 15, 5 / 8))
    assert values["b3_f1"] == pytest.approx(2 * (7 / 15) * (5 / 8) / (7 / 15 + 5 / 8))
    assert (values["ceafe_recall"], values["ceafe_precision"], values["ceafe_f1"]) == pytest.approx((0.7, 0.7, 0.7))


def test_mentions_are_told_apart_by_occurrence_and_documents() -> None:
    # "H4" and "H4 #2" are two mentions; the same text in two documents is two mentions
    gold = clusters("H4 H4#2")
    assert coref_scores([(gold, clusters("H4 H4#2"))])["conll_f1"] == 1.0
    assert coref_scores([(gold, clusters("H4 H4#3"))])["muc_f1"] == 0.0
    assert len(partition(0, gold)[0] | partition(1, gold)[0]) == 4


def test_singletons_unparsed_answers_and_empty_rows() -> None:
    perfect = coref_scores([(clusters("a b"), clusters("a b", "c"))])  # a singleton links nothing and is left out
    assert all(value == 1.0 for value in perfect.values())
    nothing = coref_scores([(clusters(), clusters()), (clusters(), None)])  # no cluster on either side
    assert set(nothing.values()) == {1.0}
    unparsed = coref_scores([(clusters("a b"), None)])
    assert set(unparsed.values()) == {0.0}
    spurious = coref_scores([(clusters(), clusters("a b"))])
    assert spurious["muc_precision"] == 0.0 and spurious["conll_f1"] == 0.0


def _random_documents(rng: random.Random, count: int) -> list[tuple[list, list]]:
    documents = []
    for _ in range(count):
        words = [f"m{i}" for i in range(rng.randint(2, 9))]

        def clustering() -> list:
            pool = rng.sample(words, rng.randint(0, len(words)))
            groups, index = [], 0
            while index < len(pool):
                size = rng.randint(1, 4)
                groups.append(" ".join(pool[index : index + size]))
                index += size
            return clusters(*groups)

        documents.append((clustering(), clustering()))
    return documents


def _shared(key: list[set], response: list[set]) -> bool:
    return bool(set().union(*key) & set().union(*response))


def test_no_mention_in_common_scores_zero() -> None:
    values = coref_scores([(clusters("a b"), clusters("c d"))])  # scorch's CEAF-e divides by -0.0 on this one
    assert set(values.values()) == {0.0}
    assert scores.muc(partition(0, clusters("a b")), partition(0, clusters("c d")))[2] == 0.0


def test_one_document_equals_scorch() -> None:
    rng = random.Random(7)
    compared = 0
    for gold, predicted in _random_documents(rng, 300):
        key, response = partition(0, gold), partition(0, predicted)
        if not _shared(key, response):
            continue
        compared += 1
        values = coref_scores([(gold, predicted)])
        for name, metric in (("muc", scores.muc), ("b3", scores.b_cubed), ("ceafe", scores.ceaf_e)):
            recall, precision, f1 = metric(key, response)
            assert (values[f"{name}_recall"], values[f"{name}_precision"], values[f"{name}_f1"]) == pytest.approx(
                (recall, precision, f1)
            ), name
        assert values["conll_f1"] == pytest.approx(scores.conll2012(key, response))
    assert compared > 50


def test_corpus_scores_are_the_micro_average_of_scorchs_per_document_scores() -> None:
    """The CoNLL reference scorer sums numerators and denominators over documents: here each document's numerator is
    scorch's per-document value times its denominator (MUC: Σ(|c| − 1); B³: Σ|c|; CEAF-e: the number of clusters)."""
    rng = random.Random(11)
    denominators = {
        "muc": lambda part: sum(len(c) - 1 for c in part),
        "b3": lambda part: sum(len(c) for c in part),
        "ceafe": len,
    }
    for _ in range(30):
        documents = _random_documents(rng, 8)
        values = coref_scores(documents)
        for name, metric in (("muc", scores.muc), ("b3", scores.b_cubed), ("ceafe", scores.ceaf_e)):
            count = denominators[name]
            recall_num = precision_num = recall_den = precision_den = 0.0
            for index, (gold, predicted) in enumerate(documents):
                key, response = partition(index, gold), partition(index, predicted)
                recall, precision, _ = metric(key, response) if _shared(key, response) else (0.0, 0.0, 0.0)
                recall_num, recall_den = recall_num + recall * count(key), recall_den + count(key)
                precision_num, precision_den = precision_num + precision * count(response), precision_den + count(response)
            recall = recall_num / recall_den if recall_den else 0.0
            precision = precision_num / precision_den if precision_den else 0.0
            assert values[f"{name}_recall"] == pytest.approx(recall), name
            assert values[f"{name}_precision"] == pytest.approx(precision), name


# ------------------------------------------------------------------------------------------ through the scorers
def _rows(record, info, formats: tuple[str, ...] = ("lines",)) -> list[dict]:
    return [example.to_row() for _, _, example in make_examples([record], info, InstructOptions(formats=formats))]


@pytest.mark.parametrize("answer_format", ["lines", "json"])
def test_gold_answers_score_exactly_one_through_the_scorers(answer_format: str) -> None:
    rows = (
        _rows(norm_records.abstract(), norm_records.KB_INFO, (answer_format,))
        + _rows(norm_records.diagnosis(), norm_records.TERM_INFO, (answer_format,))
        + _rows(norm_records.consultation(), norm_records.DIALOGUE_INFO, (answer_format,))
    )
    for family in ("nen", "coref", "dialogue_symptoms"):
        chosen = [row for row in rows if row["task"] == family]
        assert chosen, family
        entry = Entry(family, "toy", "test", (family,), families()[family].eval.headline)
        values = compute(entry, [judge(row, row["messages"][-1]["content"]) for row in chosen])
        assert set(values) == set(families()[family].eval.metrics), family
        assert all(values[name] == 1.0 for name in values if not name.startswith(("tp", "fp", "fn"))), (family, values)
        missing = compute(entry, [judge(row, None) for row in chosen])
        assert missing[families()[family].eval.headline] == 0.0


def test_a_wrong_concept_and_a_missed_cluster_lower_the_scores() -> None:
    (nen,) = [row for row in _rows(norm_records.abstract(), norm_records.KB_INFO) if row["task"] == "nen"]
    answer = "Interleukin-2: NCBIGene:3558\nIL-2: NCBIGene:9999\nIL2R: NCBIGene:3559\nHLA\\:DR4: NCBIGene:3126; HGNC:4948"
    values = compute(Entry("n", "toy", "test", ("nen",), "f1_mention_concept"), [judge(nen, answer)])
    assert (values["tp_mention_concept"], values["fp_mention_concept"], values["fn_mention_concept"]) == (4, 1, 1)
    assert (values["tp_concept_set"], values["fp_concept_set"], values["fn_concept_set"]) == (4, 1, 0)
    (coref,) = [row for row in _rows(norm_records.abstract(), norm_records.KB_INFO) if row["task"] == "coref"]
    values = compute(Entry("c", "toy", "test", ("coref",), "conll_f1"), [judge(coref, "[Interleukin-2, IL-2]")])
    assert values["muc_precision"] == 1.0 and values["muc_recall"] == pytest.approx(1 / 2)


def test_chip_cdn_rows_headline_its_official_concept_set_f1() -> None:
    assert headline_for("micro_f1", "nen", "chip_cdn") == "f1_concept_set"
    assert headline_for("micro_f1", "nen", "biored") == "f1_mention_concept"
    assert headline_for("micro_f1", "coref", "bionlp_st_2011_ge") == "conll_f1"
